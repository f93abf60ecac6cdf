"""Starts and stops the local stack (Kafka broker, snowlocal) for make up and tests.

The pieces most callers need, importable from here:

* :func:`running_kafka` / :func:`running_snowlocal`: context managers that run a broker or a
  snowlocal server on given or free ports for the duration of a ``with`` block (benchmarks,
  fixtures);
* :class:`SnowlocalEndpoint` / :class:`KafkaEndpoint`: where they listen;
* :class:`DevstackError`: the one error, with a message fit to show as is.

``devstack up / down / status`` live in :mod:`meshplane.devstack.cli` over
:mod:`meshplane.devstack.stack`; the pytest fixtures in :mod:`meshplane.devstack.pytest_plugin`.
"""

from meshplane.devstack.endpoints import KafkaEndpoint, SnowlocalEndpoint
from meshplane.devstack.errors import DevstackError
from meshplane.devstack.kafka import running_kafka
from meshplane.devstack.snowlocal import running_snowlocal

__all__ = ["DevstackError", "KafkaEndpoint", "SnowlocalEndpoint", "running_kafka", "running_snowlocal"]
