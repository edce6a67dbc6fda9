"""The end-to-end world: a database, schools and officers, the emulator, and the real bot polling it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram import Update

from app.settings import Settings
from bot import inbox
from bot.app import build_application
from bot.delivery import delivery_worker
from bot.intake import DurableQueue
from bot.jobs import housekeeping
from bot.services import BotApplication, Services
from casework import officers, schools
from casework.cases.labels import LABELS
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey
from devtools.conversation_doc import TRANSCRIPTS
from devtools.emulator import Emulator
from devtools.emulator.client import ChatRef, Message, User
from devtools.procs import eventually
from nlu.classifier import IntentClassifier
from storage import migrations
from storage.db import Database
from storage.models import AssignmentKind, Role
from tests.conftest import ROOT

__all__ = ["CODE", "Officer", "Student", "World", "eventually", "mask", "now", "record_transcript"]

SCHOOLS = {
    "MRS": "Maple Ridge Secondary School",
    "LSC": "Lakeshore Collegiate Institute",
    "NBH": "North Bay Heights High School",  # no officer: routes to the supervisor
}
# Letters and digits only, the check character too (issue 9): a symbol there would not match.
CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z](?![0-9A-Z])")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Officer:
    id: int
    name: str
    user: User | None = None  # the officer's Telegram account once enrolled


@dataclass
class World:
    emu: Emulator
    database_url: str
    master_key: str
    nlu_url: str
    nlu_token: str
    school_ids: dict[str, int] = field(default_factory=dict)
    officers: dict[str, Officer] = field(default_factory=dict)
    app: BotApplication | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    # The fast tier's scripted model (tests/bot/scripted.py); None: the real Rasa server at nlu_url.
    classifier: IntentClassifier | None = None

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": SecretStr(self.emu.token),
            "telegram_api_base_url": self.emu.base_url,
            "database_url": self.database_url,
            "nlu_url": self.nlu_url,
            "nlu_token": SecretStr(self.nlu_token),
            "sro_master_key": SecretStr(self.master_key),
            "urgent_ack_minutes": 5.0,
            **self.settings_overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    @asynccontextmanager
    async def database(self) -> AsyncIterator[tuple[Database, KeyRing]]:
        db = Database.connect(self.database_url)
        try:
            async with db.transaction() as session:
                master = MasterKey.decode(self.master_key, KeySource("environment"))
                keys = await KeyRing.load(session, master, now())
            yield db, keys
        finally:
            await db.close()

    async def seed(self) -> None:
        """Three schools; officers: Maple primary and backup, Lakeshore primary, one supervisor."""
        await migrations.upgrade(self.database_url)
        async with self.database() as (db, keys):
            async with db.transaction() as session:
                for code, name in SCHOOLS.items():
                    added = await schools.add_school(session, schools.NewSchool.checked(name, code), now())
                    self.school_ids[code] = added.id
            plan = [
                ("maple", "Cst. Maple Primary", Role.OFFICER, "MRS", AssignmentKind.PRIMARY),
                ("maple_backup", "Cst. Maple Backup", Role.OFFICER, "MRS", AssignmentKind.BACKUP),
                ("lakeshore", "Cst. Lakeshore", Role.OFFICER, "LSC", AssignmentKind.PRIMARY),
                ("supervisor", "Sgt. Supervisor", Role.SUPERVISOR, None, None),
            ]
            async with db.transaction() as session:
                for key, name, role, school, kind in plan:
                    officer_id = await officers.create_officer(
                        session, keys, display_name=name, role=role, now=now()
                    )
                    if school is not None:
                        await officers.assign(
                            session, keys, officer_id, school, kind=kind or AssignmentKind.PRIMARY, now=now()
                        )
                    self.officers[key] = Officer(officer_id, name)

    async def enroll(self, key: str) -> User:
        """Link the officer to a new Telegram account (the /enroll command itself has its own test)."""
        officer = self.officers[key]
        user = await self.emu.user(first_name=officer.name.split()[-1], started=True)
        async with self.database() as (db, keys), db.transaction() as session:
            code = await officers.issue_enrollment_code(session, keys, officer.id, now())
            await officers.enroll(session, keys, self.policy(), code, user.id, now())
        officer.user = user
        return user

    async def invite(self, key: str) -> str:
        """A one-time enrollment code, as `sro officer invite` prints it."""
        async with self.database() as (db, keys), db.transaction() as session:
            return await officers.issue_enrollment_code(session, keys, self.officers[key].id, now())

    def policy(self) -> CasePolicy:
        return CasePolicy.from_settings(self.settings())

    def bot_process(self, log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
        """`python -m bot` in its own process, configured by environment as the Procfile runs it."""
        env = {
            **os.environ,
            "PTB_TIMEDELTA": "true",
            "TELEGRAM_BOT_TOKEN": self.emu.token,
            "TELEGRAM_API_BASE_URL": self.emu.base_url,
            "DATABASE_URL": self.database_url,
            "NLU_URL": self.nlu_url,
            "NLU_TOKEN": self.nlu_token,
            "SRO_MASTER_KEY": self.master_key,
            **extra_env,
        }
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    async def settled(self) -> None:
        """Wait until the bot (running in this process) has fetched and handled every update so far.

        Idle means: the emulator holds no unconfirmed update, the application's queue is empty and
        no update is being processed; seen twice in a row, because an update taken from the queue
        starts its task one event-loop turn later.
        """
        app, server = self.app, self.emu.server
        assert app is not None, "the bot is not running in this process"
        seen = [False]

        async def idle_twice() -> bool:
            idle = (
                (server is None or not server.world.pending)
                and app.update_queue.empty()
                and app.update_processor.current_concurrent_updates == 0
            )
            services = app.bot_data.services
            if idle and isinstance(app.update_queue, DurableQueue) and services is not None:
                async with services.db.transaction() as session:  # durable: none stored and unhandled
                    idle = await inbox.unhandled(session) == 0
            twice, seen[0] = seen[0] and idle, idle
            return twice

        await eventually(idle_twice, seconds=15, what="the bot handling every update")

    @asynccontextmanager
    async def running(self, *, durable: bool = False) -> AsyncIterator[BotApplication]:
        """The bot, exactly as `python -m bot` runs it, polling the emulator over HTTP.

        With a scripted classifier, the services are those `python -m bot` starts, that model aside.
        `durable`: updates are stored, sealed and minimised, then handled from the database (bot.intake),
        as `python -m bot` does; otherwise they go through python-telegram-bot's queue in memory.
        """
        settings = self.settings()
        services = None
        if self.classifier is not None:
            services = await Services.start(settings, classifier=self.classifier)
        application = build_application(
            settings, services=services, background=[delivery_worker, housekeeping], durable=durable
        )
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0.0, timeout=5, allowed_updates=Update.ALL_TYPES
        )
        await application.start()
        self.app = application
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
            assert application.post_stop is not None
            await application.post_stop(application)  # the intake worker, if durable, stops here
            assert application.post_shutdown is not None
            await application.post_shutdown(application)
            await application.shutdown()
            self.app = None
            if services is not None:
                await services.db.close()  # injected services are the injector's to close


class Student:
    """A student's Telegram account, with helpers to talk to the bot like a person would."""

    def __init__(self, world: World, user: User) -> None:
        self.world, self.user = world, user

    async def says(self, text: str) -> Message:
        """Send a message; return the bot's first reply."""
        await self.world.emu.send_text(self.user, text)
        return await self.world.emu.next_message(self.user, timeout=15)

    async def then(self, timeout: float = 15) -> Message:  # noqa: ASYNC109 - passed to the emulator
        return await self.world.emu.next_message(self.user, timeout=timeout)

    async def taps(self, message: Message, button: str) -> Message:
        await self.world.emu.press(self.user, message, button)
        return await self.world.emu.next_message(self.user, timeout=15)

    async def quiet(self, within: float = 0.7) -> None:
        """Nothing new for this student. With the bot in this process: once it has handled every
        update sent so far (an event, not a time); in another process: nothing within `within` s."""
        if self.world.app is None:
            await self.world.emu.assert_no_message(self.user, within=within)
            return
        await self.world.settled()
        await self.world.emu.assert_no_message(self.user, within=0)

    async def choose_school(self, typed: str, name: str) -> Message:
        choices = await self.says(typed)
        assert any(name in text for row in choices.buttons for text, _ in row), choices.buttons
        return await self.taps(choices, name)


