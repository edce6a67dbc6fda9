"""The engine and the one wrapper that owns transactions.

Functions that take a session never commit; `Database.transaction()` does,
once, when the block succeeds (and rolls back when it raises). Engines are
made explicitly by `Database.connect`, never at import time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a transaction of this process waits for its turn at SQLite's one writer (see Database).
WRITER_TURN_WAIT_S = 120.0
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class UnsupportedDatabase(ValueError):
    """The URL names a database or driver the case store does not run on."""


def check_url(url: str) -> str:
    """The URL's driver name, or a clear error for anything but aiosqlite and asyncpg."""
    driver = make_url(url).drivername
    if driver not in SUPPORTED_DRIVERS:
        raise UnsupportedDatabase(
            f"unsupported database driver {driver!r}: use one of {', '.join(SUPPORTED_DRIVERS)}"
        )
    return driver


def create_engine(
    url: str, *, foreign_keys: bool = True, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE.

    The bot, its delivery worker and `sro` write to one SQLite file at once.
    WAL lets readers go on while one writes; the busy timeout makes a writer
    wait instead of failing; and BEGIN IMMEDIATE takes the write lock at the
    start of a transaction, because a deferred transaction that reads and then
    writes fails at once (SQLITE_BUSY_SNAPSHOT) when another writer got in
    between, whatever the timeout. `foreign_keys=False` is for migrations,
    which recreate tables under SQLite and must not cascade while doing so.
    """
    driver = check_url(url)
    engine = create_async_engine(url, pool_pre_ping=driver != "sqlite+aiosqlite")
    if driver == "sqlite+aiosqlite":
        _configure_sqlite(engine, foreign_keys=foreign_keys, busy_timeout_ms=busy_timeout_ms)
    return engine


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver must not issue its own BEGIN: ours (below) is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class _WriterTurns:
    """One process's SQLite transactions, one at a time, in the order they asked (see `Database`)."""

    def __init__(self) -> None:
        # One lock per event loop: an asyncio lock belongs to the loop it first waits on.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._holders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[Any]] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        if task is None or self._holders.get(loop) is task:
            # A transaction inside this task's own transaction: waiting here would never end;
            # SQLite's busy timeout answers it, as it always did.
            yield
            return
        try:
            async with asyncio.timeout(WRITER_TURN_WAIT_S):
                await lock.acquire()
        except TimeoutError:
            yield  # a turn that never came (a wait between transactions): SQLite decides, as before
            return
        self._holders[loop] = task
        try:
            yield
        finally:
            self._holders.pop(loop, None)
            lock.release()


class Database:
    """One engine and its session factory; `async with db.transaction() as session:` to work.

    On SQLite every transaction writes (BEGIN IMMEDIATE), and the file has one writer. Left to
    SQLite, a process's concurrent transactions wait for the lock by sleeping and polling (its busy
    handler sleeps up to 100 ms between tries, and gives up after the busy timeout): under a burst
    the lock sat free while waiters slept, and a student at the end of the queue was told that
    something went wrong. So this process's transactions take turns first, in the order they asked,
    handed over at once by an asyncio lock: a burst becomes a queue, never an error. SQLite's busy
    timeout still arbitrates between processes (another bot instance, `sro`). A turn not given
    within WRITER_TURN_WAIT_S is taken anyway, so a transaction that waits on another can still end
    in SQLite's error rather than hang.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # expire_on_commit=False: objects stay readable after commit without a lazy reload,
        # which async code cannot do.
        # `shared`: one dict every session of this database sees as `session.info["shared"]`; the
        # loaded KeyRing lives there (casework.vault.keys.bind) so any officer lookup can verify records.
        self.shared: dict[str, Any] = {}
        self._sessions = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=True, info={"shared": self.shared}
        )
        self._turns = _WriterTurns() if engine.dialect.name == "sqlite" else None

    @classmethod
    def connect(cls, url: str) -> Database:
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed if the block succeeds, rolled back if it raises."""
        if self._turns is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._turns.turn(), self._sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
