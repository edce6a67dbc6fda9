"""Dashboard accounts: setup links, argon2id passwords, TOTP, server-side sessions, throttled, audited logins.

Functions take a session and never commit (the caller's `Database.transaction()` does). Nothing here
needs the master key: accounts are the dashboard's own, and what they unlock is protected statistics.
They take the web key instead (web/web_key.py): TOTP secrets are sealed to their account, each account
row carries a MAC of its id, email, role, active flag and schools (a row that does not verify cannot
sign in or stay signed in), and tokens (setup links, session cookies: the account's id and 256 random
bits) are stored only as keyed hashes, so a database reader or writer without the key can neither
sign in with a row it finds or makes, nor clone a second factor, nor widen an account. A failed
sign-in's email and address are keyed hashes too: a reader cannot tell who failed, or from where.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from storage import dialect
from storage.models import (
    School,
    ThrottleScope,
    WebAccount,
    WebAccountSchool,
    WebLoginFailure,
    WebRole,
    WebSession,
    WebSetupToken,
)
from web.web_key import WebKey, account_of, new_token

log = logging.getLogger(__name__)

SETUP_LINK_LIFETIME = timedelta(hours=48)
SESSION_LIFETIME = timedelta(hours=12)  # signed out after this, however active
THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES_ALLOWED = 5  # per account per window: a password guesser gets 5 tries
ADDRESS_FAILURES_ALLOWED = 20  # per address per window: one address trying many accounts
MIN_PASSWORD_LENGTH = 12
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6  # pyotp's default, what authenticator apps show
# pg_advisory_xact_lock(class, key)'s first half for sign-in attempts: "web" and 1.
LOGIN_LOCK_CLASS = 0x77656201
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
# argon2-cffi's defaults are RFC 9106's second recommendation: argon2id, 64 MiB, 3 passes.
_hasher = PasswordHasher()
# Verified against when the email is unknown, so that an unknown address costs the same time.
_DUMMY_HASH = _hasher.hash(new_token(0))
SETUP, SESSION = "setup", "session"  # the token kinds, kept apart in their keyed hashes


class AccountError(ValueError):
    """A bad name, email, role, school or password, in words a coordinator can act on."""


class LoginOutcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # wrong email, password or code, or a disabled account: one answer for all
    THROTTLED = "throttled"  # too many failures lately, for this account or this address


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    account: WebAccount | None = None
    session_token: str | None = None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account: WebAccount
    school_codes: list[str]
    verified: bool  # the row's MAC holds: False if someone changed it in the database


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: the account, its session's CSRF token, and the schools it may see."""

    account_id: int
    name: str
    role: WebRole
    csrf_token: str
    school_ids: frozenset[int] | None  # None: every school (a coordinator)


async def _school_ids(session: AsyncSession, account_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(WebAccountSchool.school_id).where(WebAccountSchool.account_id == account_id)
        )
    )


def _mac(key: WebKey, account: WebAccount, school_ids: list[int]) -> bytes:
    return key.account_mac(account.id, account.email, account.role, account.active, school_ids)


async def _bind(session: AsyncSession, key: WebKey, account: WebAccount) -> None:
    """Authenticate the row as it now is (only `sro` and the setup page, which hold the key, do this)."""
    await session.flush()
    account.binding = _mac(key, account, await _school_ids(session, account.id))


async def _verified(session: AsyncSession, key: WebKey, account: WebAccount) -> list[int] | None:
    """The account's schools if its row verifies, else None (and a warning: someone changed it)."""
    school_ids = await _school_ids(session, account.id)
    if account.binding is not None and hmac.compare_digest(account.binding, _mac(key, account, school_ids)):
        return school_ids
    log.warning("web.account_unverified account=%d", account.id)
    return None


def _actor(account_id: int | None) -> str:
    return f"web:{account_id}" if account_id is not None else "web:unknown"


def normal_email(email: str) -> str:
    return email.strip().lower()


