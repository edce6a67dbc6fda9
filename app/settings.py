"""The one validated settings object, read once at start-up (DESIGN.md, Configuration)."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# SRO_VAR_DIR moves the local state (the demo's database, keys, logs) elsewhere: a test's scratch
# directory. Read here, not in Settings, because module-level paths are built from it.
_VAR_OVERRIDE = os.environ.get("SRO_VAR_DIR")
VAR_DIR = Path(_VAR_OVERRIDE).resolve() if _VAR_OVERRIDE else PROJECT_ROOT / "var"
MODELS_DIR = PROJECT_ROOT / "models"
NLU_TOKEN_FILE = VAR_DIR / "nlu-token"
# The master key for local use with SQLite only, generated on first run (casework.vault.master_key).
LOCAL_MASTER_KEY_FILE = VAR_DIR / "master.key"
# The dashboard's web key for local use with SQLite only, made on first use (web/web_key.py).
LOCAL_WEB_KEY_FILE = VAR_DIR / "web.key"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,256}")


def default_database_url() -> str:
    """An absolute SQLite path under var/, whatever the working directory."""
    return f"sqlite+aiosqlite:///{VAR_DIR / 'sro.db'}"


def async_database_url(url: str) -> str:
    """Give a plain `postgresql://` or `sqlite://` URL its async driver."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def local_nlu_token() -> str:
    """The token set-up generated for the local Rasa server, or empty."""
    try:
        return NLU_TOKEN_FILE.read_text(encoding="ascii").strip()
    except OSError:
        return ""


class Settings(BaseSettings):
    """Environment variables (and `.env`), validated once."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    database_url: str = Field(default_factory=default_database_url)
    nlu_url: str = "http://localhost:5005"
    # Several Rasa servers, comma-separated (NLU_URL takes the same form): taken in turn, a failing
    # one skipped for a while (nlu.rasa_client). Put TLS in front of any on another host.
    nlu_urls: str | None = None
    nlu_token: SecretStr = Field(default_factory=lambda: SecretStr(local_nlu_token()))
    nlu_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    sro_master_key: SecretStr | None = None
    sro_master_key_file: Path | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Where the webhook server listens (a reverse proxy or the platform routes WEBHOOK_URL here).
    webhook_listen: str = "0.0.0.0"  # noqa: S104 - a webhook must be reachable from the proxy
    # WEBHOOK_PORT, else PORT (which honcho and most platforms set for each process).
    webhook_port: int = Field(
        default=8443, ge=1, le=65535, validation_alias=AliasChoices("WEBHOOK_PORT", "PORT")
    )
    webhook_path: str = "telegram"
    # Pace sending under Telegram's limits; off only for benchmarks against the emulator.
    telegram_pacing: bool = True
    # A delivery claimed this long ago and never marked sent belonged to a worker that died.
    outbox_stale_seconds: float = Field(default=60.0, gt=0)
    # An update claimed from the durable inbox this long ago (lease renewed while it is handled)
    # belonged to an instance that died: another instance, or the restarted one, handles it.
    intake_lease_seconds: float = Field(default=30.0, gt=0)
    # Updates of different chats handled at once per instance. A burst's every student should be
    # under way, so that each gets the safety information within seconds: a turn loads its state
    # before the others' later writes (storage.db.Priority) and Rasa's client queues the parses
    # (nlu.rasa_client); with 64, the 200th student of a burst waited for 136 others to finish.
    intake_concurrency: int = Field(default=256, ge=1, le=1024)
    # A stored message with danger words whose turn has not said the safety information this many
    # seconds after it arrived gets it at once, from the safety net (bot.early_safety); 0: never.
    early_safety_seconds: float = Field(default=1.0, ge=0, le=30)
    urgent_ack_minutes: float = Field(default=5.0, gt=0)
    # An urgent report sent before the student named a school waits this long for the answer,
    # then goes to the supervisors.
    school_answer_seconds: float = Field(default=120.0, gt=0)
    # Self-harm or an unsure urgent message waits for the student's tap; one gentle reminder after this.
    urgent_consent_reminder_minutes: float = Field(default=5.0, gt=0)
    remind_after_hours: float = Field(default=24.0, gt=0)
    retention_days: int = Field(default=90, ge=1)
    sro_timezone: str = "America/Toronto"
    test_database_url: str | None = None
    # The dashboard (web/): where it listens, the address people reach it by (setup links), the bot's
    # username (posters' deep links), the reverse proxies whose X-Forwarded-For is believed (login
    # throttling per address), and the local demo, the only place a second factor may be skipped.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535, validation_alias=AliasChoices("WEB_PORT", "PORT"))
    web_public_url: str | None = None
    telegram_bot_username: str | None = None
    web_trusted_proxies: str = ""  # comma-separated addresses
    web_session_idle_minutes: float = Field(default=30.0, gt=0)
    web_local_demo: bool = False
    # The dashboard's web key (not the master key): read by the web process and by `sro admin`.
    web_key_file: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @field_validator("nlu_url", "telegram_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _strong_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's alphabet for secret_token is A-Z a-z 0-9 _ - (at most 256); 32 is our floor,
        # since anyone who guesses it can post forged updates to the webhook.
        if value is not None and not WEBHOOK_SECRET_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError(
                "WEBHOOK_SECRET must be 32 to 256 characters of A-Z, a-z, 0-9, _ and -; make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("sro_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("web_public_url")
    @classmethod
    def _no_trailing_slash_web(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def web_base_url(self) -> str:
        """The dashboard's public address: WEB_PUBLIC_URL, else where it listens."""
        return self.web_public_url or f"http://{self.web_host}:{self.web_port}"

    @property
    def trusted_proxies(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.web_trusted_proxies.split(",") if part.strip())

    @cached_property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.sro_timezone)

    @property
    def telegram_file_base_url(self) -> str:
        """The file URL is the API URL with `/bot` turned into `/file/bot`."""
        base = self.telegram_api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base
