"""Any change to stored ciphertext, nonces, envelopes or what they are bound to raises DecryptionError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest
from sqlalchemy import select, update

from casework.cases import drafts, intake, reading
from casework.policy import CasePolicy
from casework.vault import crypto
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Case, CaseMessage, Draft, KeyEnvelope, Officer
from tests.casework.world import World, build_world, open_report


def flip(value: bytes, at: int = 0) -> bytes:
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


Tamper = Callable[[Database, int, World], Awaitable[None]]
OpenOther = Callable[[], Awaitable[int]]


async def _first_message(database: Database, case_id: int) -> CaseMessage:
    async with database.transaction() as session:
        message = await session.scalar(select(CaseMessage).where(CaseMessage.case_id == case_id))
        assert message is not None
        return message


async def _edit_message(database: Database, case_id: int, **values: object) -> None:
    message = await _first_message(database, case_id)
    async with database.transaction() as session:
        await session.execute(update(CaseMessage).where(CaseMessage.id == message.id).values(**values))


async def _edit_envelopes(database: Database, case_id: int, column: str) -> None:
    message = await _first_message(database, case_id)
    async with database.transaction() as session:
        for envelope in await session.scalars(
            select(KeyEnvelope).where(KeyEnvelope.message_id == message.id)
        ):
            setattr(envelope, column, flip(getattr(envelope, column), 5))


async def ciphertext(database: Database, case_id: int, world: World) -> None:
    message = await _first_message(database, case_id)
    await _edit_message(database, case_id, ciphertext=flip(message.ciphertext, 7))


async def nonce(database: Database, case_id: int, world: World) -> None:
    message = await _first_message(database, case_id)
    await _edit_message(database, case_id, nonce=flip(message.nonce))


async def direction(database: Database, case_id: int, world: World) -> None:
    await _edit_message(database, case_id, direction="system")  # associated data changes


async def sequence(database: Database, case_id: int, world: World) -> None:
    await _edit_message(database, case_id, seq=5)


async def ephemeral_key(database: Database, case_id: int, world: World) -> None:
    await _edit_envelopes(database, case_id, "ephemeral_public_key")


async def wrapped_key(database: Database, case_id: int, world: World) -> None:
    await _edit_envelopes(database, case_id, "wrapped_key")


async def envelope_nonce(database: Database, case_id: int, world: World) -> None:
    await _edit_envelopes(database, case_id, "nonce")


async def swapped_envelopes(database: Database, case_id: int, world: World) -> None:
    """The officer's envelope replaced by the student's (a key for someone else)."""
    message = await _first_message(database, case_id)
    async with database.transaction() as session:
        rows = list(await session.scalars(select(KeyEnvelope).where(KeyEnvelope.message_id == message.id)))
        student = next(e for e in rows if e.officer_id is None)
        for envelope in rows:
            if envelope.officer_id is not None:
                envelope.ephemeral_public_key, envelope.nonce, envelope.wrapped_key = (
                    student.ephemeral_public_key,
                    student.nonce,
                    student.wrapped_key,
                )


def moved_to_another_case(open_other: OpenOther) -> Tamper:
    async def tamper(database: Database, case_id: int, world: World) -> None:
        """The two cases' first messages (with their envelopes) swapped: case ids are bound in."""
        other = await open_other()
        async with database.transaction() as session:
            await session.execute(update(CaseMessage).where(CaseMessage.case_id == other).values(seq=99))
            await session.execute(
                update(CaseMessage).where(CaseMessage.case_id == case_id).values(case_id=other, seq=1)
            )
            await session.execute(
                update(CaseMessage).where(CaseMessage.seq == 99).values(case_id=case_id, seq=1)
            )

    return tamper


# (what is changed, whether the student's own envelope is among what changed)
TAMPERINGS = [
    ("ciphertext", True), ("nonce", True), ("direction", True), ("sequence", True),
    ("ephemeral_key", True), ("wrapped_key", True), ("envelope_nonce", True),
    ("swapped_envelopes", False), ("moved_to_another_case", True),
]  # fmt: skip


