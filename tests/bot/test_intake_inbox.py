"""The durable inbox's rules, on both databases: sealed, stored once, a chat in order, leases that run out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from telegram import Update

from bot import inbox
from bot.state import Draft, Handling, handling
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import CaseKind, IntakeUpdate

LEASE = timedelta(seconds=30)
SECRET_TEXT = "someone has a knife in the gym"


def message(update_id: int, chat_id: int, text: str = SECRET_TEXT) -> inbox.Incoming:
    chat = {"id": chat_id, "type": "private"}
    data = {"update_id": update_id, "message": {"message_id": 1, "date": 0, "chat": chat, "text": text}}
    return inbox.Incoming(update_id, chat_id, data)


async def store(db: Database, keys: KeyRing, now: datetime, *updates: inbox.Incoming) -> set[int]:
    async with db.transaction() as session:
        return await inbox.store(session, keys, updates, now)


async def claim(db: Database, keys: KeyRing, now: datetime, worker: str = "w1") -> list[int]:
    async with db.transaction() as session:
        claimed = await inbox.claim(session, keys, worker, now, lease=LEASE, limit=10)
    return [entry.update_id for entry in claimed]


async def finish(db: Database, update_id: int) -> None:
    async with db.transaction() as session:
        await inbox.finish(session, update_id)


async def test_an_update_delivered_twice_is_stored_and_handled_once(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    assert await store(database, keys, now, message(101, 7)) == {101}
    assert await store(database, keys, now, message(101, 7)) == set()  # redelivered while waiting
    assert await claim(database, keys, now) == [101]
    await finish(database, 101)
    assert await store(database, keys, now, message(101, 7)) == set()  # redelivered once handled
    assert await claim(database, keys, now + LEASE * 2) == []
    # Positive control: another update id is new, and is handed out.
    assert await store(database, keys, now, message(102, 7)) == {102}
    assert await claim(database, keys, now) == [102]


async def test_a_chat_is_handed_out_one_update_at_a_time_in_order(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    await store(database, keys, now, message(201, 1), message(202, 1), message(203, 2))
    assert await claim(database, keys, now) == [201, 203]  # chat 1's second update waits
    assert await claim(database, keys, now, worker="w2") == []  # another instance gets nothing either
    await finish(database, 201)
    assert await claim(database, keys, now, worker="w2") == [202]  # positive control: then it comes


async def test_a_dead_workers_updates_come_back_when_its_lease_runs_out(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    await store(database, keys, now, message(301, 3))
    assert await claim(database, keys, now, worker="dead") == [301]
    assert await claim(database, keys, now + LEASE / 2, worker="alive") == []
    assert await claim(database, keys, now + LEASE * 2, worker="alive") == [301]


async def test_stored_updates_are_sealed_and_keyed_apart_from_the_drafts(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    chat_id = 987654321
    await store(database, keys, now, message(401, chat_id))
    async with database.transaction() as session:
        row = await session.get(IntakeUpdate, 401)
        assert row is not None
        assert row.ciphertext is not None
        columns = repr((row.chat_key, row.nonce, row.ciphertext, row.received_at))
    assert SECRET_TEXT.encode() not in row.ciphertext
    assert str(chat_id) not in columns
    assert row.chat_key != keys.pseudonym(chat_id)  # not the drafts' key: no join on it
    assert row.received_at.minute % 15 == 0
    assert row.received_at.second == 0
    # Positive control: the key opens it, and it holds the text and the chat.
    async with database.transaction() as session:
        (claimed,) = await inbox.claim(session, keys, "w1", now, lease=LEASE, limit=1)
    assert claimed.data["message"]["text"] == SECRET_TEXT
    assert claimed.data["message"]["chat"]["id"] == chat_id
    await finish(database, 401)
    async with database.transaction() as session:
        done = (await session.scalars(select(IntakeUpdate).where(IntakeUpdate.update_id == 401))).one()
    assert (done.chat_key, done.nonce, done.ciphertext) == (None, None, None)  # only the id stays


async def test_a_stored_update_keeps_no_name_username_phone_number_or_language(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    """What /privacy says is never kept is not in a stored update either (sealed or not): the
    sender's, the chat's, a forward's origin's, a replied-to sender's and a shared contact's names,
    usernames, phone number and language are dropped before sealing. What the bot reads stays (ids,
    chat type, text), and python-telegram-bot still parses it. Positive control: the update as
    Telegram sent it holds every one of them."""
    chat_id = 987654322
    person = {
        "id": chat_id,
        "is_bot": False,
        "first_name": "Zelphine",
        "last_name": "Quarrington",
        "username": "zelq_2009",
        "language_code": "fr",
        "is_premium": True,
    }
    other = {"id": 55501, "is_bot": False, "first_name": "Borvald", "username": "borv_x"}
    chat = {"id": chat_id, "type": "private", "first_name": "Zelphine", "username": "zelq_2009"}
    data = {
        "update_id": 402,
        "message": {
            "message_id": 7, "date": 0, "chat": chat, "from": person, "text": SECRET_TEXT,
            "forward_origin": {"type": "hidden_user", "date": 0, "sender_user_name": "Ysolde Marchetti"},
            "reply_to_message": {"message_id": 6, "date": 0, "chat": chat, "from": other, "text": "hi"},
            "contact": {"phone_number": "+1 416 555 0199", "first_name": "Borvald", "vcard": "TEL:0199"},
            "entities": [{"type": "text_mention", "offset": 0, "length": 7, "user": other}],
        },
    }  # fmt: skip
    needles = ["Zelphine", "Quarrington", "zelq_2009", "Borvald", "borv_x", "Ysolde", "0199", '"fr"']
    needles.append("is_premium")
    assert all(n in json.dumps(data) for n in needles)  # positive control: Telegram sent them all
    await store(database, keys, now, inbox.Incoming(402, chat_id, data))
    async with database.transaction() as session:
        (claimed,) = await inbox.claim(session, keys, "w1", now, lease=LEASE, limit=1)
    stored = json.dumps(claimed.data)
    assert [n for n in needles if n in stored] == []
    assert claimed.data["message"]["text"] == SECRET_TEXT
    assert claimed.data["message"]["chat"] == {"id": chat_id, "type": "private"}
    assert claimed.data["message"]["from"]["id"] == chat_id
    assert claimed.data["message"]["reply_to_message"]["from"]["id"] == other["id"]
    update = Update.de_json(claimed.data, None)
    assert update.effective_chat is not None
    assert update.effective_chat.id == chat_id
    assert update.effective_user is not None
    assert update.effective_user.id == chat_id
    assert update.effective_message is not None
    assert update.effective_message.text == SECRET_TEXT


def test_a_draft_started_again_for_the_same_stored_update_gets_the_same_token_and_code() -> None:
    def draft_for(seed: bytes) -> Draft:
        token = handling.set(Handling(1, seed))
        try:
            return Draft(kind=CaseKind.REPORT, intent="report_weapon")
        finally:
            handling.reset(token)

    first, again = draft_for(b"s" * 32), draft_for(b"s" * 32)
    assert (first.send_token, first.case_code) == (again.send_token, again.case_code)
    # Positive controls: another update's seed, or no stored update at all, gives other values.
    other = draft_for(b"t" * 32)
    assert other.send_token != first.send_token
    assert other.case_code != first.case_code
    plain = Draft(kind=CaseKind.REPORT, intent="report_weapon")
    assert plain.send_token != first.send_token
    assert len(plain.send_token) == len(first.send_token)
    assert len(plain.case_code) == len(first.case_code)
