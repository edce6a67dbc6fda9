"""Who the client is, behind the real server: only the dashboard's own rule (WEB_TRUSTED_PROXIES)
decides, not uvicorn's, which by default believes X-Forwarded-For from 127.0.0.1 and rewrites the
client's address before the dashboard sees it (so a forged header from a local proxy, or anything
else on the machine, would have escaped the per-address throttle)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import select

from storage.db import Database
from storage.models import ThrottleScope, WebLoginFailure
from tests.storage.fixtures import Templates
from tests.web.conftest import FORM_TOKEN, WEB_KEY, copy_template
from tests.web.server import web_process
from web import accounts


def throttled_addresses(url: str) -> list[bytes]:
    async def read() -> list[bytes]:
        db = Database.connect(url)
        try:
            async with db.transaction() as session:
                return list(
                    await session.scalars(
                        select(WebLoginFailure.key_hash).where(WebLoginFailure.scope == ThrottleScope.ADDRESS)
                    )
                )
        finally:
            await db.close()

    return asyncio.run(read())


def fail_once(base_url: str, forwarded: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        form = FORM_TOKEN.search(client.get("/login").text)
        assert form is not None
        data = {"form_token": form.group(1), "email": "nobody@example.org", "password": "guess", "code": ""}
        response = client.post("/login", data=data, headers={"x-forwarded-for": forwarded})
        assert response.status_code == 401


ADDRESSES = ("127.0.0.1", "::1", "203.0.113.9", "198.51.100.7")


def throttled(url: str) -> list[str]:
    """The addresses the failures were counted against (their keys, read back), sorted."""
    names = {accounts._keys("nobody@example.org", address, WEB_KEY)[1]: address for address in ADDRESSES}
    return sorted(names.get(key, "another") for key in throttled_addresses(url))


def test_a_forwarded_address_from_this_machine_is_not_believed_unless_configured(
    migrated_templates: Templates, tmp_path: Path
) -> None:
    url = copy_template(migrated_templates, tmp_path)
    with web_process(url, tmp_path / "web.log") as web:
        fail_once(web.url, "203.0.113.9")
    assert throttled(url) == ["127.0.0.1"]
    # Control: when the operator names the proxy, the dashboard's own rule takes the forwarded address.
    with web_process(url, tmp_path / "web2.log", WEB_TRUSTED_PROXIES="127.0.0.1") as web:
        fail_once(web.url, "198.51.100.7")
    assert throttled(url) == ["127.0.0.1", "198.51.100.7"]
