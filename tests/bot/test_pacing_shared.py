"""Telegram's pacing shared through PostgreSQL by two bot instances (two Pacings, two connections).

What is asserted is the slots the database reserves (deterministic: its arithmetic, not how fast
this machine runs), that each send went no earlier than its slot, and, for the controls, today's
in-memory pacing: two instances each let a whole burst through at once (no timer runs at all).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from telegram.error import RetryAfter

from bot import inbox, pacing
from bot.pacing import CHAT_BURST, GROUP_PER_MINUTE, OVERALL_PER_SECOND, Pacing
from bot.shared_pacing import HOUR, OVERALL, PAUSED, Rate, Slot, chat_bucket
from casework.vault.keys import KeyRing
from storage.db import Database
from tests.bot.harness import eventually
from tests.storage.fixtures import TestDatabase

POSTGRESQL = pytest.mark.parametrize("test_database", ["postgresql"], indirect=True)
PRIVATE, EVERYONE = pacing.PRIVATE_RATE, pacing.OVERALL_RATE
CHAT = 5550001234
GROUP = -1001234567890
# The database's clock and this process's agree to well under this (one machine); a send is
# checked to go no earlier than its slot less this.
CLOCKS = timedelta(milliseconds=5)


@dataclass
class Sender:
    """Stands in for the Bot API call; notes the database's time of each send, and may refuse some."""

    db: Database | None = None
    refusals: int = 0  # how many first calls Telegram answers with RetryAfter
    retry_after: float = 1.0
    calls: list[int] = field(default_factory=list)
    sent_at: dict[int, datetime] = field(default_factory=dict)  # message number -> database time
    refused: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, chat_id: int, number: int) -> dict[str, Any]:
        self.calls.append(chat_id)
        if len(self.calls) <= self.refusals:
            self.refused.set()
            raise RetryAfter(timedelta(seconds=self.retry_after))
        if self.db is not None:
            async with self.db.engine.connect() as connection:
                self.sent_at[number] = (
                    await connection.execute(text("SELECT clock_timestamp()"))
                ).scalar_one()
        return {"ok": True, "chat_id": chat_id}


def send(pacer: Pacing, sender: Sender, chat_id: int, number: int = 0) -> asyncio.Task[Any]:
    data = {"chat_id": chat_id}
    return asyncio.create_task(
        pacer.process_request(sender, (chat_id, number), {}, "sendMessage", data, None)
    )


async def settle() -> None:
    """Let every task that can run, run (a fixed number of event-loop turns, no timer)."""
    for _ in range(50):
        await asyncio.sleep(0)


def recorded(pacer: Pacing) -> list[tuple[int, Slot]]:
    """Every slot this instance reserves, with its chat, in order."""
    shared = pacer.shared
    assert shared is not None
    slots: list[tuple[int, Slot]] = []
    reserve = shared.reserve

    async def reserving(chat_id: int) -> Slot:
        slot = await reserve(chat_id)
        slots.append((chat_id, slot))
        return slot

    shared.reserve = reserving  # type: ignore[method-assign]
    return slots


def paced(times: list[datetime], rate: Rate) -> bool:
    """GCRA's promise: any k+1 consecutive sends span at least k intervals less the tolerance."""
    times = sorted(times)
    slack = timedelta(microseconds=1)  # PostgreSQL keeps microseconds
    return all(
        later - earlier >= timedelta(seconds=(j - i) * rate.interval - rate.tolerance) - slack
        for i, earlier in enumerate(times)
        for j, later in enumerate(times[i + 1 :], start=i + 1)
    )


@dataclass
class Instances:
    a: Pacing
    b: Pacing
    dbs: list[Database]


@pytest.fixture
async def instances(
    test_database: TestDatabase, database: Database, keys: KeyRing
) -> AsyncIterator[Instances]:
    """Two instances of one bot: each its own Pacing and its own connection to the same database."""
    other = Database.connect(test_database.url)
    a, b = Pacing(), Pacing()
    assert a.share(database, keys)
    assert b.share(other, keys)
    try:
        yield Instances(a, b, [database, other])
    finally:
        await a.shutdown()
        await b.shutdown()
        await other.close()


async def rows(db: Database) -> list[tuple[str, datetime]]:
    async with db.engine.connect() as connection:
        result = await connection.execute(text("SELECT bucket, free_at FROM pacing_buckets ORDER BY bucket"))
        return [(bucket, at) for bucket, at in result]