async def create_account(
    session: AsyncSession,
    key: WebKey,
    *,
    name: str,
    email: str,
    role: WebRole,
    school_codes: Sequence[str],
    now: datetime,
) -> WebAccount:
    """A new account without a password; a school account names at least one school, a coordinator none."""
    name, email = " ".join(name.split()), normal_email(email)
    if not 1 <= len(name) <= 120:
        raise AccountError("a name is 1 to 120 characters")
    if not _EMAIL.match(email):
        raise AccountError(f"{email!r} does not look like an email address")
    if await session.scalar(select(WebAccount.id).where(WebAccount.email == email)) is not None:
        raise AccountError(f"an account with email {email!r} already exists (see `sro admin list`)")
    codes = sorted({code.strip().upper() for code in school_codes})
    if role == WebRole.SCHOOL and not codes:
        raise AccountError("a school account needs at least one --school CODE")
    if role == WebRole.COORDINATOR and codes:
        raise AccountError("a coordinator sees every school: give no --school")
    found = {s.code: s for s in await session.scalars(select(School).where(School.code.in_(codes)))}
    missing = [code for code in codes if code not in found]
    if missing:
        raise AccountError(f"no school with code {missing[0]!r} (see `sro school list`)")
    account = WebAccount(name=name, email=email, role=role, active=True, created_at=now)
    session.add(account)
    await session.flush()
    for code in codes:
        session.add(WebAccountSchool(account_id=account.id, school_id=found[code].id))
    await _bind(session, key, account)
    await audit.record_event(session, actor="admin", action="web.account_added", now=now, detail=str(role))
    return account


async def find_account(session: AsyncSession, email: str) -> WebAccount:
    account = await session.scalar(select(WebAccount).where(WebAccount.email == normal_email(email)))
    if account is None:
        raise AccountError(f"no account with email {normal_email(email)!r} (see `sro admin list`)")
    return account


async def issue_setup_token(session: AsyncSession, key: WebKey, account: WebAccount, now: datetime) -> str:
    """A fresh one-time setup token (earlier unused ones stop working)."""
    await session.execute(
        delete(WebSetupToken).where(WebSetupToken.account_id == account.id, WebSetupToken.used_at.is_(None))
    )
    token = new_token(account.id)
    session.add(
        WebSetupToken(
            account_id=account.id,
            token_hash=key.token_hash(SETUP, token),
            created_at=now,
            expires_at=now + SETUP_LINK_LIFETIME,
        )
    )
    await session.flush()
    return token


def setup_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/setup/{token}"


async def _setup_row(session: AsyncSession, key: WebKey, token: str) -> WebSetupToken | None:
    row = await session.scalar(
        select(WebSetupToken).where(WebSetupToken.token_hash == key.token_hash(SETUP, token))
    )
    return row if row is not None and row.account_id == account_of(token) else None


async def account_for_setup(
    session: AsyncSession, key: WebKey, token: str, now: datetime
) -> WebAccount | None:
    """The account a setup token opens: unused, unexpired, active, its row verified; else None."""
    row = await _setup_row(session, key, token)
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    account = await session.get(WebAccount, row.account_id)
    if account is None or not account.active or await _verified(session, key, account) is None:
        return None
    return account


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password is at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise AccountError("a password is at most 1024 characters")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="SRO Connect")


