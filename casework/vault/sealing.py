"""Case content in and out of the store: one content key per message, one envelope per recipient.

Associated data binds each ciphertext to its case, position and direction,
and each envelope to its case, message position and recipient, so nothing
can be moved to another case, message or reader without `DecryptionError`.
Bodies are padded to a multiple of PAD_TO bytes before encryption so that
the stored length says little about what was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from casework.delivery.routing import SealingRecipient
from casework.vault import crypto, directory_auth
from storage.models import Base, Case, CaseMessage, Direction, KeyEnvelope, RecipientKind

PAD_TO = 128
# What one sealed message may hold, counted as Telegram counts (UTF-16 code units) over its values:
# six Telegram messages, so a full interview (five answers of up to 4,096 each) always fits whole,
# in any script. Images will be separate sealed blobs with their own limit.
MAX_BODY_UNITS = 6 * 4096
STUDENT = RecipientKind.STUDENT  # an envelope's reader in its associated data, beside officer ids


class BodyTooLong(ValueError):
    """More than MAX_BODY_UNITS in one message: the bot tells the student and keeps the draft."""


def body_units(body: Mapping[str, str]) -> int:
    """The size of a message as Telegram would count its texts: UTF-16 code units of every value."""
    return sum(len(value.encode("utf-16-le")) // 2 for value in body.values())


def message_aad(case_id: int, seq: int, direction: str) -> bytes:
    return f"sro-connect message v1|case={case_id}|seq={seq}|direction={direction}".encode()


def envelope_context(case_id: int, seq: int, recipient: int | str) -> bytes:
    """`recipient`: an officer id, or STUDENT."""
    return f"|case={case_id}|seq={seq}|recipient={recipient}".encode()


def encode_body(body: Mapping[str, str]) -> bytes:
    if not body or not all(isinstance(k, str) and isinstance(v, str) for k, v in body.items()):
        raise ValueError("a message body is a non-empty mapping of strings to strings")
    if body_units(body) > MAX_BODY_UNITS:
        raise BodyTooLong(f"a message body is at most {MAX_BODY_UNITS} UTF-16 code units")
    raw = json.dumps(dict(body), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return raw + b" " * (-len(raw) % PAD_TO)  # JSON ignores trailing spaces


def decode_body(raw: bytes) -> dict[str, str]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise crypto.DecryptionError("the decrypted body is not the JSON we wrote") from error
    if not isinstance(value, dict):
        raise crypto.DecryptionError("the decrypted body is not the JSON we wrote")
    return {str(k): str(v) for k, v in value.items()}


async def next_seq(session: AsyncSession, case_id: int) -> int:
    """The next message number of a case; the UPDATE also locks the case row until commit."""
    seq = await session.scalar(
        update(Case)
        .where(Case.id == case_id)
        .values(message_count=Case.message_count + 1)
        .returning(Case.message_count)
        .execution_options(synchronize_session=False)
    )
    if seq is None:
        raise LookupError(f"no case {case_id}")
    return seq


async def store_message(
    session: AsyncSession,
    case: Case,
    *,
    direction: Direction,
    body: Mapping[str, str],
    recipients: Iterable[SealingRecipient],
    now: datetime,
    author_officer_id: int | None = None,
) -> CaseMessage:
    """Encrypt `body` and store it with envelopes for `recipients` and for the case's student.

    A case's first message is stored with the case itself (`store_first_messages`).
    """
    plaintext = encode_body(body)
    seq = await next_seq(session, case.id)
    content_key = crypto.random_key()
    sealed = crypto.seal(content_key, plaintext, message_aad(case.id, seq, direction))
    message = CaseMessage(
        case_id=case.id,
        seq=seq,
        direction=direction,
        author_officer_id=author_officer_id,
        created_at=now,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
    )
    # Authenticated with the directory key, so that only this server can say who wrote what.
    directory_auth.sign(session, message)
    session.add(message)
    await session.flush()
    readers: list[tuple[RecipientKind, int | None, bytes]] = [
        (RecipientKind.STUDENT, None, case.student_public_key)
    ]
    readers.extend((RecipientKind.OFFICER, r.officer_id, r.public_key) for r in recipients)
    envelopes = seal_envelopes(
        content_key, case.id, seq, [(STUDENT if o is None else o, key) for _, o, key in readers]
    )
    # One multi-row INSERT: nothing in the transaction needs the envelopes as objects.
    await session.execute(
        insert(KeyEnvelope).execution_options(render_nulls=True),  # the student's row: same statement
        [
            {
                "message_id": message.id,
                "recipient_kind": kind,
                "officer_id": officer_id,
                "ephemeral_public_key": envelope.ephemeral_public_key,
                "nonce": envelope.nonce,
                "wrapped_key": envelope.wrapped_key,
            }
            for (kind, officer_id, _), envelope in zip(readers, envelopes, strict=True)
        ],
    )
    return message


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """A new case's first message: its plaintext (`encode_body`) and whom it is sealed for."""

    case_id: int
    student_public_key: bytes
    plaintext: bytes
    recipients: Sequence[SealingRecipient]
    now: datetime


