"""The dashboard's configuration and password storage: address (WEB_HOST, WEB_PORT else PORT), public
URL, bot username, trusted proxies, the demo's no-second-factor mode refused off this machine, and
argon2id password hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.settings import Settings
from storage.models import WebAccount, WebRole
from tests.web.conftest import Site, add_person
from web.__main__ import config_from, web_settings


def test_address_public_url_bot_and_proxies_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "WEB_HOST",
        "WEB_PORT",
        "PORT",
        "WEB_PUBLIC_URL",
        "TELEGRAM_BOT_USERNAME",
        "WEB_TRUSTED_PROXIES",
    ):
        monkeypatch.delenv(name, raising=False)
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (default.web_host, default.web_port) == ("127.0.0.1", 8000)
    monkeypatch.setenv("PORT", "5100")  # what honcho and most platforms set
    assert Settings(_env_file=None).web_port == 5100  # type: ignore[call-arg]
    monkeypatch.setenv("WEB_PORT", "5200")  # the dashboard's own wins
    monkeypatch.setenv("WEB_HOST", "0.0.0.0")
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://dash.example.org")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "sro_connect_bot")
    monkeypatch.setenv("WEB_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.web_host, settings.web_port) == ("0.0.0.0", 5200)
    assert settings.web_base_url == "https://dash.example.org"
    assert settings.telegram_bot_username == "sro_connect_bot"
    assert settings.trusted_proxies == frozenset({"10.0.0.1", "10.0.0.2"})


def test_the_demo_without_a_second_factor_is_refused_off_this_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'web.db'}")
    monkeypatch.setenv("WEB_KEY_FILE", str(tmp_path / "none.key"))  # never reached when refused
    monkeypatch.setenv("WEB_LOCAL_DEMO", "true")
    monkeypatch.setenv("WEB_HOST", "0.0.0.0")
    with pytest.raises(SystemExit, match="only for a dashboard on this machine"):
        config_from(web_settings())
    # Control: on 127.0.0.1 the demo mode is accepted (and then needs its web key file).
    monkeypatch.setenv("WEB_HOST", "127.0.0.1")
    with pytest.raises(SystemExit, match="web key file"):
        config_from(web_settings())


async def test_passwords_are_stored_as_argon2id_hashes(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    async with site.db.transaction() as session:
        stored = await session.scalar(select(WebAccount.password_hash))
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert person.password not in stored
