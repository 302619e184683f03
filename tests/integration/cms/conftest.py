"""Real CMS servers for the adapter tests, one per session, started by ``scripts/``.

``scripts/wordpress-test-server`` and ``scripts/ghost-test-server`` (``.ci/run``
installs both). Without them the tests skip locally and fail in CI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cmskit import Server, start_server


@pytest.fixture(scope="session")
def wordpress() -> Iterator[Server]:
    """A throw-away WordPress with pretty permalinks (``/wp-json/``)."""
    server = start_server("wordpress-test-server", "WP_DIR")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ghost() -> Iterator[Server]:
    """A throw-away Ghost 5 with an integration whose Admin API key is in the vars."""
    server = start_server("ghost-test-server", "GHOST_DIR")
    yield server
    server.stop()
