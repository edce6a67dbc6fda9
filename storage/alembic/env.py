"""Alembic's environment: migrates the connection `storage.migrations` hands over.

Run through `storage.migrations` (or `sro db upgrade`), which passes its
connection in `config.attributes["connection"]`. Code may pass a URL instead
in `config.attributes["url"]`. The `alembic` command line works too, for
writing new revisions: `DATABASE_URL=sqlite+aiosqlite:///var/sro.db alembic
-c storage/alembic.ini revision --autogenerate -m "..."`. The URL comes from
the caller, never from the application's settings: storage imports nothing
from app.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: Alembic recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def given_url() -> str:
    """The database to migrate when no connection was handed over: the caller's URL, else DATABASE_URL."""
    url = context.config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit(
            "no database to migrate: set DATABASE_URL (an async URL, e.g. sqlite+aiosqlite:///var/sro.db), "
            "or run `sro db upgrade`"
        )
    return str(url)


async def run_from_url(url: str) -> None:
    from storage.db import create_engine

    engine = create_engine(url, foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")

given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    asyncio.run(run_from_url(given_url()))
