"""Every test here runs once on SQLite and once on PostgreSQL (see tests/storage/fixtures.py)."""

from tests.storage.fixtures import (  # noqa: F401  (fixtures are found by name)
    database,
    empty_url,
    keys,
    master,
    migrated_templates,
    now,
    policy,
    test_database,
)
