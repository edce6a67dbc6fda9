"""Every test here runs once on SQLite and once on PostgreSQL (see tests/storage/fixtures.py)."""

import logging
from collections.abc import Iterator

import pytest

from tests.storage.fixtures import (  # noqa: F401  (fixtures are found by name)
    database,
    keys,
    master,
    migrated_templates,
    now,
    policy,
    test_database,
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`sro` configures logging like any entry point; give pytest its handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
