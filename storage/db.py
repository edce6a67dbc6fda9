"""The engine and the one wrapper that owns transactions.

Functions that take a session never commit; `Database.transaction()` does,
once, when the block succeeds (and rolls back when it raises). Engines are
made explicitly by `Database.connect`, never at import time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a transaction of this process waits for its turn at SQLite's one writer (see Database).
WRITER_TURN_WAIT_S = 120.0
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
# The execution option that marks a connection of `Database.read()`: on SQLite its BEGIN is deferred.
READ_ONLY = "sro_read_only"


T = TypeVar("T")


class Priority(IntEnum):
    """Whose turn comes first at SQLite's one writer when several transactions wait (lowest first)."""

    # Updates arriving, stored before Telegram is told: every other step waits for this one, and the
    # safety information a late turn gets early (bot.early_safety) starts from it.
    INTAKE = 0
    OUTBOX = 1  # a stored tip going out: claimed and marked sent before the rest
    FIRST_ANSWER = 2  # what stands before a student's first answer (their turn's state, loaded)
    NORMAL = 3


class UnsupportedDatabase(ValueError):
    """The URL names a database or driver the case store does not run on."""


class WriteInRead(RuntimeError):
    """A `Database.read()` session was asked to write (`Database.read_or_write` then writes)."""


class _ReadSession(Session):
    """The session of `Database.read()`: a write is refused the moment it is asked, on both databases."""


@event.listens_for(_ReadSession, "do_orm_execute")
def _refuse_statements(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise WriteInRead("a read transaction was asked to write")


@event.listens_for(_ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise WriteInRead("a read transaction was asked to write")


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
        # A read (Database.read) begins deferred: in WAL mode it reads its snapshot alongside the writer.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@dataclass
class _Queue:
    """One event loop's writer: whether a transaction has it, which task, and who waits, by priority."""

    busy: bool = False
    holder: asyncio.Task[Any] | None = None
    waiting: tuple[deque[asyncio.Future[None]], ...] = field(
        default_factory=lambda: tuple(deque() for _ in Priority)
    )

    def hand_over(self) -> None:
        """Pass the writer to the next waiter still waiting (by priority, then order), or free it."""
        self.holder = None
        for waiters in self.waiting:
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the writer is that waiter's now: still busy
                    return
        self.busy = False


class _WriterTurns:
    """One process's SQLite transactions, one at a time: by `Priority`, then in the order asked.

    A burst of students queues dozens of transactions. A tip already stored must not wait behind
    all of them to be claimed and marked sent, or officers get every tip at the end of the burst;
    and a student's turn must not wait behind the others' cases and saves to load its state, or
    their safety information comes seconds late. No kind waits forever: the outbox claims bounded
    batches, and a turn's later writes wait behind at most the loads of the turns under way
    (INTAKE_CONCURRENCY), since a new turn starts only when one ends.
    """

    def __init__(self) -> None:
        # One queue per event loop: a future belongs to the loop it was made on.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def turn(self, priority: Priority) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        if task is None or queue.holder is task:
            # A transaction inside this task's own transaction: waiting here would never end;
            # SQLite's busy timeout answers it, as it always did.
            yield
            return
        if queue.busy:
            waiter = loop.create_future()
            queue.waiting[priority].append(waiter)
            try:
                async with asyncio.timeout(WRITER_TURN_WAIT_S):
                    await waiter
            except (TimeoutError, asyncio.CancelledError) as stopped:
                if waiter.done() and not waiter.cancelled():
                    queue.hand_over()  # given the writer just as it stopped waiting: pass it on
                if isinstance(stopped, asyncio.CancelledError):
                    raise
                yield  # a turn that never came (a wait between transactions): SQLite decides, as before
                return
        queue.busy, queue.holder = True, task
        try:
            yield
        finally:
            queue.hand_over()


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
        # Reads: the same pool, marked so that SQLite begins them deferred; PostgreSQL refuses a write.
        options: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        self._readers = async_sessionmaker(
            engine.execution_options(**options),
            expire_on_commit=False,
            autoflush=False,
            info={"shared": self.shared},
            sync_session_class=_ReadSession,
        )

    @classmethod
    def connect(cls, url: str) -> Database:
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, priority: Priority = Priority.NORMAL) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed if the block succeeds, rolled back if it raises.

        `priority`: on SQLite, when transactions wait for the writer, which goes first (`Priority`).
        """
        if self._turns is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._turns.turn(priority), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads, in one transaction, rolled back at the end.

        On SQLite it takes no writer turn and begins deferred: in WAL mode it reads a consistent
        snapshot while a writer works, so a burst of lookups (is this chat an officer's? what does
        this tip say?) never queues behind the writes. On PostgreSQL the transaction is READ ONLY.
        Any write asked of it raises `WriteInRead` (see `read_or_write`).
        """
        async with self._readers() as session:  # closing it rolls the transaction back
            yield session
            if session.new or session.dirty or session.deleted:
                raise WriteInRead("a read transaction was asked to write")

    async def read_or_write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` in a read; if it turns out to write (a forged record's alert), all of it again in a
        transaction, where its writes commit. `work` must be safe to run twice: reads, then writes."""
        try:
            async with self.read() as session:
                return await work(session)
        except WriteInRead:
            async with self.transaction() as session:
                return await work(session)

    async def close(self) -> None:
        await self.engine.dispose()