def _totp_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step `code` belongs to (now, or one step either side), if newer than `after`. A code
    is six ASCII digits (spaces aside); anything else is simply wrong (`hmac.compare_digest` raises on
    text that is not ASCII, and a raise would undo the failure's count and audit)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in (current - 1, current, current + 1):
        expected = totp.at(step * TOTP_STEP_SECONDS)
        if hmac.compare_digest(expected, code) and (after is None or step > after):
            return step
    return None


async def complete_setup(
    session: AsyncSession,
    key: WebKey,
    token: str,
    *,
    password: str,
    totp_secret: str | None,
    code: str | None,
    now: datetime,
) -> WebAccount:
    """Set the password (and the second factor, proven by one code); the link is used up."""
    account = await account_for_setup(session, key, token, now)
    if account is None:
        raise AccountError("this setup link has expired or was already used: ask for a new one")
    check_password(password)
    step = None
    if totp_secret is not None:
        step = _totp_step(totp_secret, code or "", now, None)
        if step is None:
            raise AccountError("that code does not match: type the 6 digits your app shows now")
    row = await _setup_row(session, key, token)
    assert row is not None  # account_for_setup found it
    row.used_at = now
    account.password_hash = _hasher.hash(password)
    account.totp_sealed = None if totp_secret is None else key.seal_totp(account.id, totp_secret)
    account.totp_last_step = step
    await audit.record_event(session, actor=_actor(account.id), action="web.setup_done", now=now)
    return account


async def _failures(session: AsyncSession, scope: ThrottleScope, key: bytes, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(WebLoginFailure)
        .where(
            WebLoginFailure.scope == scope,
            WebLoginFailure.key_hash == key,
            WebLoginFailure.at > now - THROTTLE_WINDOW,
        )
    )
    return int(count or 0)


def _keys(email: str, address: str, key: WebKey) -> tuple[bytes, bytes]:
    """The throttle keys of an attempt: its account's and its address's, keyed with the web key."""
    return (
        key.throttle_key(ThrottleScope.ACCOUNT, normal_email(email)),
        key.throttle_key(ThrottleScope.ADDRESS, address),
    )


def _password_ok(account: WebAccount | None, password: str) -> bool:
    try:
        return _hasher.verify(
            account.password_hash if account and account.password_hash else _DUMMY_HASH, password
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def authenticate(
    session: AsyncSession,
    key: WebKey,
    *,
    email: str,
    password: str,
    code: str,
    address: str,
    now: datetime,
    require_totp: bool,
) -> LoginResult:
    """Check a login; on success a new session. Failures are counted per account and per address.

    Attempts on one account or from one address take turns (`_one_at_a_time`), so each counts the
    failures of those before it; and a code's time step is taken by a conditional update, so one
    code signs in once even if two attempts read the same last step.
    """
    account_key, address_key = _keys(email, address, key)
    await _one_at_a_time(session, account_key, address_key)
    await _sweep(session, now)
    account = await session.scalar(select(WebAccount).where(WebAccount.email == normal_email(email)))
    actor = _actor(account.id if account else None)
    if (
        await _failures(session, ThrottleScope.ACCOUNT, account_key, now) >= ACCOUNT_FAILURES_ALLOWED
        or await _failures(session, ThrottleScope.ADDRESS, address_key, now) >= ADDRESS_FAILURES_ALLOWED
    ):
        await audit.record_event(session, actor=actor, action="web.login_throttled", now=now)
        return LoginResult(LoginOutcome.THROTTLED)
    ok = _password_ok(account, password) and account is not None and account.active
    if ok and account is not None:
        ok = await _verified(session, key, account) is not None
    if ok and account is not None and (account.totp_sealed is not None or require_totp):
        secret = None if account.totp_sealed is None else key.open_totp(account.id, account.totp_sealed)
        step = None if secret is None else _totp_step(secret, code, now, account.totp_last_step)
        ok = step is not None and await _take_step(session, account, step)
    if not ok or account is None:
        session.add(WebLoginFailure(scope=ThrottleScope.ACCOUNT, key_hash=account_key, at=now))
        session.add(WebLoginFailure(scope=ThrottleScope.ADDRESS, key_hash=address_key, at=now))
        await audit.record_event(session, actor=actor, action="web.login_refused", now=now)
        return LoginResult(LoginOutcome.REFUSED)
    account.last_login_at = now
    token = new_token(account.id)
    session.add(
        WebSession(
            token_hash=key.token_hash(SESSION, token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    await audit.record_event(session, actor=actor, action="web.login", now=now)
    return LoginResult(LoginOutcome.OK, account, token)


async def _one_at_a_time(session: AsyncSession, *keys: bytes) -> None:
    """Wait until no other sign-in attempt with one of these throttle keys is under way (until this
    transaction ends). On PostgreSQL, at READ COMMITTED, parallel attempts would otherwise all count
    the failures committed before any of them, and each get the full allowance; SQLite's writers
    already take turns (BEGIN IMMEDIATE). The locks are taken in one order, so two attempts never
    wait for each other, and before anything is written."""
    if not dialect.is_postgresql(session):
        return
    for lock in sorted({int.from_bytes(key[:4], "big", signed=True) for key in keys}):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:class, :key)"), {"class": LOGIN_LOCK_CLASS, "key": lock}
        )


async def _take_step(session: AsyncSession, account: WebAccount, step: int) -> bool:
    """Record `step` as the account's newest accepted one, if no attempt recorded it (or a later
    one) meanwhile: the update's row count decides, not what this attempt read before."""
    result = await session.execute(
        update(WebAccount)
        .where(
            WebAccount.id == account.id,
            or_(WebAccount.totp_last_step.is_(None), WebAccount.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return False
    account.totp_last_step = step  # as the row now is (the session's copy was read before)
    return True


async def _sweep(session: AsyncSession, now: datetime) -> None:
    """Forget failures older than the throttle window and sessions past their lifetime."""
    await session.execute(delete(WebLoginFailure).where(WebLoginFailure.at <= now - THROTTLE_WINDOW))
    await session.execute(delete(WebSession).where(WebSession.created_at <= now - SESSION_LIFETIME))


async def viewer_for(
    session: AsyncSession, key: WebKey, token: str, now: datetime, idle: timedelta
) -> Viewer | None:
    """The signed-in viewer of a session cookie, or None (unknown, idle too long, too old, disabled,
    or its account's row changed behind the key's back)."""
    row = await session.get(WebSession, key.token_hash(SESSION, token))
    if row is None:
        return None
    account = await session.get(WebAccount, row.account_id)
    school_ids = None if account is None else await _verified(session, key, account)
    if (
        account is None
        or school_ids is None
        or row.account_id != account_of(token)
        or not account.active
        or row.last_seen_at + idle <= now
        or row.created_at + SESSION_LIFETIME <= now
    ):
        await session.delete(row)
        return None
    row.last_seen_at = now
    schools = frozenset(school_ids) if account.role == WebRole.SCHOOL else None
    return Viewer(account.id, account.name, account.role, row.csrf_token, schools)


async def end_session(session: AsyncSession, key: WebKey, token: str, now: datetime) -> None:
    row = await session.get(WebSession, key.token_hash(SESSION, token))
    if row is not None:
        await audit.record_event(session, actor=_actor(row.account_id), action="web.logout", now=now)
        await session.delete(row)


async def revoke_sessions(session: AsyncSession, account_id: int) -> int:
    result = await session.execute(delete(WebSession).where(WebSession.account_id == account_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def list_accounts(session: AsyncSession, key: WebKey) -> list[AccountInfo]:
    accounts = list(await session.scalars(select(WebAccount).order_by(WebAccount.email)))
    rows = await session.execute(
        select(WebAccountSchool.account_id, School.code).join(School, School.id == WebAccountSchool.school_id)
    )
    codes: dict[int, list[str]] = {}
    for account_id, code in rows.all():
        codes.setdefault(account_id, []).append(code)
    return [
        AccountInfo(a, sorted(codes.get(a.id, [])), await _verified(session, key, a) is not None)
        for a in accounts
    ]


async def disable_account(session: AsyncSession, key: WebKey, email: str, now: datetime) -> WebAccount:
    """No more logins; every session signed out at once."""
    account = await find_account(session, email)
    account.active = False
    await _bind(session, key, account)
    await revoke_sessions(session, account.id)
    await audit.record_event(session, actor="admin", action="web.account_disabled", now=now)
    return account


async def reset_account(session: AsyncSession, key: WebKey, email: str, now: datetime) -> str:
    """Password and second factor cleared, sessions signed out, account enabled and bound again
    (as it now is: the operator vouches for it): a new setup token."""
    account = await find_account(session, email)
    account.password_hash = None
    account.totp_sealed = None
    account.totp_last_step = None
    account.active = True
    await _bind(session, key, account)
    await revoke_sessions(session, account.id)
    await audit.record_event(session, actor="admin", action="web.account_reset", now=now)
    return await issue_setup_token(session, key, account, now)
