"""Alembic's environment: migrates the connection `storage.migrations` hands over.

Run through `storage.migrations` (or `sro db upgrade`). The `alembic`
command line works too, for writing new revisions: `alembic -c
storage/alembic.ini revision --autogenerate -m "..."` uses DATABASE_URL.
"""

from __future__ import annotations

import asyncio

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


async def run_from_settings() -> None:
    from app.settings import Settings
    from storage.db import create_engine

    engine = create_engine(Settings().database_url, foreign_keys=False)
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
    asyncio.run(run_from_settings())