async def _refused(opening: Awaitable[reading.CaseThread | reading.StudentView]) -> None:
    """Refused: the reading fails (DecryptionError), or the altered message fails its MAC and is left out."""
    try:
        view = await opening
    except crypto.DecryptionError:
        return
    assert view.withheld >= 1
    assert all("must not be altered" not in m.body.get("text", "") for m in view.messages)


@pytest.mark.parametrize(("name", "student_too"), TAMPERINGS)
async def test_tampering_is_detected(
    name: str, student_too: bool, database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    async def open_other() -> int:
        return (await open_report(database, keys, policy, now, world.north, "the other case")).case_id

    tamper: Tamper = moved_to_another_case(open_other) if name == "moved_to_another_case" else globals()[name]
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "a report that must not be altered")
    async with database.transaction() as session:  # positive control
        assert (
            await reading.read_case_as_officer(session, keys, opened.case_id, world.north_officer)
        ).messages
    await tamper(database, opened.case_id, world)
    async with database.transaction() as session:
        await _refused(reading.read_case_as_officer(session, keys, opened.case_id, world.north_officer))
        if student_too:
            await _refused(reading.read_case_as_student(session, keys, opened.code))
        else:  # the student's envelope was not touched: their copy still opens
            assert (await reading.read_case_as_student(session, keys, opened.code)).messages


async def test_sealed_values_are_bound_to_their_rows(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    a = await open_report(database, keys, policy, now, world.north, "a", notify_chat_id=11_111_111)
    b = await open_report(database, keys, policy, now, world.north, "b", notify_chat_id=22_222_222)
    async with database.transaction() as session:
        await drafts.save_state(session, keys, "a" * 64, {"step": "x"}, now)
        case_a, case_b = await session.get(Case, a.case_id), await session.get(Case, b.case_id)
        assert case_a is not None
        assert case_b is not None
        case_a.notify_address_sealed = case_b.notify_address_sealed  # another case's address
        draft = await session.get(Draft, "a" * 64)
        assert draft is not None
        session.add(Draft(pseudonym="b" * 64, nonce=draft.nonce, ciphertext=draft.ciphertext,
                          updated_at=now, expires_at=draft.expires_at))  # fmt: skip
        one, two = list(await session.scalars(select(Officer).order_by(Officer.id).limit(2)))
        one.sealed_private_key = two.sealed_private_key  # another officer's sealed key
    async with database.transaction() as session:
        with pytest.raises(crypto.DecryptionError):
            await intake.notify_address(session, keys, a.case_id)
        with pytest.raises(crypto.DecryptionError):
            await drafts.load_state(session, keys, "b" * 64, now)
        with pytest.raises(crypto.DecryptionError):
            await reading.read_case_as_officer(session, keys, a.case_id, one.id)


def test_envelope_primitives_reject_every_change() -> None:
    recipient = crypto.new_private_key()
    key = crypto.random_key()
    envelope = crypto.wrap_key(key, crypto.public_bytes(recipient), b"ctx")
    assert crypto.unwrap_key(envelope, recipient, b"ctx") == key
    for changed in (
        crypto.Envelope(flip(envelope.ephemeral_public_key), envelope.nonce, envelope.wrapped_key),
        crypto.Envelope(envelope.ephemeral_public_key, flip(envelope.nonce), envelope.wrapped_key),
        crypto.Envelope(envelope.ephemeral_public_key, envelope.nonce, flip(envelope.wrapped_key)),
        crypto.Envelope(bytes(32), envelope.nonce, envelope.wrapped_key),  # a low-order point
    ):
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_key(changed, recipient, b"ctx")
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_key(envelope, recipient, b"other context")
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_key(envelope, crypto.new_private_key(), b"ctx")
