"""A database writer without the master key performs the three attacks of issue 8 item 3; each fails.

Each attack has its positive control: the same row, authenticated by the
key holder (what an unauthenticated check would accept), does get the
envelope, the tip or the student's eyes, so the observation would see the
attack if it worked; and the legitimate rows keep working.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import func, select, text

from casework import audit, officers
from casework.cases import intake, reading
from casework.cases.codes import CaseCode
from casework.delivery import alerts, routing
from casework.errors import MasterKeyError
from casework.policy import CasePolicy
from casework.vault import crypto, directory_auth, sealing
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import (
    AlertKind,
    Assignment,
    Case,
    CaseMessage,
    CaseRecipient,
    Delivery,
    DeliveryKind,
    Direction,
    Grant,
    KeyEnvelope,
    Officer,
    RecipientKind,
    ServerKey,
)
from tests.casework.world import build_world, officer_reply, open_report

ATTACKER_CHAT = 66_600_001


async def _insert_attacker_supervisor(database: Database, now: datetime) -> tuple[int, X25519PrivateKey]:
    """What a writer with SQL access and no master key can do: a row with their own key pair."""
    private = crypto.new_private_key()
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO officers (display_name, role, active, telegram_chat_id, enrolled_at,"
                " public_key, sealed_private_key, created_at)"
                " VALUES ('Sgt. Helpful', 'supervisor', :active, :chat, :now, :public, :sealed, :now)"
            ),
            {
                "active": True,
                "chat": ATTACKER_CHAT,
                "now": now,
                "public": crypto.public_bytes(private),
                "sealed": b"\x00" * 60,
            },
        )
        officer_id = await session.scalar(select(Officer.id).where(Officer.telegram_chat_id == ATTACKER_CHAT))
    assert officer_id is not None
    return officer_id, private


async def _envelope_for(database: Database, case_id: int, officer_id: int) -> KeyEnvelope | None:
    async with database.transaction() as session:
        return await session.scalar(
            select(KeyEnvelope)
            .join(CaseMessage, CaseMessage.id == KeyEnvelope.message_id)
            .where(CaseMessage.case_id == case_id, KeyEnvelope.officer_id == officer_id)
        )


async def _tips_to(database: Database, case_id: int, officer_id: int) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.case_id == case_id,
                Delivery.officer_id == officer_id,
                Delivery.kind == DeliveryKind.TIP,
            )
        )
    return int(count or 0)


async def _forged_alerts(database: Database, kind: AlertKind) -> list[tuple[int | None, int | None]]:
    async with database.transaction() as session:
        return [(a.officer_id, a.case_id) for a in await alerts.list_alerts(session, kind=kind)]


async def test_an_inserted_supervisor_gets_no_envelope_no_tip_and_no_officer_access(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    attacker, attacker_key = await _insert_attacker_supervisor(database, now)
    async with database.transaction() as session:
        # What an unauthenticated directory would answer: the row qualifies as a reachable supervisor.
        unchecked = await session.scalars(
            select(Officer.id).where(
                Officer.role == "supervisor", Officer.active, Officer.telegram_chat_id.is_not(None)
            )
        )
        assert attacker in unchecked.all()

    # An urgent report without a school goes to the supervisors: the tip level the attacker targets.
    opened = await open_report(database, keys, policy, now, None, "gun in a locker", urgent=True)
    assert await _envelope_for(database, opened.case_id, attacker) is None
    assert await _tips_to(database, opened.case_id, attacker) == 0
    assert await _envelope_for(database, opened.case_id, world.supervisor) is not None  # legit row passes
    assert await _tips_to(database, opened.case_id, world.supervisor) == 1
    async with database.transaction() as session:
        assert await officers.officer_for_chat(session, ATTACKER_CHAT) is None  # the /case officer check
        assert await officers.chat_of(session, attacker) is None
        assert not await intake.is_recipient(session, opened.case_id, attacker)
        assert (await officers.officer_for_chat(session, 9_000_004)) is not None  # the real supervisor
        # Even a share row written beside it does not make the attacker a recipient.
        session.add(
            CaseRecipient(
                case_id=opened.case_id, officer_id=attacker, granted_at=now, granted_by=Grant.RESEAL
            )
        )
    async with database.transaction() as session:
        assert not await intake.is_recipient(session, opened.case_id, attacker)
        assert attacker not in {r.officer_id for r in await intake.recipients_of(session, opened.case_id)}
    assert (attacker, None) in await _forged_alerts(database, AlertKind.DIRECTORY_FORGED)

    # Positive control: the same row authenticated by the key holder is sealed the next case, and the
    # attacker's own private key opens it. So the checks above would see the attack if it worked.
    async with database.transaction() as session:
        row = await session.get(Officer, attacker)
        assert row is not None
        directory_auth.sign(session, row)
    control = await open_report(database, keys, policy, now, None, "second report", urgent=True)
    envelope = await _envelope_for(database, control.case_id, attacker)
    assert envelope is not None
    assert await _tips_to(database, control.case_id, attacker) == 1
    async with database.transaction() as session:
        message = await session.scalar(select(CaseMessage).where(CaseMessage.case_id == control.case_id))
        assert message is not None
        assert sealing.open_message(message, envelope, attacker_key, attacker)["text"] == "second report"


async def test_a_swapped_chat_id_receives_no_tip_and_raises_an_alert(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    queued = await open_report(database, keys, policy, now, world.north, "queued before the swap")
    assert await _tips_to(database, queued.case_id, world.north_officer) == 1
    async with database.transaction() as session:
        real_chat = await officers.chat_of(session, world.north_officer)  # legit row passes
    assert real_chat is not None
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE officers SET telegram_chat_id = :chat WHERE id = :id"),
            {"chat": ATTACKER_CHAT, "id": world.north_officer},
        )
    # The tip already queued for this officer: the check before the send refuses it, and alerts.
    async with database.transaction() as session:
        assert await officers.chat_of(session, world.north_officer) is None
    assert (world.north_officer, None) in await _forged_alerts(database, AlertKind.DIRECTORY_FORGED)
    opened = await open_report(database, keys, policy, now, world.north, "someone sells vapes in the gym")
    async with database.transaction() as session:
        rows = list(await session.scalars(select(Delivery).where(Delivery.case_id == opened.case_id)))
        chats = {
            await officers.chat_of(session, row.officer_id) for row in rows if row.officer_id is not None
        }
        assert await officers.chat_of(session, world.north_officer) is None
        assert await officers.officer_for_chat(session, ATTACKER_CHAT) is None
    assert ATTACKER_CHAT not in chats
    assert [r.officer_id for r in rows if r.kind == DeliveryKind.TIP] == [world.north_backup]  # went on up
    assert any(
        officer == world.north_officer
        for officer, _ in await _forged_alerts(database, AlertKind.DIRECTORY_FORGED)
    )

    # Positive control: had the swap been authenticated (by the key holder), the send would go there.
    async with database.transaction() as session:
        row = await session.get(Officer, world.north_officer)
        assert row is not None
        directory_auth.sign(session, row)
    async with database.transaction() as session:
        assert await officers.chat_of(session, world.north_officer) == ATTACKER_CHAT
        assert world.north_officer in await routing.receivers_at(session, world.north, routing.PRIMARY, now)


async def _forge_officer_reply(
    database: Database, case_id: int, author: int, now: datetime, words: str
) -> int:
    """A reply sealed with nothing but public keys from the database, inserted by a writer."""
    async with database.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        seq = case.message_count + 1
        case.message_count = seq
        content_key = crypto.random_key()
        body = sealing.encode_body({"text": words})
        sealed = crypto.seal(content_key, body, sealing.message_aad(case_id, seq, Direction.OFFICER))
        message = CaseMessage(
            case_id=case_id, seq=seq, direction=Direction.OFFICER, author_officer_id=author,
            created_at=now, nonce=sealed.nonce, ciphertext=sealed.ciphertext,
        )  # fmt: skip
        session.add(message)
        await session.flush()
        session.add(
            sealing.envelope_row(
                message.id, RecipientKind.STUDENT, None, content_key, case.student_public_key,
                sealing.envelope_context(case_id, seq, sealing.STUDENT),
            )
        )  # fmt: skip
        for officer_id, public_key in (
            await session.execute(
                select(Officer.id, Officer.public_key)
                .join(CaseRecipient, CaseRecipient.officer_id == Officer.id)
                .where(CaseRecipient.case_id == case_id)
            )
        ).all():
            session.add(
                sealing.envelope_row(
                    message.id, RecipientKind.OFFICER, officer_id, content_key, public_key,
                    sealing.envelope_context(case_id, seq, officer_id),
                )
            )  # fmt: skip
        return message.id


async def test_an_officer_message_forged_with_public_keys_is_refused(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "a teacher keeps texting me")
    await officer_reply(
        database, keys, policy, now, opened.case_id, world.north_officer, "I hear you. Where?"
    )
    forged_id = await _forge_officer_reply(
        database, opened.case_id, world.north_officer, now, "It's fine, just delete your messages."
    )

    # It decrypts fine for the student (the sealing is right): only the MAC tells it apart.
    code = CaseCode.parse(opened.code)
    async with database.transaction() as session:
        case = await session.get(Case, opened.case_id)
        message = await session.get(CaseMessage, forged_id)
        envelope = await session.scalar(
            select(KeyEnvelope).where(KeyEnvelope.message_id == forged_id, KeyEnvelope.officer_id.is_(None))
        )
        assert case is not None
        assert message is not None
        assert envelope is not None
        plain = sealing.open_message(
            message, envelope, code.student_key(case.student_key_salt), sealing.STUDENT
        )
        assert plain["text"].startswith("It's fine")

    async with database.transaction() as session:
        view = await reading.read_case_as_student(session, keys, opened.code)
        thread = await reading.read_case_as_officer(session, keys, opened.case_id, world.north_officer)
    for shown in (view, thread):
        texts = [m.body["text"] for m in shown.messages]
        assert texts == ["a teacher keeps texting me", "I hear you. Where?"]  # the genuine reply passes
        assert shown.withheld == 1
    assert (None, opened.case_id) in await _forged_alerts(database, AlertKind.TAMPERED_MESSAGE)

    # Positive control: authenticated by the key holder, the same message is shown to the student.
    async with database.transaction() as session:
        message = await session.get(CaseMessage, forged_id)
        assert message is not None
        directory_auth.sign(session, message)
    async with database.transaction() as session:
        view = await reading.read_case_as_student(session, keys, opened.code)
    assert view.withheld == 0
    assert view.messages[-1].body["text"].startswith("It's fine")


async def test_rows_without_a_mac_are_adopted_once_at_first_use_and_refused_after(
    database: Database, keys: KeyRing, master: MasterKey, policy: CasePolicy, now: datetime
) -> None:
    """Migration 0004 leaves existing rows without a MAC: the first start holding the key adopts them."""
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "from before the upgrade")
    async with database.transaction() as session:  # the database as 0004 leaves an older one
        for table in ("officers", "assignments", "case_recipients", "case_messages"):
            await session.execute(text(f"UPDATE {table} SET mac = NULL"))  # noqa: S608 (fixed names)
        await session.execute(text("DELETE FROM server_keys WHERE name = 'directory'"))
    # Control: without adoption nothing verifies, so nobody would receive anything.
    async with database.transaction() as session:
        assert await officers.chat_of(session, world.north_officer) is None
    async with database.transaction() as session:
        await session.execute(text("DELETE FROM alerts"))
        await session.execute(text("DELETE FROM outbox"))
    fresh = Database.connect(str(database.engine.url.render_as_string(hide_password=False)))
    try:
        async with fresh.transaction() as session:
            upgraded = await KeyRing.load(session, master, now)  # the first start after the upgrade
            assert any(e.action == "directory.adopted" for e in await audit.list_events(session))
        async with fresh.transaction() as session:
            assert await officers.chat_of(session, world.north_officer) == 9_000_001
            view = await reading.read_case_as_student(session, upgraded, opened.code)
            assert view.withheld == 0
            assert view.messages[0].body["text"] == "from before the upgrade"
        # A row planted after that first start is not adopted: it stays refused.
        attacker, _ = await _insert_attacker_supervisor(fresh, now)
        async with fresh.transaction() as session:
            assert await officers.chat_of(session, attacker) is None
        async with fresh.transaction() as session:
            await KeyRing.load(session, master, now)  # later starts adopt nothing
        async with fresh.transaction() as session:
            assert await officers.chat_of(session, attacker) is None
            assert await session.scalar(select(Officer.mac).where(Officer.id == attacker)) is None
    finally:
        await fresh.close()


async def test_an_inserted_assignment_does_not_give_another_schools_officer_the_case(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """A writer assigns a real officer of another school to this one: no envelope, no tip."""
    world = await build_world(database, keys, policy, now)
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO assignments (officer_id, school_id, kind, starts_at)"
                " VALUES (:officer, :school, 'primary', :now)"
            ),
            {"officer": world.south_officer, "school": world.north, "now": now},
        )
    opened = await open_report(database, keys, policy, now, world.north, "north only")
    assert await _envelope_for(database, opened.case_id, world.south_officer) is None
    assert await _tips_to(database, opened.case_id, world.south_officer) == 0
    assert await _tips_to(database, opened.case_id, world.north_officer) == 1  # the genuine primary
    assert (world.south_officer, None) in await _forged_alerts(database, AlertKind.DIRECTORY_FORGED)
    # Positive control: the same assignment, authenticated by the key holder, is sealed and routed to.
    async with database.transaction() as session:
        for row in await session.scalars(select(Assignment).where(Assignment.mac.is_(None))):
            directory_auth.sign(session, row)
    control = await open_report(database, keys, policy, now, world.north, "north again")
    assert await _envelope_for(database, control.case_id, world.south_officer) is not None
    assert await _tips_to(database, control.case_id, world.south_officer) == 1


async def test_deleting_the_directory_key_does_not_get_planted_rows_adopted(
    database: Database, keys: KeyRing, master: MasterKey, policy: CasePolicy, now: datetime
) -> None:
    """A writer deletes the 'directory' key so that the next start "adopts" their planted row: refused."""
    await build_world(database, keys, policy, now)
    attacker, _ = await _insert_attacker_supervisor(database, now)
    async with database.transaction() as session:
        await session.execute(text("DELETE FROM server_keys WHERE name = 'directory'"))
    restarted = Database.connect(database.engine.url.render_as_string(hide_password=False))
    try:
        with pytest.raises(MasterKeyError, match="tampered"):
            async with restarted.transaction() as session:  # the start fails: nothing is committed
                await KeyRing.load(session, master, now)
        async with restarted.transaction() as session:
            assert await session.scalar(select(Officer.mac).where(Officer.id == attacker)) is None
            assert await session.scalar(select(func.count()).select_from(ServerKey)) == 5  # nothing created
    finally:
        await restarted.close()


async def test_an_inserted_share_lists_nothing_and_opens_nothing(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """A writer shares a north case with the south officer (a `case_recipients` row): refused."""
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "north only")
    async with database.transaction() as session:
        share = CaseRecipient(
            case_id=opened.case_id, officer_id=world.south_officer, granted_at=now, granted_by=Grant.RESEAL
        )
        session.add(share)
    async with database.transaction() as session:
        listed = await reading.list_officer_cases(session, world.south_officer)
        assert opened.case_id not in [c.case_id for c in listed]
        assert not await intake.is_recipient(session, opened.case_id, world.south_officer)
        assert world.south_officer not in {
            r.officer_id for r in await intake.recipients_of(session, opened.case_id)
        }
    # Positive control: the same share, authenticated by the key holder, is listed.
    async with database.transaction() as session:
        stored = await session.get(CaseRecipient, (opened.case_id, world.south_officer))
        assert stored is not None
        directory_auth.sign(session, stored)
    async with database.transaction() as session:
        listed = await reading.list_officer_cases(session, world.south_officer)
        assert opened.case_id in [c.case_id for c in listed]
