"""The dashboard's log never holds a setup link's token, a password, an email or a TOTP code."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp

from storage.db import Database
from storage.models import WebRole
from tests.storage.fixtures import Templates
from tests.web.conftest import FORM_TOKEN, WEB_KEY, copy_template
from tests.web.server import web_process
from web import accounts

PASSWORD = "a password nobody should ever log"


def test_setup_and_sign_in_leave_no_secret_in_the_log(migrated_templates: Templates, tmp_path: Path) -> None:
    url = copy_template(migrated_templates, tmp_path)

    async def invite() -> str:
        db = Database.connect(url)
        try:
            async with db.transaction() as session:
                now = datetime.now(UTC)
                account = await accounts.create_account(
                    session, WEB_KEY, name="Log Test", email="private.person@example.org",
                    role=WebRole.COORDINATOR, school_codes=[], now=now,
                )  # fmt: skip
                return await accounts.issue_setup_token(session, WEB_KEY, account, now)
        finally:
            await db.close()

    token = asyncio.run(invite())
    log = tmp_path / "web.log"
    with web_process(url, log) as web, httpx.Client(base_url=web.url, follow_redirects=True) as client:
        page = client.get(f"/setup/{token}")
        secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text)
        form = FORM_TOKEN.search(page.text)
        assert secret is not None
        assert form is not None
        code = pyotp.TOTP(secret.group(1)).now()
        fields = {
            "form_token": form.group(1),
            "password": PASSWORD,
            "password2": PASSWORD,
            "secret": secret.group(1),
        }
        assert "ready" in client.post(f"/setup/{token}", data={**fields, "code": code}).text
        login = client.get("/login")
        form = FORM_TOKEN.search(login.text)
        assert form is not None
        data = {
            "form_token": form.group(1),
            "email": "private.person@example.org",
            "password": "wrong " + PASSWORD,
        }
        assert client.post("/login", data={**data, "code": code}).status_code == 401
        client.get("/no/such/page")
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "web.start" in text  # the right log, and the process did log (positive control)
    for needle in (token, PASSWORD, "private.person", secret.group(1), code, form.group(1)):
        assert needle not in text, needle
