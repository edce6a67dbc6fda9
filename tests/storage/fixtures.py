"""Database fixtures for the case store's tests: every test runs on SQLite AND PostgreSQL.

Each test gets a database of its own, built by the real migrations:
`alembic upgrade head` runs once per test session into a template (an
SQLite file; a PostgreSQL template database), and each test gets a copy
(a file copy; CREATE DATABASE ... TEMPLATE). PostgreSQL comes from
TEST_DATABASE_URL (`eval "$(scripts/test-postgres)"`, as `make test` does);
without it the PostgreSQL half FAILS, unless SRO_SKIP_POSTGRES=1 asks,
explicitly, to skip it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey
from storage import migrations
from storage.db import Database, create_engine

# PostgreSQL runs in `make test`; the fast tier (unmarked tests) runs SQLite only.
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))
NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


@dataclass(frozen=True)
class DatabaseUnderTest:
    """Where one test's database lives: its URL, and the SQLite file or the PostgreSQL name."""

    __test__ = False  # not a test class, whatever module imports it

    backend: str
    url: str
    sqlite_path: Path | None = None
    pg_name: str | None = None


TestDatabase = DatabaseUnderTest  # the name other suites import


def postgres_url() -> str | None:
    """TEST_DATABASE_URL, None if explicitly skipped; fails the run if simply missing."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    if os.environ.get("SRO_SKIP_POSTGRES") == "1":
        return None
    pytest.fail(
        'TEST_DATABASE_URL is not set: run `eval "$(scripts/test-postgres)"` first (make test does), '
        "or set SRO_SKIP_POSTGRES=1 to skip the PostgreSQL tests explicitly",
        pytrace=False,
    )


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _drop_database(url: str, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE), again until it goes: FORCE may not end an autovacuum worker
    that has just started on the copy (it belongs to no role the test role may signal), and such a
    worker finishes in moments."""
    deadline = time.monotonic() + 60
    while True:
        try:
            await _admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Templates:
    sqlite: Path


@dataclass(frozen=True)
class PostgresTemplate:
    url: str
    name: str


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """A SQLite database migrated once with `alembic upgrade head`, to be copied per test."""
    sqlite_file = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(migrations.upgrade(f"sqlite+aiosqlite:///{sqlite_file}"))
    return Templates(sqlite_file)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate | None]:
    """A PostgreSQL database migrated once, used as the template of each test's database.

    Made only when a PostgreSQL test runs: the fast tier (`make test-fast`) needs no PostgreSQL.
    """
    pg = postgres_url()
    if pg is None:
        yield None
        return
    name = f"sro_template_{os.getpid()}_{secrets.token_hex(3)}"
    _run_apart(_admin(pg, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"))
    _run_apart(migrations.upgrade(with_database(pg, name)))
    try:
        yield PostgresTemplate(pg, name)
    finally:
        _run_apart(_drop_database(pg, name))


def _run_apart(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on a loop of its own in another thread: the first PostgreSQL test asks for the template
    from inside its own running loop, where asyncio.run is refused."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(params=BACKENDS)
async def test_database(
    request: pytest.FixtureRequest, migrated_templates: Templates, tmp_path: Path
) -> AsyncIterator[DatabaseUnderTest]:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "sro.db"
        shutil.copyfile(migrated_templates.sqlite, path)
        yield DatabaseUnderTest("sqlite", f"sqlite+aiosqlite:///{path}", sqlite_path=path)
        return
    template: PostgresTemplate | None = request.getfixturevalue("postgres_template")
    if template is None:
        pytest.skip("PostgreSQL tests skipped on request (SRO_SKIP_POSTGRES=1)")
    name = f"sro_t_{secrets.token_hex(6)}"
    await _admin(template.url, f"CREATE DATABASE {name} TEMPLATE {template.name}")
    try:
        yield DatabaseUnderTest("postgresql", with_database(template.url, name), pg_name=name)
    finally:
        await _drop_database(template.url, name)


@pytest.fixture
async def database(test_database: DatabaseUnderTest) -> AsyncIterator[Database]:
    db = Database.connect(test_database.url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate(KeySource("environment"))


@pytest.fixture
async def keys(database: Database, master: MasterKey) -> KeyRing:
    async with database.transaction() as session:
        return await KeyRing.load(session, master, NOW)


@pytest.fixture
def policy() -> CasePolicy:
    return CasePolicy(
        urgent_ack=timedelta(minutes=5),
        remind_after=timedelta(hours=24),
        retention=timedelta(days=90),
        timezone=ZoneInfo("America/Toronto"),
    )


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema at all, for migration tests: SQLite, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server = postgres_url()
    if server is None:
        pytest.skip("PostgreSQL tests skipped on request (SRO_SKIP_POSTGRES=1)")
    name = f"sro_m_{secrets.token_hex(6)}"
    await _admin(server, f"CREATE DATABASE {name}")
    try:
        yield with_database(server, name)
    finally:
        await _drop_database(server, name)


async def table_names(url: str) -> set[str]:
    """The tables that exist in the database at `url`."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
