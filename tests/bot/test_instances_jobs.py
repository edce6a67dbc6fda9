"""The retention job runs in one instance at a time across instances sharing one PostgreSQL."""

from __future__ import annotations

import pytest

from bot.jobs import RETENTION_LOCK, alone
from storage.db import Database


@pytest.mark.parametrize("test_database", ["postgresql"], indirect=True)
@pytest.mark.postgres
async def test_a_second_instance_skips_the_retention_job_while_one_runs_it(database: Database) -> None:
    async with database.transaction() as first:
        assert await alone(first, RETENTION_LOCK)
        async with database.transaction() as second:
            assert not await alone(second, RETENTION_LOCK)  # the other instance is purging: skip
    # Positive control: the lock ends with the first transaction, and the job can run again.
    async with database.transaction() as later:
        assert await alone(later, RETENTION_LOCK)