@POSTGRESQL
@pytest.mark.postgres
async def test_two_instances_keep_one_chats_pace_between_them(instances: Instances) -> None:
    senders = [Sender(instances.dbs[0]), Sender(instances.dbs[1])]
    reserved = [recorded(instances.a), recorded(instances.b)]
    count = CHAT_BURST + 3
    # All at once, alternately through the two instances, as a load balancer would spread them.
    tasks = [send((instances.a, instances.b)[n % 2], senders[n % 2], CHAT, n) for n in range(count)]
    await asyncio.gather(*tasks)
    times = [slot.at for instance in reserved for _chat, slot in instance]
    # Every message reserved a slot and went, each instance sending its share.
    assert len(times) == count == len(senders[0].sent_at) + len(senders[1].sent_at)
    assert all(sender.sent_at for sender in senders)
    assert paced(times, PRIVATE)  # a burst of three, then one a second, across both instances
    assert max(times) - min(times) >= timedelta(seconds=(count - CHAT_BURST) * PRIVATE.interval)
    # Each send went at its slot, not before: each instance's k-th send no earlier than its k-th slot.
    for instance, sender in zip(reserved, senders, strict=True):
        sends = sorted(sender.sent_at.values())
        for (_chat, slot), sent in zip(sorted(instance, key=lambda r: r[1].at), sends, strict=True):
            assert sent >= slot.at - CLOCKS


async def test_control_two_in_memory_instances_each_send_a_whole_burst_at_once() -> None:
    """Today's pacing, one per instance: each lets its own burst through, so the chat gets twice
    as many messages at once, and no timer ran (the check above would refuse these times)."""
    a, b = Pacing(), Pacing()
    senders = [Sender(), Sender()]
    tasks = [send((a, b)[n % 2], senders[n % 2], CHAT, n) for n in range(2 * CHAT_BURST)]
    await settle()
    assert all(task.done() for task in tasks)
    assert len(senders[0].calls) + len(senders[1].calls) == 2 * CHAT_BURST
    # The same instant for all six: what `paced` says of it.
    at = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert not paced([at] * (2 * CHAT_BURST), PRIVATE)
    assert paced([at] * CHAT_BURST, PRIVATE)  # and a single burst passes


@POSTGRESQL
@pytest.mark.postgres
async def test_two_instances_keep_the_bots_overall_rate_between_them(instances: Instances) -> None:
    senders = [Sender(instances.dbs[0]), Sender(instances.dbs[1])]
    reserved = [recorded(instances.a), recorded(instances.b)]
    count = 2 * OVERALL_PER_SECOND + 6
    # Each message to a chat of its own: only the overall rate holds them back.
    tasks = [send((instances.a, instances.b)[n % 2], senders[n % 2], CHAT + n, n) for n in range(count)]
    await asyncio.gather(*tasks)
    times = [slot.at for instance in reserved for _chat, slot in instance]
    assert len(times) == count == len(senders[0].sent_at) + len(senders[1].sent_at)
    assert paced(times, EVERYONE)
    assert max(times) - min(times) >= timedelta(seconds=(count - OVERALL_PER_SECOND) * EVERYONE.interval)
    sent = {n: at for sender in senders for n, at in sender.sent_at.items()}
    by_chat = {chat: slot for instance in reserved for chat, slot in instance}
    assert all(sent[n] >= by_chat[CHAT + n].at - CLOCKS for n in range(count))


async def test_control_two_in_memory_instances_each_send_the_full_overall_rate() -> None:
    a, b = Pacing(), Pacing()
    senders = [Sender(), Sender()]
    tasks = [send((a, b)[n % 2], senders[n % 2], CHAT + n) for n in range(2 * OVERALL_PER_SECOND)]
    await settle()
    assert all(task.done() for task in tasks)  # twice the bot's burst, at once, no timer
    assert not paced([datetime(2026, 12, 1, 6, 0, tzinfo=UTC)] * (2 * OVERALL_PER_SECOND), EVERYONE)


@POSTGRESQL
@pytest.mark.postgres
async def test_a_retry_after_to_one_instance_pauses_the_other(instances: Instances) -> None:
    refused = Sender(instances.dbs[0], refusals=1, retry_after=1.0)
    other = Sender(instances.dbs[1])
    pauses: list[datetime] = []
    paused = asyncio.Event()
    shared = instances.a.shared
    assert shared is not None
    pause = shared.pause

    async def pausing(seconds: float) -> datetime:
        pauses.append(await pause(seconds))
        paused.set()
        return pauses[-1]

    shared.pause = pausing  # type: ignore[method-assign]
    reserved = recorded(instances.b)
    first = send(instances.a, refused, CHAT)
    await paused.wait()  # the refused instance records the pause, then waits it out
    second = send(instances.b, other, CHAT + 1)  # another chat: only the pause can hold it
    await asyncio.gather(first, second)
    (until,) = pauses
    ((_chat, slot),) = reserved
    assert slot.at >= until  # the other instance's slot comes after the pause...
    assert other.sent_at[0] >= until - CLOCKS  # ...and it sent no earlier
    assert refused.calls == [CHAT, CHAT]  # refused once, then sent


async def test_control_in_memory_a_retry_after_pauses_only_its_own_instance() -> None:
    a, b = Pacing(), Pacing()
    refused, other = Sender(refusals=1, retry_after=30.0), Sender()
    first = send(a, refused, CHAT)
    await refused.refused.wait()
    second = send(b, other, CHAT + 1)
    await settle()
    assert second.done()
    assert other.calls == [CHAT + 1]
    assert not first.done()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


@POSTGRESQL
@pytest.mark.postgres
async def test_a_group_gets_its_twenty_a_minute_across_instances(instances: Instances) -> None:
    """Groups (the bot only says it leaves them) have Telegram's 20 a minute: a burst, then one in 3 s."""
    a, b = instances.a.shared, instances.b.shared
    assert a is not None
    assert b is not None
    slots = [await (a, b)[n % 2].reserve(GROUP) for n in range(GROUP_PER_MINUTE + 2)]
    times = [slot.at for slot in slots]
    assert paced(times, pacing.GROUP_RATE)
    assert max(times) - min(times) >= timedelta(seconds=2 * pacing.GROUP_RATE.interval)


def scan(found: list[tuple[str, datetime]], chat_id: int) -> list[str]:
    """Every way the chat id could be written in a row: its digits, signed or not, and in hex."""
    needles = {str(chat_id), str(abs(chat_id)), format(abs(chat_id), "x"), format(abs(chat_id), "X")}
    needles.add(abs(chat_id).to_bytes(8, "big").hex())
    return [needle for bucket, at in found for needle in needles if needle in f"{bucket}|{at.isoformat()}"]


@POSTGRESQL
@pytest.mark.postgres
async def test_a_chats_bucket_is_a_keyed_hash_never_its_id(instances: Instances, keys: KeyRing) -> None:
    shared = instances.a.shared
    assert shared is not None
    for chat_id in (CHAT, GROUP):
        await shared.reserve(chat_id)
    found = await rows(instances.dbs[0])
    assert {bucket for bucket, _at in found} >= {OVERALL}
    assert len(found) == 3  # overall and one per chat
    assert scan(found, CHAT) == []
    assert scan(found, GROUP) == []
    # Its own domain: not the drafts' pseudonym nor the intake's chat key, and a new key each hour.
    hour = int(time.time()) // HOUR
    mine = {chat_bucket(keys, CHAT, hour), chat_bucket(keys, CHAT, hour + 1)} & {b for b, _at in found}
    assert len(mine) == 1
    assert keys.pseudonym(CHAT) not in mine
    assert inbox.chat_key(keys, CHAT) not in mine
    assert chat_bucket(keys, CHAT, hour) != chat_bucket(keys, CHAT, hour + 1)
    # Positive control: the scan finds an id written in the clear.
    async with instances.dbs[0].engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO pacing_buckets (bucket, free_at) VALUES (:b, clock_timestamp())"),
            {"b": str(GROUP)},
        )
    assert scan(await rows(instances.dbs[0]), GROUP)


@POSTGRESQL
@pytest.mark.postgres
async def test_buckets_whose_time_has_passed_are_purged(
    instances: Instances, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = instances.dbs[0]
    shared = instances.a.shared
    assert shared is not None

    async def put(bucket: str, hours: int) -> None:
        async with db.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO pacing_buckets VALUES (:b, now() + make_interval(hours => :h))"),
                {"b": bucket, "h": hours},
            )

    await put("old", -1)
    await put(PAUSED, 1)
    assert await shared.purge() == (1, 1)
    assert [bucket for bucket, _at in await rows(db)] == [PAUSED]  # what still holds stays
    async with db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM pacing_buckets WHERE bucket = :b"), {"b": PAUSED})
    # A sending instance purges every PURGE_EVERY seconds until no bucket is left, its own included
    # (the chat's and the overall one, once their time has passed): an idle bot leaves no row.
    monkeypatch.setattr(pacing, "PURGE_EVERY", 0.2)
    await put("old", -1)
    await send(instances.b, Sender(), CHAT)
    assert {bucket for bucket, _at in await rows(db)} > {"old", OVERALL}

    async def empty() -> bool:
        return await rows(db) == []

    await eventually(empty, seconds=30, what="every bucket purged")
    # And stopping purges at once.
    await put("old", -1)
    await put(PAUSED, 1)
    await instances.a.shutdown()
    assert [bucket for bucket, _at in await rows(db)] == [PAUSED]


async def fails_then_recovers(
    db: Database,
    keys: KeyRing,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    breakage: tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]] | None,
) -> Pacing:
    """Send through a shared Pacing whose database fails; the sends go, paced in memory."""
    monkeypatch.setattr(pacing, "SHARED_TIMEOUT", 0.5)
    pacer, sender = Pacing(), Sender()
    assert pacer.share(db, keys)
    if breakage is not None:
        await breakage[0]()
    with caplog.at_level(logging.INFO, logger="bot.pacing"):
        burst = [send(pacer, sender, CHAT) for _ in range(CHAT_BURST)]
        assert [await task for task in burst] == [{"ok": True, "chat_id": CHAT}] * CHAT_BURST
        held = send(pacer, sender, CHAT)
        await settle()
        assert not held.done()  # still paced, in memory
        assert await held == {"ok": True, "chat_id": CHAT}
        if breakage is not None:
            await breakage[1]()
            monkeypatch.setattr(pacer, "_shared_down_until", 1.0)  # the retry delay is over
            await send(pacer, sender, CHAT + 1)
    messages = [record.getMessage() for record in caplog.records if record.name == "bot.pacing"]
    assert any(m.startswith("telegram.pacing_shared_failed error=") for m in messages), messages
    assert not any(str(CHAT) in m for m in messages)
    return pacer


@POSTGRESQL
@pytest.mark.postgres
async def test_a_send_goes_when_the_database_fails_and_pacing_is_shared_again_after(
    database: Database, keys: KeyRing, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def execute(statement: str) -> None:
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))

    pacer = await fails_then_recovers(
        database,
        keys,
        caplog,
        monkeypatch,
        (
            lambda: execute("ALTER TABLE pacing_buckets RENAME TO pacing_gone"),
            lambda: execute("ALTER TABLE pacing_gone RENAME TO pacing_buckets"),
        ),
    )
    assert len(await rows(database)) == 2  # shared again: the last send's chat and overall
    assert "telegram.pacing_shared_back" in [r.getMessage() for r in caplog.records]
    await pacer.shutdown()


@POSTGRESQL
@pytest.mark.postgres
async def test_a_send_goes_when_the_database_never_answers(
    keys: KeyRing, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the connection and then says nothing: the send waits SHARED_TIMEOUT at
    most, once, then goes (a RetryAfter's pause is not shared meanwhile either)."""
    silent: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = Database.connect(f"postgresql+asyncpg://nobody:nothing@127.0.0.1:{port}/none")
    try:
        await fails_then_recovers(db, keys, caplog, monkeypatch, None)
        assert silent  # it did connect, and got no answer
    finally:
        server.close()
        for writer in silent:
            writer.close()
        await server.wait_closed()
        await db.close()


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
async def test_on_sqlite_pacing_stays_in_memory_and_writes_nothing(database: Database, keys: KeyRing) -> None:
    pacer, sender = Pacing(), Sender()
    assert not pacer.share(database, keys)
    assert pacer.shared is None
    burst = [send(pacer, sender, CHAT) for _ in range(CHAT_BURST)]
    await asyncio.gather(*burst)
    held = send(pacer, sender, CHAT)
    await settle()
    assert not held.done()  # paced as before, in memory
    await held
    async with database.transaction() as session:
        assert (await session.execute(text("SELECT count(*) FROM pacing_buckets"))).scalar_one() == 0
