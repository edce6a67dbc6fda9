"""Step 2 of a key rotation: the officer envelopes of older messages re-wrapped, batch by batch.

`rotation.begin` gave every officer a new key pair and kept the old private
key sealed beside it; here each message up to the rotation's boundary has its
content key unwrapped with some recipient's old key and wrapped again for every
officer's new public key, then is re-authenticated under the new directory
key. Resumable: each batch is its own transaction and records how far it got.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.vault import crypto, directory_auth, sealing
from casework.vault.keys import PREVIOUS_KEY_PURPOSE, KeyGeneration, KeyRing
from casework.vault.rotation import stamp
from storage.models import CaseMessage, CaseRecipient, KeyEnvelope, KeyRotation, Officer, RecipientKind

BATCH_SIZE = 200


async def reseal_batch(
    session: AsyncSession, keys: KeyRing, now: datetime, *, batch_size: int = BATCH_SIZE
) -> int:
    """Step 2, repeated: re-wrap the officer envelopes of the next messages; returns how many (0: done)."""
    rotation = await session.scalar(
        select(KeyRotation).where(KeyRotation.finished_at.is_(None)).with_for_update()
    )
    if rotation is None:
        return 0
    generation = keys.current
    messages = list(
        await session.scalars(
            select(CaseMessage)
            .where(CaseMessage.id > rotation.done_through, CaseMessage.id <= rotation.boundary_message_id)
            .order_by(CaseMessage.id)
            .limit(batch_size)
        )
    )
    if not messages:
        return 0
    envelopes: dict[int, list[KeyEnvelope]] = {}
    for envelope in await session.scalars(
        select(KeyEnvelope).where(
            KeyEnvelope.message_id.in_([m.id for m in messages]),
            KeyEnvelope.recipient_kind == RecipientKind.OFFICER,
        )
    ):
        envelopes.setdefault(envelope.message_id, []).append(envelope)
    officers = {o.id: o for o in await session.scalars(select(Officer))}
    for share in await session.scalars(
        select(CaseRecipient).where(CaseRecipient.case_id.in_({m.case_id for m in messages}))
    ):
        if _previous_generation_genuine(generation, share):
            stamp(generation, share)
    previous_keys: dict[int, X25519PrivateKey | None] = {}
    for message in messages:
        if not _previous_generation_genuine(generation, message):
            continue  # forged (or already re-signed by a crash-resumed batch): left as it is
        content_key = _content_key(
            generation, message, envelopes.get(message.id, []), officers, previous_keys
        )
        if content_key is not None:
            _rewrap(message, content_key, envelopes.get(message.id, []), officers)
        stamp(generation, message)
    rotation.done_through = messages[-1].id
    return len(messages)


def _rewrap(
    message: CaseMessage, content_key: bytes, envelopes: list[KeyEnvelope], officers: dict[int, Officer]
) -> None:
    """Wrap the key again for each officer's new public key: the current envelope version, whichever
    version the old envelope had (one ephemeral key for the message's officer envelopes)."""
    held = [(e, o) for e in envelopes if (o := officers.get(e.officer_id or 0)) is not None]
    fresh = sealing.seal_envelopes(
        content_key, message.case_id, message.seq, [(o.id, bytes(o.public_key)) for _, o in held]
    )
    for (envelope, _), new in zip(held, fresh, strict=True):
        envelope.ephemeral_public_key, envelope.nonce, envelope.wrapped_key = (
            new.ephemeral_public_key,
            new.nonce,
            new.wrapped_key,
        )


def _previous_generation_genuine(generation: KeyGeneration, row: CaseMessage | CaseRecipient) -> bool:
    previous = generation.previous_directory_key
    return (
        previous is not None
        and row.mac is not None
        and row.mac == directory_auth.compute_mac(previous, generation.version - 1, row)
    )


def _content_key(
    generation: KeyGeneration,
    message: CaseMessage,
    envelopes: list[KeyEnvelope],
    officers: dict[int, Officer],
    previous_keys: dict[int, X25519PrivateKey | None],
) -> bytes | None:
    """The message's content key, unwrapped with some recipient's previous private key."""
    for envelope in envelopes:
        officer = officers.get(envelope.officer_id or 0)
        if officer is None:
            continue
        if officer.id not in previous_keys:
            previous_keys[officer.id] = _previous_private(generation, officer)
        private = previous_keys[officer.id]
        if private is None:
            continue
        try:
            return sealing.content_key_of(message, envelope, private, officer.id)
        except crypto.DecryptionError:
            continue
    return None


def _previous_private(generation: KeyGeneration, officer: Officer) -> X25519PrivateKey | None:
    if officer.previous_sealed_private_key is None:
        return None
    raw = generation.master.unseal(PREVIOUS_KEY_PURPOSE, str(officer.id), officer.previous_sealed_private_key)
    return crypto.private_key_from_bytes(raw)


def previous_private_key(keys: KeyRing, officer: Officer) -> X25519PrivateKey | None:
    """During a rotation: the officer's old key, for envelopes not yet re-wrapped."""
    return _previous_private(keys.current, officer)
