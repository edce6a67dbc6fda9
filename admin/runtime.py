"""What every `sro` command needs: settings, logging, the database, and (for some) the keys.

Commands are synchronous typer functions; each runs one coroutine here with
`asyncio.run`, and any `CaseworkError` becomes a clear message on stderr and
exit code 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from typer.core import TyperCommand, TyperGroup

from admin import messages
from app.logs import configure_logging
from app.settings import LOCAL_MASTER_KEY_FILE, LOCAL_WEB_KEY_FILE, VAR_DIR, Settings
from casework.errors import CaseworkError
from casework.policy import CasePolicy
from casework.vault.crypto import DecryptionError
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey, load_master_key
from casework.vault.rotation import open_keyring
from storage.db import Database, UnsupportedDatabase
from web.web_key import WebKey, WebKeyError, load_web_key

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# The demo's state (devtools/demo.py keeps it there too; tests/admin/test_cli.py checks they agree).
DEMO_DATABASE = VAR_DIR / "demo.db"
DEMO_KEY_FILE = VAR_DIR / "demo-master.key"
DEMO_WEB_KEY_FILE = VAR_DIR / "demo" / "web.key"  # the demo dashboard's (devtools/demo.py)
_options: dict[str, bool] = {"demo": False}


def use_demo(demo: bool) -> None:
    """`sro --demo`: every command of this invocation uses the demo's database and key file."""
    _options["demo"] = demo


def _plain(message: str) -> str:
    """A typer/pydantic parameter error in plain words, with the fix where the error implies one."""
    message = re.sub(r"^(Value|Assertion) error, ", "", message)
    message = message.replace(
        "Input should be a valid integer, unable to parse string as an integer", "expected a whole number"
    )
    if " is not one of " in message:
        message = message.rstrip(".") + ": use one of these."
    return message


class _PlainErrors:
    """Help without `<bool>` after flags, and parameter errors without Python's wording."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            # A flag takes no value: typer would show its type as `<bool>`, which reads as if it did.
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            parsed: list[str] = super().parse_args(ctx, args)  # type: ignore[misc]
        except typer.BadParameter as error:
            error.message = _plain(error.message)
            raise
        return parsed


class Command(_PlainErrors, TyperCommand):
    pass


class Group(_PlainErrors, TyperGroup):
    pass


class App(typer.Typer):
    """A typer app whose groups and commands use the classes above."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=Group, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", Command)
        decorator: Callable[[F], F] = super().command(*args, **kwargs)
        return decorator


@dataclass
class Context:
    settings: Settings
    db: Database
    policy: CasePolicy
    now: datetime

    async def keys(self) -> KeyRing:
        master = self.master()
        async with self.db.transaction() as session:
            return await open_keyring(session, master, self.now)

    def master(self) -> MasterKey:
        return load_master_key(self.settings, local_key_file=LOCAL_MASTER_KEY_FILE)

    def web_key(self) -> WebKey:
        """The dashboard's web key, which binds its accounts (WEB_KEY_FILE, else var/web.key with SQLite)."""
        try:
            return load_web_key(
                self.settings.web_key_file,
                sqlite=self.settings.database_url.startswith("sqlite"),
                local_file=LOCAL_WEB_KEY_FILE,
            )
        except WebKeyError as error:
            fail(str(error))


def fail(message: str) -> NoReturn:
    typer.echo(messages.ERROR.format(message=message), err=True)
    raise typer.Exit(1)


def settings() -> Settings:
    """The environment's settings, or the demo's database and key file with `sro --demo`."""
    try:
        if not _options["demo"]:
            return Settings()
        if not DEMO_DATABASE.exists():
            fail(messages.NO_DEMO.format(path=DEMO_DATABASE))
        return Settings(
            database_url=f"sqlite+aiosqlite:///{DEMO_DATABASE}",
            sro_master_key=None,
            sro_master_key_file=DEMO_KEY_FILE,
            web_key_file=DEMO_WEB_KEY_FILE,
        )
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        fail(messages.BAD_SETTING.format(name=name, problem=_plain(first["msg"])))


def run(command: Callable[[Context], Awaitable[T]]) -> T:
    """Run one command's coroutine with a fresh context; domain errors exit 1 with their message."""
    configure_logging(logging.WARNING)
    settings_ = settings()

    async def main() -> T:
        db = Database.connect(settings_.database_url)
        try:
            return await command(
                Context(settings_, db, CasePolicy.from_settings(settings_), datetime.now(UTC))
            )
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except (typer.Exit, typer.Abort):
        raise  # a command's own exit (`fail`), not a fault
    except (CaseworkError, UnsupportedDatabase) as error:
        fail(str(error))
    except DecryptionError as error:
        fail(messages.TAMPERED.format(reason=error))
    except (OperationalError, ProgrammingError) as error:
        # The usual causes: a database never set up (no tables), or one that cannot be reached.
        if re.search(r"no such table|does not exist|UndefinedTable", str(error.orig)):
            fail(messages.NO_SCHEMA)
        fail(messages.DATABASE_UNREACHABLE)
    except (DBAPIError, OSError):
        fail(messages.DATABASE_UNREACHABLE)
    except Exception:
        # A bug, not a bad input: the coordinator gets words and a next step; SRO_DEBUG shows it all.
        if os.environ.get("SRO_DEBUG"):
            raise
        fail(messages.UNEXPECTED)


def console() -> Console:
    """Rich output; wide when piped (a file or a test), so table cells are not wrapped mid-word."""
    return Console() if sys.stdout.isatty() else Console(width=200)
