"""`python -m web`: the dashboard, served by uvicorn on WEB_HOST:WEB_PORT, without the master key.

The master key is never this process's: if SRO_MASTER_KEY or SRO_MASTER_KEY_FILE is in its
environment (a shared .env, an operator's shell), the process replaces itself at once with one whose
environment lacks both, before reading any setting, so that not even /proc/<pid>/environ holds it;
and its settings are built with both set to nothing, whatever a .env file says.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import timedelta
from typing import Any

import uvicorn

from app.logs import configure_logging
from app.settings import LOCAL_WEB_KEY_FILE, Settings
from storage.db import Database
from web.app import WebConfig, create_app
from web.web_key import WebKeyError, load_web_key

MASTER_KEY_VARIABLES = ("SRO_MASTER_KEY", "SRO_MASTER_KEY_FILE")


def without_master_key(environ: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name.upper() not in MASTER_KEY_VARIABLES}


def web_settings() -> Settings:
    """The settings, with no master key whatever the environment or .env holds."""
    return Settings(sro_master_key=None, sro_master_key_file=None)


def config_from(settings: Settings) -> WebConfig:
    if settings.web_local_demo and settings.web_host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(
            "WEB_LOCAL_DEMO (no second factor) is only for a dashboard on this machine (127.0.0.1)"
        )
    try:
        web_key = load_web_key(
            settings.web_key_file,
            sqlite=settings.database_url.startswith("sqlite"),
            local_file=LOCAL_WEB_KEY_FILE,
        )
    except WebKeyError as error:
        raise SystemExit(f"the dashboard cannot start: {error}") from error
    return WebConfig(
        db=Database.connect(settings.database_url),
        timezone=settings.timezone,
        base_url=settings.web_base_url,
        web_key=web_key,
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        trusted_proxies=settings.trusted_proxies,
        local_demo=settings.web_local_demo,
        bot_username=settings.telegram_bot_username,
    )


def main() -> None:
    if any(name.upper() in MASTER_KEY_VARIABLES for name in os.environ):
        os.execve(sys.executable, [sys.executable, "-m", "web"], without_master_key(dict(os.environ)))  # noqa: S606
    configure_logging(logging.INFO)
    settings = web_settings()
    config = config_from(settings)
    logging.getLogger(__name__).info("web.start host=%s port=%d", settings.web_host, settings.web_port)
    uvicorn.run(create_app(config, close_db=True), **server_options(settings))


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings. No access log: a setup link's path is its secret. No proxy headers:
    uvicorn would believe X-Forwarded-For from 127.0.0.1 and replace the client's address before the
    dashboard's own rule (WEB_TRUSTED_PROXIES, `security.client_address`) sees it."""
    return {
        "host": settings.web_host,
        "port": settings.web_port,
        "access_log": False,
        "server_header": False,
        "log_level": "warning",
        "proxy_headers": False,
    }


if __name__ == "__main__":
    main()
