"""Changing who can read a case after it was sealed: an explicit, audit-logged re-seal, or a revocation.

The server cannot decrypt a case on its own behalf: it holds no key of its
own for content. A re-seal therefore borrows an existing recipient's
private key — a supervisor's or a school officer's, unsealed with the
master key — to unwrap each message's content key, and wraps it once more
for the new officer. That is why it is an admin action (`sro officer assign
--with-history`) and always audit-logged. Revocation deletes the officer's
envelopes: without them, their key opens nothing of the case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from casework.errors import CannotReseal, InactiveOfficer, UnknownCase, UnknownOfficer
from casework.vault import crypto, directory_auth, sealing
from casework.vault.keys import KeyRing
from storage.models import Case, CaseMessage, CaseRecipient, Grant, KeyEnvelope, Officer, RecipientKind


async def grant_access(
    session: AsyncSession, keys: KeyRing, case_id: int, officer_id: int, *, actor: str, now: datetime
) -> bool:
    """Re-seal every message of a case for one more officer; False if they could already read it."""
    officer = await session.get(Officer, officer_id)
    if officer is None:
        raise UnknownOfficer(f"no officer {officer_id}")
    if not officer.active:
        raise InactiveOfficer(f"officer {officer_id} is deactivated")
    if not await directory_auth.officer_ok(session, officer, now):
        raise UnknownOfficer(f"officer {officer_id}'s record failed its authentication")
    if await session.get(Case, case_id) is None:
        raise UnknownCase(f"no case {case_id}")
    if await session.get(CaseRecipient, (case_id, officer_id)) is not None:
        return False
    messages = list(await session.scalars(select(CaseMessage).where(CaseMessage.case_id == case_id)))
    donor_id, donor_envelopes = await _donor(session, case_id, {m.id for m in messages})
    donor = await session.get(Officer, donor_id)
    assert donor is not None  # a foreign key guarantees it
    if not await directory_auth.officer_ok(session, donor, now):
        raise CannotReseal(
            f"the record of officer {donor_id}, whose key would re-seal, failed its authentication"
        )
    donor_keys = keys.officer_keys(donor.id, donor.sealed_private_key, donor.previous_sealed_private_key)
    for message in messages:
        content_key = _unwrap(message, donor_envelopes[message.id], donor_keys, donor_id)
        # Prove the key opens the message before handing it on: never spread a wrong key.
        crypto.open_sealed(
            content_key,
            crypto.Sealed(message.nonce, message.ciphertext),
            sealing.message_aad(case_id, message.seq, message.direction),
        )
        session.add(
            sealing.envelope_row(
                message.id,
                RecipientKind.OFFICER,
                officer_id,
                content_key,
                officer.public_key,
                sealing.envelope_context(case_id, message.seq, officer_id),
            )
        )
    share = CaseRecipient(case_id=case_id, officer_id=officer_id, granted_at=now, granted_by=Grant.RESEAL)
    directory_auth.sign(session, share)
    session.add(share)
    await audit.record_event(
        session,
        actor=actor,
        action="case.resealed",
        case_id=case_id,
        now=now,
        detail=f"for officer {officer_id} ({len(messages)} messages, key of officer {donor_id})",
    )
    return True


def _unwrap(
    message: CaseMessage, envelope: KeyEnvelope, private_keys: list[X25519PrivateKey], officer_id: int
) -> bytes:
    """The content key, with the donor's current key or (during a rotation) their previous one."""
    for private_key in private_keys[:-1]:
        try:
            return sealing.content_key_of(message, envelope, private_key, officer_id)
        except crypto.DecryptionError:
            continue
    return sealing.content_key_of(message, envelope, private_keys[-1], officer_id)


async def _donor(
    session: AsyncSession, case_id: int, message_ids: set[int]
) -> tuple[int, dict[int, KeyEnvelope]]:
    """A current recipient holding an envelope for every message (the lowest id, for determinism)."""
    rows = await session.scalars(
        select(KeyEnvelope)
        .join(
            CaseRecipient,
            (CaseRecipient.officer_id == KeyEnvelope.officer_id) & (CaseRecipient.case_id == case_id),
        )
        .where(KeyEnvelope.message_id.in_(message_ids))
        .order_by(KeyEnvelope.officer_id)
    )
    by_officer: dict[int, dict[int, KeyEnvelope]] = defaultdict(dict)
    for envelope in rows:
        assert envelope.officer_id is not None
        by_officer[envelope.officer_id][envelope.message_id] = envelope
    for officer_id, envelopes in sorted(by_officer.items()):
        if set(envelopes) == message_ids:
            return officer_id, envelopes
    raise CannotReseal(f"no officer holds the keys of every message of case {case_id}")


async def revoke_access(
    session: AsyncSession, case_ids: Iterable[int], officer_id: int, *, actor: str, now: datetime
) -> int:
    """Delete an officer's envelopes and recipient rows for these cases; returns how many cases."""
    revoked = list(
        await session.scalars(
            select(CaseRecipient.case_id).where(
                CaseRecipient.officer_id == officer_id, CaseRecipient.case_id.in_(list(case_ids))
            )
        )
    )
    if not revoked:
        return 0
    await session.execute(
        delete(KeyEnvelope).where(
            KeyEnvelope.officer_id == officer_id,
            KeyEnvelope.message_id.in_(select(CaseMessage.id).where(CaseMessage.case_id.in_(revoked))),
        )
    )
    await session.execute(
        delete(CaseRecipient).where(
            CaseRecipient.officer_id == officer_id, CaseRecipient.case_id.in_(revoked)
        )
    )
    for case_id in revoked:
        await audit.record_event(
            session,
            actor=actor,
            action="case.access_revoked",
            case_id=case_id,
            now=now,
            detail=f"for officer {officer_id}",
        )
    return len(revoked)