_MASKS = [
    (CODE, "XXXX-XXXX-XXXX-XXXX-X"),
    (re.compile(r"^/status (?:[0-9A-Za-z]{4}[- ]?){4}[0-9A-Za-z*~$=]$"), "/status XXXX-XXXX-XXXX-XXXX-X"),
    (re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]\b"), "XXXX-XXXX-XXXX-X"),
    (re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2}\b"), "<time>"),
    (re.compile(r"\b[A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2}\b"), "<time>"),
    # A case's label is picked at random: the transcript shows one fixed label instead.
    (re.compile("|".join(re.escape(label) for label in LABELS)), "🦊 fox"),
]


def mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


async def record_transcript(world: World, name: str, participants: dict[str, ChatRef]) -> None:
    """Write each participant's chat with the bot, in order, to var/transcripts/NAME.json."""
    if not world.database_url.startswith("sqlite"):
        return  # one transcript per scenario, from the SQLite run
    if world.app is not None:
        # A turn may still be finishing after the message the test waited for (e.g. a tapped
        # choice's buttons are replaced after the reply is sent): record only what a settled chat shows.
        await world.settled()
    entries: list[dict[str, Any]] = []
    for label, user in participants.items():
        if len(participants) > 1:
            entries.append({"who": "—", "text": f"{label}'s chat"})
        messages = sorted(await world.emu.messages(user, include_user=True), key=lambda m: m.message_id)
        for message in messages:
            entry: dict[str, Any] = {"who": "Bot" if message.from_bot else label, "text": mask(message.text)}
            if message.buttons:
                entry["buttons"] = message.button_texts
            entries.append(entry)
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    (TRANSCRIPTS / f"{name}.json").write_text(
        json.dumps(entries, indent=1, ensure_ascii=False), encoding="utf-8"
    )
