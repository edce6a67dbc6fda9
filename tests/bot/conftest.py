"""End-to-end fixtures: the emulator, a seeded database, the bot, and its model (real or scripted)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot import flow
from casework.vault.master_key import KeySource, MasterKey
from devtools.emulator import Emulator
from devtools.procs import free_port
from nlu.classifier import IntentClassifier
from nlu.fallback import FallbackModel
from tests.bot.harness import Student, World
from tests.bot.scripted import ScriptedClassifier
from tests.conftest import RasaServer
from tests.storage.fixtures import Templates, TestDatabase


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-telegram-bot's future default, which `python -m bot` sets too (no deprecation warnings).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(autouse=True)
def _declared_transitions_only() -> Iterator[None]:
    flow.undeclared.clear()
    yield
    assert not flow.undeclared, f"step changes missing from bot/flow.py: {flow.undeclared}"


@pytest.fixture
def sqlite_database(migrated_templates: Templates, tmp_path: Path) -> TestDatabase:
    path = tmp_path / "sro.db"
    shutil.copyfile(migrated_templates.sqlite, path)
    return TestDatabase("sqlite", f"sqlite+aiosqlite:///{path}", sqlite_path=path)


async def _world(
    database: TestDatabase, nlu_url: str, nlu_token: str, classifier: IntentClassifier | None = None
) -> AsyncIterator[World]:
    async with Emulator() as emu:
        world = World(
            emu=emu,
            database_url=database.url,
            master_key=MasterKey.generate(KeySource("environment")).encoded(),
            nlu_url=nlu_url,
            nlu_token=nlu_token,
            classifier=classifier,
        )
        if classifier is not None:
            # Telegram's pacing (a second per message to a chat after a burst of three) has its own
            # tests (tests/bot/test_pacing.py); here it would only make each conversation wait.
            world.settings_overrides["telegram_pacing"] = False
        await world.seed()
        yield world


@pytest.fixture
async def world(sqlite_database: TestDatabase, rasa_server: RasaServer) -> AsyncIterator[World]:
    """The world on SQLite with the real Rasa server (tests of the model's judgement)."""
    async for w in _world(sqlite_database, rasa_server.url, rasa_server.token):
        yield w


@pytest.fixture
async def world_both(test_database: TestDatabase, rasa_server: RasaServer) -> AsyncIterator[World]:
    """The world on SQLite, then on PostgreSQL, with the real Rasa server."""
    async for w in _world(test_database, rasa_server.url, rasa_server.token):
        yield w


@pytest.fixture(scope="session")
def fallback_model() -> FallbackModel:
    """The cached fallback model, loaded once: the scripted classifier's real judge needs one."""
    return FallbackModel.load_or_train()


@pytest.fixture
def script(fallback_model: FallbackModel) -> Iterator[ScriptedClassifier]:
    """The fast tier's model: the test scripts each text's intent; anything unscripted fails the test."""
    scripted = ScriptedClassifier(fallback_model)
    yield scripted
    assert not scripted.problems(), f"the script does not match the conversation: {scripted.problems()}"


# No Rasa server: a port nothing listens on, so a bot process's own model falls back at once.
def _no_nlu() -> tuple[str, str]:
    return f"http://127.0.0.1:{free_port()}", "unused-no-rasa-server"


@pytest.fixture
async def scripted_world(sqlite_database: TestDatabase, script: ScriptedClassifier) -> AsyncIterator[World]:
    """The world on SQLite, the bot in-process with the scripted model (the fast tier)."""
    async for w in _world(sqlite_database, *_no_nlu(), classifier=script):
        yield w


@pytest.fixture
async def scripted_world_both(
    test_database: TestDatabase, script: ScriptedClassifier
) -> AsyncIterator[World]:
    """The scripted world on SQLite, then on PostgreSQL."""
    async for w in _world(test_database, *_no_nlu(), classifier=script):
        yield w


async def new_student(world: World) -> Student:
    return Student(world, await world.emu.user(first_name="Sam", started=True))