async def store_first_messages(session: AsyncSession, messages: Sequence[FirstMessage]) -> list[int]:
    """`store_message` of new cases' first messages (seq 1, the student's), in two statements for all.

    Returns the messages' ids, in order.
    """
    rows: list[dict[str, object]] = []
    content_keys: list[bytes] = []
    for m in messages:
        content_key = crypto.random_key()
        sealed = crypto.seal(content_key, m.plaintext, message_aad(m.case_id, 1, Direction.STUDENT))
        row = CaseMessage(
            case_id=m.case_id,
            seq=1,
            direction=Direction.STUDENT,
            author_officer_id=None,
            created_at=m.now,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
        )
        directory_auth.sign(session, row)  # as store_message: only this server can say who wrote it
        content_keys.append(content_key)
        rows.append(
            {
                "case_id": m.case_id,
                "seq": 1,
                "direction": Direction.STUDENT,
                "author_officer_id": None,
                "created_at": m.now,
                "nonce": sealed.nonce,
                "ciphertext": sealed.ciphertext,
                "mac": row.mac,
            }
        )
    ids = await insert_returning_ids(session, CaseMessage, rows, "case_id")
    envelopes: list[dict[str, object]] = []
    for m, message_id, content_key in zip(messages, ids, content_keys, strict=True):
        readers: list[tuple[RecipientKind, int | None, bytes]] = [
            (RecipientKind.STUDENT, None, m.student_public_key)
        ]
        readers.extend((RecipientKind.OFFICER, r.officer_id, r.public_key) for r in m.recipients)
        sealed_for = seal_envelopes(
            content_key, m.case_id, 1, [(STUDENT if o is None else o, key) for _, o, key in readers]
        )
        envelopes.extend(
            {
                "message_id": message_id,
                "recipient_kind": kind,
                "officer_id": officer_id,
                "ephemeral_public_key": envelope.ephemeral_public_key,
                "nonce": envelope.nonce,
                "wrapped_key": envelope.wrapped_key,
            }
            for (kind, officer_id, _), envelope in zip(readers, sealed_for, strict=True)
        )
    await session.execute(insert(KeyEnvelope).execution_options(render_nulls=True), envelopes)
    return ids


def core_table(model: type[Base]) -> Table:
    """A model's table, for Core statements of many rows (no unit of work, no objects)."""
    return cast(Table, model.__table__)


async def insert_returning_ids(
    session: AsyncSession, model: type[Base], rows: list[dict[str, object]], key: str
) -> list[int]:
    """INSERT the rows in one statement; their new ids, in the rows' order.

    `key`: a column whose value differs between the rows (a case's code hash, a first message's case):
    each id is matched to its row by it, since RETURNING promises no order, and asking SQLAlchemy to
    sort (`sort_by_parameter_order`) makes it insert row by row on SQLite.
    """
    table = core_table(model)
    if len(rows) == 1:
        return [int(await session.scalar(insert(table).values(rows[0]).returning(table.c.id)) or 0)]
    result = await session.execute(insert(table).returning(table.c.id, table.c[key]), rows)
    found = {value: int(row_id) for row_id, value in result.all()}
    if len(found) != len(rows):
        raise RuntimeError(f"{len(rows)} rows inserted, {len(found)} distinct ids returned by {key}")
    return [found[row[key]] for row in rows]


def seal_envelopes(
    content_key: bytes, case_id: int, seq: int, readers: Sequence[tuple[int | str, bytes]]
) -> list[crypto.Envelope]:
    """A message's content key wrapped for each (officer id or STUDENT, public key), one ephemeral key."""
    return crypto.wrap_key_for_all(
        content_key, [(public_key, envelope_context(case_id, seq, reader)) for reader, public_key in readers]
    )


def envelope_row(
    message_id: int,
    kind: RecipientKind,
    officer_id: int | None,
    content_key: bytes,
    public_key: bytes,
    context: bytes,
) -> KeyEnvelope:
    envelope = crypto.wrap_key(content_key, public_key, context)
    return KeyEnvelope(
        message_id=message_id,
        recipient_kind=kind,
        officer_id=officer_id,
        ephemeral_public_key=envelope.ephemeral_public_key,
        nonce=envelope.nonce,
        wrapped_key=envelope.wrapped_key,
    )


def content_key_of(
    message: CaseMessage, envelope: KeyEnvelope, private_key: X25519PrivateKey, recipient: int | str
) -> bytes:
    stored = crypto.Envelope(envelope.ephemeral_public_key, envelope.nonce, envelope.wrapped_key)
    return crypto.unwrap_key(stored, private_key, envelope_context(message.case_id, message.seq, recipient))


def open_message_with(
    message: CaseMessage,
    envelope: KeyEnvelope,
    private_keys: Sequence[X25519PrivateKey],
    recipient: int | str,
) -> dict[str, str]:
    """`open_message` with the first of several keys that fits (an officer's current, then previous)."""
    for private_key in private_keys[:-1]:
        try:
            return open_message(message, envelope, private_key, recipient)
        except crypto.DecryptionError:
            continue
    return open_message(message, envelope, private_keys[-1], recipient)


def open_message(
    message: CaseMessage, envelope: KeyEnvelope, private_key: X25519PrivateKey, recipient: int | str
) -> dict[str, str]:
    """Decrypt one message with the reader's envelope and private key; `DecryptionError` if altered."""
    content_key = content_key_of(message, envelope, private_key, recipient)
    sealed = crypto.Sealed(message.nonce, message.ciphertext)
    return decode_body(
        crypto.open_sealed(content_key, sealed, message_aad(message.case_id, message.seq, message.direction))
    )
