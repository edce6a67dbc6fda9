"""The consent-reminder job's read pass: every live state in one query, nothing else.

Before, the job loaded each draft with its own query while holding SQLite's one writer, every four
seconds; with many students talking that queued every turn behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from casework.cases import drafts
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Draft


async def test_live_states_are_every_unexpired_state_and_nothing_else(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    async with database.transaction() as session:
        await drafts.save_state(session, keys, "alive", {"step": "idle"}, now)
        await drafts.save_state(session, keys, "old", {"step": "idle"}, now - timedelta(hours=2))
        await drafts.save_state(session, keys, "tampered", {"step": "idle"}, now)
        await drafts.remember_messages(session, keys, "alive", [41, 42], now)  # a message list, not a state
    async with database.transaction() as session:
        await session.execute(update(Draft).where(Draft.pseudonym == "tampered").values(nonce=b"\0" * 12))
    async with database.transaction() as session:
        found = await drafts.live_states(session, keys, now)
        by_key = dict(found)
        assert set(by_key) == {"alive", drafts.messages_key(keys, "alive")}  # not "old", not "tampered"
        assert by_key["alive"] == {"step": "idle"}
        # Control: the same rows read one by one give the same answer for the live one.
        assert await drafts.load_state(session, keys, "alive", now) == {"step": "idle"}
