"""Settings refuse what would weaken the service, and say how to fix it, without a traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from pydantic import SecretStr, ValidationError

from app.settings import Settings
from tests.conftest import ROOT

WEAK_SECRETS = [
    "short-secret",
    "x" * 31,
    "has spaces in it but is long enough ok",
    "p@ssw0rd-but-long-enough-for-the-length-rule",
    "é" * 40,
    "a" * 257,
]


@pytest.mark.parametrize("secret", WEAK_SECRETS)
def test_a_weak_webhook_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="32 to 256 characters"):
        Settings(webhook_secret=SecretStr(secret))


@pytest.mark.parametrize("secret", [secrets.token_urlsafe(32), "A" * 32, "a-b_c" * 51 + "d"])
def test_a_strong_webhook_secret_is_accepted(secret: str) -> None:
    assert Settings(webhook_secret=SecretStr(secret)).webhook_secret is not None


def test_the_bot_refuses_to_start_with_a_weak_secret_and_says_why() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "SRO_", "DATABASE_"))},
        "TELEGRAM_BOT_TOKEN": "1234:" + "A" * 35,
        "WEBHOOK_URL": "https://example.invalid/telegram",
        "WEBHOOK_SECRET": "hunter2",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "WEBHOOK_SECRET must be 32 to 256 characters" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr
