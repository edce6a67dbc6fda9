"""A chat's state and message list, read together at the start of an update and written together at its end.

The list (for /forget) is written back only if nobody changed it since it was read: a consent
reminder (bot.jobs) remembers its message between a turn's load and its save, and that id must not
be lost, or /forget would leave the reminder on the student's phone.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from casework.cases import drafts
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Draft
from tests.storage.fixtures import BACKENDS

PSEUDONYM = "chat-rows-test-pseudonym"
POSTGRESQL = BACKENDS[1]


async def _rows(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Draft)) or 0)


async def test_state_and_list_round_trip(database: Database, keys: KeyRing, now: datetime) -> None:
    async with database.transaction() as session:
        empty = await drafts.load_chat(session, keys, PSEUDONYM, now)
    assert (empty.state, empty.had_draft, empty.messages, empty.messages_nonce) == (None, False, (), None)
    async with database.transaction() as session:
        await drafts.save_chat(session, keys, PSEUDONYM, {"step": "idle"}, [1, 2], now, empty)
    async with database.transaction() as session:
        read = await drafts.load_chat(session, keys, PSEUDONYM, now)
    assert read.state == {"step": "idle"}
    assert read.had_draft
    assert [m for m, _ in read.messages] == [1, 2]
    async with database.transaction() as session:
        await drafts.save_chat(session, keys, PSEUDONYM, None, [3], now, read)
    async with database.transaction() as session:
        again = await drafts.load_chat(session, keys, PSEUDONYM, now)
        assert (again.state, again.had_draft) == (None, False)  # the state went; the list stays
        assert await drafts.take_messages(session, keys, PSEUDONYM, now) == [1, 2, 3]


async def test_a_list_changed_since_it_was_read_is_added_to_not_overwritten(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    async with database.transaction() as session:
        await drafts.remember_messages(session, keys, PSEUDONYM, [1], now)
        read = await drafts.load_chat(session, keys, PSEUDONYM, now)
    assert [m for m, _ in read.messages] == [1]
    # Between the turn's load and its save: the consent reminder's message is remembered.
    async with database.transaction() as session:
        await drafts.remember_messages(session, keys, PSEUDONYM, [99], now)
    async with database.transaction() as session:
        await drafts.save_chat(session, keys, PSEUDONYM, {"step": "idle"}, [2], now, read)
    async with database.transaction() as session:
        assert sorted(await drafts.take_messages(session, keys, PSEUDONYM, now)) == [1, 2, 99]


async def test_a_list_made_since_it_was_read_is_added_to(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    async with database.transaction() as session:
        read = await drafts.load_chat(session, keys, PSEUDONYM, now)
    async with database.transaction() as session:
        await drafts.remember_messages(session, keys, PSEUDONYM, [99], now)
    async with database.transaction() as session:
        await drafts.save_chat(session, keys, PSEUDONYM, {"step": "idle"}, [2], now, read)
    async with database.transaction() as session:
        assert sorted(await drafts.take_messages(session, keys, PSEUDONYM, now)) == [2, 99]


async def test_an_expired_state_and_list_read_as_none(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    async with database.transaction() as session:
        await drafts.save_chat(
            session, keys, PSEUDONYM, {"step": "idle"}, [1], now, drafts.ChatRows(None, False, (), None)
        )
    assert await _rows(database) == 2
    later = now + drafts.DELETABLE_FOR + timedelta(hours=1)
    async with database.transaction() as session:
        read = await drafts.load_chat(session, keys, PSEUDONYM, later)
    assert (read.state, read.had_draft, read.messages, read.messages_nonce) == (None, True, (), None)
    assert await _rows(database) == 0  # both deleted as they were read, as load_state does
    async with database.transaction() as session:
        await drafts.save_chat(session, keys, PSEUDONYM, {"step": "idle"}, [5], later, read)
        assert await drafts.take_messages(session, keys, PSEUDONYM, later) == [5]


# PostgreSQL only: SQLite has one writer, so two writes of a list cannot interleave there.
@pytest.mark.parametrize("test_database", [POSTGRESQL], indirect=True)
@pytest.mark.parametrize("listed_before", [True, False], ids=["a list", "no list yet"])
async def test_two_instances_adding_to_one_list_at_once_lose_neither(
    database: Database, keys: KeyRing, now: datetime, monkeypatch: pytest.MonkeyPatch, listed_before: bool
) -> None:
    """A consent reminder in one instance and a turn's fallback in another add to one chat's list
    at the same moment: the first reads the list, the second adds to it and commits, then the first
    writes. Written over, the second's id would be lost, and /forget would leave that message on the
    student's phone."""
    if listed_before:
        async with database.transaction() as session:
            await drafts.remember_messages(session, keys, PSEUDONYM, [1], now)
    first_read, second_done = asyncio.Event(), asyncio.Event()
    real = drafts._read_list

    async def read_then_wait(*args: Any) -> tuple[list[tuple[int, float]], bytes | None]:
        found = await real(*args)
        if not first_read.is_set():  # the first instance's read: it waits for the second to commit
            first_read.set()
            await second_done.wait()
        return found

    monkeypatch.setattr(drafts, "_read_list", read_then_wait)

    async def reminder() -> None:
        async with database.transaction() as session:
            await drafts.remember_messages(session, keys, PSEUDONYM, [50], now)

    async def other_instance() -> None:
        await first_read.wait()
        async with database.transaction() as session:
            await drafts.remember_messages(session, keys, PSEUDONYM, [60], now)
        second_done.set()

    await asyncio.gather(reminder(), other_instance())
    async with database.transaction() as session:
        remembered = await drafts.take_messages(session, keys, PSEUDONYM, now)
    assert sorted(remembered) == ([1] if listed_before else []) + [50, 60]
