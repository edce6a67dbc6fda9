"""`sro admin add|list|disable|reset` through the real entry point, and the audit of logins."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from admin.cli import app
from casework.schools import NewSchool, add_school
from storage.db import Database
from storage.models import AuditEvent, WebRole
from tests.storage.fixtures import DatabaseUnderTest
from tests.web.conftest import NOW, PASSWORD, WEB_KEY, Site, add_person, login, next_code, web_key_file
from web import accounts

LINK = re.compile(r"https://dash\.example\.org/setup/(\d+\.[A-Za-z0-9_-]{43})")


@pytest.fixture
def sro(test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("WEB_KEY_FILE", str(web_key_file(tmp_path)))
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://dash.example.org/")

    async def school() -> None:
        db = Database.connect(test_database.url)
        async with db.transaction() as session:
            await add_school(session, NewSchool.checked("Maple Ridge", "MRC"), NOW)
        await db.close()

    asyncio.run(school())
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return invoke


def test_add_list_disable_and_reset(sro, test_database: DatabaseUnderTest) -> None:  # type: ignore[no-untyped-def]
    added = sro(
        "admin",
        "add",
        "--name",
        "P. Okafor",
        "--email",
        "Okafor@MRC.example",
        "--role",
        "school",
        "--school",
        "mrc",
    )
    token = LINK.search(added.output)
    assert token is not None, added.output  # the public URL, with a token
    assert "48 hours" in added.output
    listed = sro("admin", "list").output
    assert "okafor@mrc.example" in listed
    assert "MRC" in listed
    assert "no (link sent)" in listed
    assert "changed outside sro" not in listed  # bound by sro with the web key
    url = test_database.url

    async def use_link() -> None:
        db = Database.connect(url)
        try:
            async with db.transaction() as session:
                assert await accounts.account_for_setup(session, WEB_KEY, token.group(1), NOW) is not None
                await accounts.complete_setup(
                    session, WEB_KEY, token.group(1), password=PASSWORD, totp_secret=None, code=None, now=NOW
                )
            async with db.transaction() as session:  # used once: gone
                assert await accounts.account_for_setup(session, WEB_KEY, token.group(1), NOW) is None
        finally:
            await db.close()

    asyncio.run(use_link())
    assert "disabled" not in sro("admin", "list").output
    assert "Disabled okafor@mrc.example" in sro("admin", "disable", "okafor@mrc.example").output
    assert "disabled" in sro("admin", "list").output
    reset = sro("admin", "reset", "okafor@mrc.example").output
    again = LINK.search(reset)
    assert again is not None
    assert again.group(1) != token.group(1)

    async def after_reset() -> None:  # enabled, no password until the new link is used
        db = Database.connect(url)
        try:
            async with db.transaction() as session:
                account = await accounts.find_account(session, "okafor@mrc.example")
                assert account.active
                assert account.password_hash is None
                assert await accounts.account_for_setup(session, WEB_KEY, again.group(1), NOW) is not None
        finally:
            await db.close()

    asyncio.run(after_reset())


def test_add_refuses_what_cannot_be(sro) -> None:  # type: ignore[no-untyped-def]
    cases = [
        (["--role", "school"], "at least one --school"),
        (["--role", "school", "--school", "NOPE"], "no school with code 'NOPE'"),
        (["--role", "coordinator", "--school", "MRC"], "give no --school"),
    ]
    for extra, message in cases:
        result = sro("admin", "add", "--name", "X", "--email", "x@example.org", *extra, ok=False)
        assert result.exit_code == 1
        assert message in result.output
    sro("admin", "add", "--name", "X", "--email", "x@example.org", "--role", "coordinator")  # control
    twice = sro("admin", "add", "--name", "X", "--email", "X@example.org", "--role", "coordinator", ok=False)
    assert "already exists" in twice.output
    assert "no account" in sro("admin", "disable", "nobody@example.org", ok=False).output


async def test_logins_are_audited_without_password_address_or_email(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    await login(
        site.client, person.email, "wrong password!", next_code(person), **{"x-forwarded-for": "203.0.113.7"}
    )
    await login(site.client, person.email, person.password, next_code(person))
    async with site.db.transaction() as session:
        events = list(await session.scalars(select(AuditEvent).where(AuditEvent.action.like("web.%"))))
    actions = [e.action for e in events]
    assert "web.login_refused" in actions
    assert "web.login" in actions
    assert "web.setup_done" in actions
    for event in events:
        row = f"{event.actor} {event.action} {event.detail}"
        for secret in (PASSWORD, "wrong password!", "ann@example.org", "203.0.113.7", "127.0.0.1"):
            assert secret not in row
    assert {e.actor for e in events if e.action.startswith("web.login")} == {"web:1"}  # whose login


def test_web_key_makes_a_private_key_file_once(sro, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keys" / "dashboard.key"
    made = sro("admin", "web-key", str(path)).output
    assert f"WEB_KEY_FILE={path}" in made
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_text()
    assert len(first.strip()) == 43  # 32 bytes, base64url
    again = sro("admin", "web-key", str(path), ok=False)
    assert again.exit_code == 1
    assert "never replaced" in again.output
    assert path.read_text() == first  # the existing key is kept
