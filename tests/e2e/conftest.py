"""End-to-end fixtures: users that log in with one role each (the snowlocal sandbox)."""

from tests.integration.snowlocal.conftest import sandbox

__all__ = ["sandbox"]
