"""Alembic, driven from code: `await upgrade(url)`, `await downgrade(url, "base")`.

Migrations are the only way the schema is made, in production (`sro db
upgrade`, run by `make run`) and in tests alike. Alembic's API is
synchronous; it runs here inside the async engine's connection through
`run_sync`, so the same env.py serves both databases.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import create_engine

SCRIPT_LOCATION = Path(__file__).with_name("alembic")


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (e.g. a dangling foreign key under SQLite)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config without an ini file; the connection, when given, is the one to migrate."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: the newest)."""
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision` ("base" removes every table)."""
    await _run(url, "downgrade", revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("no migrations found in " + str(SCRIPT_LOCATION))
    return head


async def _run(url: str, direction: str, revision: str) -> None:
    # Foreign keys off under SQLite while tables are recreated (batch mode), checked after.
    engine = create_engine(url, foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, direction, revision)
            if engine.dialect.name == "sqlite":
                dangling = (await connection.execute(text("PRAGMA foreign_key_check"))).all()
                if dangling:
                    raise MigrationError(f"{len(dangling)} rows break a foreign key after the migration")
    finally:
        await engine.dispose()


def _migrate(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config(connection)
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
