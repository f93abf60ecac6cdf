"""Configuration shared by the whole test tree.

The local-stack fixtures (``kafka_bootstrap_servers``, ``snowlocal_endpoint``) are not defined
here: they come from the ``meshplane.devstack.pytest_plugin`` plugin, which pytest loads from the
installed workspace through its ``pytest11`` entry point.
"""

from __future__ import annotations

import pytest

# Folders whose tests need the real local stack (a Kafka broker and/or snowlocal).
_STACK_FOLDERS = frozenset({"integration", "e2e"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked by folder rather than by hand, so `-m "not integration"` reliably skips every test
    # that would start a broker or snowlocal.
    for item in items:
        if _STACK_FOLDERS.intersection(item.path.parts):
            item.add_marker(pytest.mark.integration)
