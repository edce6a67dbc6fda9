"""What every `sro` command needs: settings, logging, the database, and (for some) the keys.

Commands are synchronous typer functions; each runs one coroutine here with
`asyncio.run`, and any `CaseworkError` becomes a clear message on stderr and
exit code 1.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from admin import messages
from app.logs import configure_logging
from app.settings import Settings
from casework.crypto import DecryptionError
from casework.errors import CaseworkError
from casework.keys import KeyRing, MasterKey, load_master_key
from casework.policy import CasePolicy
from casework.rotation import open_keyring
from storage.db import Database, UnsupportedDatabase

T = TypeVar("T")


@dataclass
class Context:
    settings: Settings
    db: Database
    policy: CasePolicy
    now: datetime

    async def keys(self) -> KeyRing:
        master = load_master_key(self.settings)
        async with self.db.transaction() as session:
            return await open_keyring(session, master, self.now)

    def master(self) -> MasterKey:
        return load_master_key(self.settings)


def fail(message: str) -> NoReturn:
    typer.echo(messages.ERROR.format(message=message), err=True)
    raise typer.Exit(1)


def run(command: Callable[[Context], Awaitable[T]]) -> T:
    """Run one command's coroutine with a fresh context; domain errors exit 1 with their message."""
    configure_logging(logging.WARNING)
    try:
        settings = Settings()
    except ValidationError as error:
        fail(f"invalid settings: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}")

    async def main() -> T:
        db = Database.connect(settings.database_url)
        try:
            return await command(Context(settings, db, CasePolicy.from_settings(settings), datetime.now(UTC)))
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except (CaseworkError, UnsupportedDatabase) as error:
        fail(str(error))
    except DecryptionError as error:
        fail(f"stored data failed authentication ({error}); it may have been tampered with")


def console() -> Console:
    """Rich output; wide when piped (a file or a test), so table cells are not wrapped mid-word."""
    return Console() if sys.stdout.isatty() else Console(width=200)
