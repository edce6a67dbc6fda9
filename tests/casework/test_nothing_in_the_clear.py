"""Nothing a student wrote, no case code and no student chat id is stored in the clear, in any encoding.

Positive control first: the distinctive texts do decrypt back, so the test
cannot pass by storing nothing. Then everything stored is read — every
column of every table, the raw SQLite file with its -wal, a pg_dump — and
searched for each secret as UTF-8, UTF-16, hex and base64, for every case
code in every typing, and for every student chat id as decimal text and
as 4- and 8-byte big- and little-endian integers.
"""

from __future__ import annotations

import base64
import os
import subprocess
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from casework.cases import drafts, intake, reading
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Base, Direction
from tests.casework.world import build_world, open_report
from tests.storage.fixtures import DatabaseUnderTest

SECRETS = [
    "Jordan from 10B hides a folding knife in the music room piano",
    "ZEBRA-CANARY-4471 my stepdad hits me when he drinks",
    "Wiadomość: ktoś sprzedaje tabletki przy szafkach 🚨",
]
REPLY = "OFFICER-REPLY-CANARY-9902 thank you, stay safe"
DRAFT = "DRAFT-CANARY-3310 I am still typing this"
STUDENT_CHATS = [1_234_567, 5_987_654_321]  # one fits in 4 bytes, one needs 8


def encodings(secret: bytes) -> list[bytes]:
    """The secret as it could appear: raw, UTF-16, hex, and base64 at each of the 3 alignments."""
    found = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    as_text = secret.decode("utf-8", errors="ignore")
    found += [as_text.encode("utf-16-le"), as_text.encode("utf-16-be")]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + secret)
            # Drop the characters that mix in the padding bytes before and the unknown bytes after.
            found.append(encoded[(shift * 4 + 2) // 3 + 1 : -4])
    return [needle for needle in found if len(needle) >= 8]


def chat_id_forms(chat_id: int) -> list[bytes]:
    forms = [str(chat_id).encode()]
    for size in (4, 8):
        if chat_id < 2 ** (8 * size - 1):
            forms += [chat_id.to_bytes(size, "big"), chat_id.to_bytes(size, "little")]
    return forms


def code_forms(code: str) -> list[bytes]:
    compact = code.replace("-", "")
    forms = {code, compact, code.lower(), compact.lower(), compact[:-1], compact[:-1].lower()}
    return [f.encode() for f in forms] + [e for f in (compact, compact[:-1]) for e in encodings(f.encode())]


async def everything_stored(database: Database, where: DatabaseUnderTest) -> bytes:
    parts: list[bytes] = []
    async with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    parts.append(value if isinstance(value, bytes) else str(value).encode())
        if where.backend == "sqlite":
            await session.execute(text("SELECT 1"))
    if where.sqlite_path is not None:
        for suffix in ("", "-wal", "-shm"):
            path = where.sqlite_path.with_name(where.sqlite_path.name + suffix)
            if path.exists():
                parts.append(path.read_bytes())
        assert where.sqlite_path.with_name(where.sqlite_path.name + "-wal").exists(), "WAL mode is on"
    else:
        url = make_url(where.url)
        dump = subprocess.run(  # noqa: ASYNC221 (a test reading a dump, nothing else runs)
            [
                "pg_dump",
                "-h",
                url.host or "",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "",
                url.database or "",
            ],
            env={**os.environ, "PGPASSWORD": url.password or ""},
            capture_output=True,
            check=True,
        )
        parts.append(dump.stdout)
    return b"\n".join(parts)


async def test_nothing_readable_is_stored(
    database: Database, test_database: DatabaseUnderTest, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = []
    for n, secret in enumerate(SECRETS):
        opened.append(
            await open_report(
                database, keys, policy, now, world.north if n % 2 else None, secret, urgent=n == 1,
                notify_chat_id=STUDENT_CHATS[n % 2],
            )
        )  # fmt: skip
    async with database.transaction() as session:
        await intake.add_message(
            session, keys, policy, opened[0].case_id, direction=Direction.OFFICER, body={"text": REPLY},
            now=now + timedelta(minutes=1), author_officer_id=world.supervisor,
        )  # fmt: skip
        await drafts.save_state(session, keys, keys.pseudonym(STUDENT_CHATS[0]), {"text": DRAFT}, now)

    # Positive control: it is all there, and it decrypts.
    async with database.transaction() as session:
        for case, secret in zip(opened, SECRETS, strict=True):
            view = await reading.read_case_as_student(session, keys, case.code)
            assert view.messages[0].body["text"] == secret
        thread = await reading.read_case_as_officer(session, keys, opened[0].case_id, world.supervisor)
        assert thread.messages[1].body["text"] == REPLY
        assert await intake.notify_address(session, keys, opened[1].case_id) == STUDENT_CHATS[1]
        state = await drafts.load_state(session, keys, keys.pseudonym(STUDENT_CHATS[0]), now)
        assert state == {"text": DRAFT}

    stored = await everything_stored(database, test_database)
    assert len(stored) > 10_000  # we really read the database
    for secret in [*SECRETS, REPLY, DRAFT]:
        for needle in encodings(secret.encode()):
            assert needle not in stored, f"a message is stored readably ({needle[:20]!r}...)"
        for word in secret.split():
            if len(word) >= 10:
                assert word.encode() not in stored
    for case in opened:
        for needle in code_forms(case.code):
            assert needle not in stored, "a case code is stored"
        # The case's label ("🦊 fox") is sealed too (positive control: it was made, and it opens).
        async with database.transaction() as session:
            assert await intake.case_label(session, keys, case.case_id) == case.label != ""
        for needle in encodings(case.label.encode()):
            assert needle not in stored, "a case label is stored readably"
    for chat_id in STUDENT_CHATS:
        for needle in chat_id_forms(chat_id):
            assert needle not in stored, f"a student chat id is stored ({len(needle)} bytes)"


def test_the_needles_would_be_found() -> None:
    """The search itself works: each encoding of a secret is found inside a larger blob."""
    secret = SECRETS[0].encode()
    for blob in (
        b"xx" + secret + b"yy",
        b"..." + base64.b64encode(b"prefix" + secret + b"suffix") + b"...",
        b"\\x" + (b"ab" + secret).hex().encode(),
        ("zz" + SECRETS[0]).encode("utf-16-le"),
    ):
        assert any(needle in blob for needle in encodings(secret))
    assert any(
        form in b"\x00" + STUDENT_CHATS[1].to_bytes(8, "little") for form in chat_id_forms(STUDENT_CHATS[1])
    )
