"""Cases of concurrent students opened together: one transaction, one statement per table (a group commit).

Under a burst many students press Send at once. Opened one by one, each case costs its own
transaction: its statements, a BEGIN and a COMMIT (on PostgreSQL a WAL flush each), and on SQLite
a turn at the one writer, so the cases queue behind each other. `CaseBatcher.open` queues a case
instead; one task takes everything queued (up to `max_batch`) and opens it with
`intake.open_cases` in one transaction, then the next batch, and so on.

Three rules hold. "Sent" is said only after the commit: each caller is answered when the
transaction holding its case has committed. Idempotency rests on the database's unique keys
(the send key's hash, case references): a batch holding a send key already used fails as a whole,
nothing of it is stored, and every case of that batch is then opened again alone, in its own
transaction, so the failing one gets its own error (an IntegrityError, as `open_case` raises) and
the others their cases. And no transaction spans network I/O: the batch runs only the store's work
and each caller's `then`, which must not wait on the network either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import intake
from casework.cases.intake import NewCase, OpenedCase
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database, Priority

# More cases per transaction spread its cost thinner, but a long batch keeps SQLite's writer from
# everything else (a tip going out, a student's state) for longer: 32 cases take a few ms of SQL.
MAX_BATCH = 32

Then = Callable[[AsyncSession, OpenedCase], Awaitable[None]]


@dataclass(slots=True)
class _Waiting:
    new: NewCase
    then: Then | None
    answer: asyncio.Future[OpenedCase]


class CaseBatcher:
    """Opens the cases asked for at the same moment together (see the module docstring).

    One per database and event loop, made at start-up; `open` may be called from any number of tasks.
    """

    def __init__(
        self,
        db: Database,
        keys: KeyRing,
        policy: CasePolicy,
        *,
        max_batch: int = MAX_BATCH,
        priority: Priority = Priority.NORMAL,
        in_flight: int | None = None,
    ) -> None:
        self._db, self._keys, self._policy = db, keys, policy
        self._max_batch, self._priority = max_batch, priority
        # SQLite has one writer: a second batch would only wait for it. PostgreSQL builds the next batch
        # while the last one's commit waits for its WAL flush.
        self._in_flight = in_flight or (1 if db.dialect == "sqlite" else 2)
        self._queue: list[_Waiting] = []
        self._workers: set[asyncio.Task[None]] = set()

    async def open(self, new: NewCase, *, then: Then | None = None) -> OpenedCase:
        """The case stored and committed (its tip queued), as `intake.open_case` in its own transaction.

        `then`: more work in the same transaction once the case exists (its evidence, say), run
        before the commit; if it raises, this case is not opened and the error is this caller's.
        Raises what `open_case` raises for this case alone (NoRecipients, IntegrityError, ...).
        """
        answer: asyncio.Future[OpenedCase] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(new, then, answer))
        if len(self._workers) < self._in_flight:
            worker = asyncio.create_task(self._drain(), name="case-batcher")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return await answer

    async def _drain(self) -> None:
        try:
            while True:
                if not self._queue:
                    # Gone from the workers in the same step as it saw nothing queued: a case queued
                    # from now on starts a new worker (a done-callback would come too late for it).
                    self._workers.difference_update({asyncio.current_task()})
                    return
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._open_batch(batch)
        except BaseException as stopped:  # cancelled at shutdown: nobody waits for an answer forever
            for waiting in self._queue:
                _answer(waiting, error=stopped)
            self._queue.clear()
            raise

    async def _open_batch(self, batch: list[_Waiting]) -> None:
        try:
            opened = await self._open_together(batch)
        except Exception as error:
            if len(batch) == 1:
                _answer(batch[0], error=error)
                return
            # Nothing of the batch was stored: each case again alone, each caller its own outcome.
            for waiting in batch:
                await self._open_batch([waiting])
            return
        except BaseException as stopped:
            for waiting in batch:
                _answer(waiting, error=stopped)
            raise
        for waiting, case in zip(batch, opened, strict=True):
            _answer(waiting, case=case)

    async def _open_together(self, batch: list[_Waiting]) -> list[OpenedCase]:
        async with self._db.transaction(self._priority) as session:
            opened = await intake.open_cases(session, self._keys, self._policy, [w.new for w in batch])
            for waiting, case in zip(batch, opened, strict=True):
                if waiting.then is not None:
                    await waiting.then(session, case)
        return opened  # committed: only now is any of them "sent"


def _answer(waiting: _Waiting, *, case: OpenedCase | None = None, error: BaseException | None = None) -> None:
    if waiting.answer.done():  # its caller stopped waiting (cancelled)
        return
    if isinstance(error, asyncio.CancelledError):
        waiting.answer.cancel()
    elif error is not None:
        waiting.answer.set_exception(error)
    elif case is not None:
        waiting.answer.set_result(case)
