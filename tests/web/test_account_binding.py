"""What someone who can read or write the database, but not the web key file, can do to dashboard accounts.

Each attempt is made as such a person would, with SQL on the real tables (no key), then tried through
the dashboard's HTTP surface; each has its positive control (the untouched account, or the operator's
`sro` path, which holds the web key, works).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, insert, select, update

from storage.models import (
    ThrottleScope,
    WebAccount,
    WebAccountSchool,
    WebLoginFailure,
    WebRole,
    WebSession,
)
from tests.storage.fixtures import Templates
from tests.web.conftest import NOW, PASSWORD, WEB_KEY, Site, add_person, copy_template, login, next_code
from tests.web.server import ROOT
from web import accounts
from web.app import SESSION_COOKIE
from web.web_key import WebKey, WebKeyError, load_web_key, read_web_key_file, write_web_key_file


async def _row(site: Site, email: str) -> WebAccount:
    async with site.db.transaction() as session:
        account = await session.scalar(select(WebAccount).where(WebAccount.email == email))
        assert account is not None
        return account


async def test_a_reader_finds_no_second_factor_and_a_moved_one_does_not_work(site: Site) -> None:
    ann = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    bob = await add_person(site.db, "bob@example.org", WebRole.COORDINATOR, [])
    assert ann.secret is not None
    row = await _row(site, ann.email)
    assert row.totp_sealed is not None
    assert ann.secret.encode() not in row.totp_sealed  # sealed, not stored as it is
    # A writer puts Ann's sealed secret on Bob's row, hoping Ann's codes open Bob's account.
    async with site.db.transaction() as session:
        await session.execute(
            update(WebAccount).where(WebAccount.email == bob.email).values(totp_sealed=row.totp_sealed)
        )
    client = site.fresh_client()
    assert (await login(client, bob.email, PASSWORD, next_code(ann))).status_code == 401
    assert (await login(client, bob.email, PASSWORD, next_code(bob, steps=2))).status_code == 401
    # Control: Ann's own row, untouched, signs in with her code.
    assert (await login(site.fresh_client(), ann.email, PASSWORD, next_code(ann))).status_code == 303


async def test_a_writer_cannot_add_an_account(site: Site) -> None:
    mine = await add_person(site.db, "pat@example.org", WebRole.SCHOOL, ["MID"])  # the writer's own
    row = await _row(site, mine.email)
    # A coordinator row of their making: a password they know, their own sealed secret and binding.
    async with site.db.transaction() as session:
        await session.execute(
            insert(WebAccount).values(
                name="Eve", email="eve@example.org", role=WebRole.COORDINATOR, active=True, created_at=NOW,
                password_hash=PasswordHasher().hash(PASSWORD), totp_sealed=row.totp_sealed,
                binding=row.binding,
            )
        )  # fmt: skip
    refused = await login(site.fresh_client(), "eve@example.org", PASSWORD, next_code(mine))
    assert refused.status_code == 401
    # Control: the writer's own account, as `sro` bound it, signs in.
    assert (await login(site.fresh_client(), mine.email, PASSWORD, next_code(mine))).status_code == 303


async def test_a_writer_cannot_widen_a_school_account_and_its_session_ends(site: Site) -> None:
    pat = await add_person(site.db, "pat@example.org", WebRole.SCHOOL, ["MID"])
    client = site.fresh_client()
    assert (await login(client, pat.email, PASSWORD, next_code(pat))).status_code == 303
    assert (await client.get("/schools")).status_code == 200  # control: signed in, sees MID
    async with site.db.transaction() as session:  # BIG added behind sro's back
        await session.execute(
            insert(WebAccountSchool).values(
                account_id=(await _row(site, pat.email)).id, school_id=site.ids["BIG"]
            )
        )
    answer = await client.get("/schools?school=BIG")
    assert answer.status_code == 303  # the session ended: the row no longer verifies
    assert answer.headers["location"] == "/login"
    assert (await login(site.fresh_client(), pat.email, PASSWORD, next_code(pat, steps=2))).status_code == 401
    # Promoted to coordinator instead (the school taken away again): refused as well.
    async with site.db.transaction() as session:
        await session.execute(delete(WebAccountSchool).where(WebAccountSchool.school_id == site.ids["BIG"]))
        await session.execute(
            update(WebAccount).where(WebAccount.email == pat.email).values(role=WebRole.COORDINATOR)
        )
    assert (await login(site.fresh_client(), pat.email, PASSWORD, next_code(pat, steps=2))).status_code == 401
    # Control: as it was bound (a school account of MID), it signs in again (a minute on, for a code
    # of a newer time step than the one it last used).
    later = NOW + timedelta(minutes=1)
    site.config.clock = lambda: later
    async with site.db.transaction() as session:
        await session.execute(
            update(WebAccount).where(WebAccount.email == pat.email).values(role=WebRole.SCHOOL)
        )
    assert (await login(site.fresh_client(), pat.email, PASSWORD, next_code(pat, later))).status_code == 303


async def test_a_writer_cannot_enable_a_disabled_account(site: Site) -> None:
    bob = await add_person(site.db, "bob@example.org", WebRole.COORDINATOR, [])
    async with site.db.transaction() as session:
        await accounts.disable_account(session, WEB_KEY, bob.email, NOW)
    async with site.db.transaction() as session:
        await session.execute(update(WebAccount).where(WebAccount.email == bob.email).values(active=True))
    assert (await login(site.fresh_client(), bob.email, PASSWORD, next_code(bob))).status_code == 401
    # Control: the operator's reset (with the key) enables it, and its new setup link works.
    async with site.db.transaction() as session:
        token = await accounts.reset_account(session, WEB_KEY, bob.email, NOW)
        assert await accounts.account_for_setup(session, WEB_KEY, token, NOW) is not None


async def test_a_writer_cannot_make_or_move_a_session(site: Site) -> None:
    ann = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    pat = await add_person(site.db, "pat@example.org", WebRole.SCHOOL, ["MID"])
    ann_id, pat_id = (await _row(site, ann.email)).id, (await _row(site, pat.email)).id
    # A session row for a token of the writer's choosing, hashed as they can (any key but the web key).
    forged = f"{ann_id}.{'A' * 43}"
    async with site.db.transaction() as session:
        session.add(
            WebSession(
                token_hash=WebKey.generate().token_hash(accounts.SESSION, forged),
                account_id=ann_id, csrf_token="x", created_at=NOW, last_seen_at=NOW,
            )
        )  # fmt: skip
    visitor = site.fresh_client()
    visitor.cookies.set(SESSION_COOKIE, forged)
    assert (await visitor.get("/")).status_code == 303
    # The writer's own school session, moved onto the coordinator's account.
    client = site.fresh_client()
    assert (await login(client, pat.email, PASSWORD, next_code(pat))).status_code == 303
    assert "BIG" not in (await client.get("/schools")).text  # control: a MID session
    async with site.db.transaction() as session:
        await session.execute(
            update(WebSession).where(WebSession.account_id == pat_id).values(account_id=ann_id)
        )
    answer = await client.get("/schools")
    assert answer.status_code == 303
    assert "BIG" not in answer.text


async def test_a_reader_cannot_tell_which_address_or_email_failed_to_sign_in(site: Site) -> None:
    """A failed sign-in's throttle keys were plain SHA-256 of the email and of the address: a reader
    of web_login_failures could find the address by hashing all 2^32 IPv4 ones, and test emails. They
    are keyed with the web key now: the same failure under another key leaves other keys."""

    async def failure_keys(config_key: WebKey) -> dict[ThrottleScope, bytes]:
        site.config.web_key = config_key
        client = site.fresh_client()
        response = await login(client, "ann@example.org", "a wrong password", "000000")
        assert response.status_code == 401
        async with site.db.transaction() as session:
            rows = (await session.execute(select(WebLoginFailure.scope, WebLoginFailure.key_hash))).all()
            await session.execute(delete(WebLoginFailure))
        return {ThrottleScope(scope): key for scope, key in rows}

    ours = await failure_keys(WEB_KEY)
    assert ours[ThrottleScope.ADDRESS] != hashlib.sha256(b"address\x00" + b"127.0.0.1").digest()
    assert ours[ThrottleScope.ACCOUNT] != hashlib.sha256(b"account\x00" + b"ann@example.org").digest()
    assert len(ours[ThrottleScope.ADDRESS]) == len(ours[ThrottleScope.ACCOUNT]) == 32  # the column's size
    assert await failure_keys(WEB_KEY) == ours  # control: the same failure, the same keys (they count)
    other = await failure_keys(WebKey.generate())
    assert other[ThrottleScope.ADDRESS] != ours[ThrottleScope.ADDRESS]
    assert other[ThrottleScope.ACCOUNT] != ours[ThrottleScope.ACCOUNT]


def test_a_web_key_file_others_can_read_is_refused(tmp_path: Path, migrated_templates: Templates) -> None:
    path = tmp_path / "web.key"
    write_web_key_file(path, WEB_KEY)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read_web_key_file(path).encoded() == WEB_KEY.encoded()  # control: the private file is read
    path.chmod(0o640)
    with pytest.raises(WebKeyError, match="chmod 600"):
        read_web_key_file(path)
    # The dashboard process refuses to start with it.
    url = copy_template(migrated_templates, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SRO_MASTER_KEY", "WEB_", "PORT"))}
    done = subprocess.run(
        [sys.executable, "-m", "web"],
        env={**env, "DATABASE_URL": url, "WEB_KEY_FILE": str(path), "WEB_PORT": "1"},
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "can be read by other users" in done.stderr


def test_with_postgresql_a_web_key_file_must_be_given(tmp_path: Path) -> None:
    with pytest.raises(WebKeyError, match="with PostgreSQL set WEB_KEY_FILE"):
        load_web_key(None, sqlite=False, local_file=tmp_path / "web.key")
    assert not (tmp_path / "web.key").exists()  # nothing made behind the operator's back
    # Control: with SQLite on this machine the local key is made once, private, and then reused.
    made = load_web_key(None, sqlite=True, local_file=tmp_path / "web.key")
    assert (tmp_path / "web.key").stat().st_mode & 0o777 == 0o600
    assert load_web_key(None, sqlite=True, local_file=tmp_path / "web.key").encoded() == made.encoded()
