"""End-to-end fixtures: the real Rasa server (one per run), the emulator, a seeded database, the bot."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot import flow
from casework.vault.master_key import KeySource, MasterKey
from devtools.emulator import Emulator
from tests.bot.harness import Student, World
from tests.conftest import RasaServer
from tests.storage.fixtures import Templates, TestDatabase, migrated_templates, test_database

__all__ = ["migrated_templates", "test_database"]


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


async def _world(database: TestDatabase, rasa_server: RasaServer) -> AsyncIterator[World]:
    async with Emulator() as emu:
        world = World(
            emu=emu,
            database_url=database.url,
            master_key=MasterKey.generate(KeySource("environment")).encoded(),
            nlu_url=rasa_server.url,
            nlu_token=rasa_server.token,
        )
        await world.seed()
        yield world


@pytest.fixture
async def world(sqlite_database: TestDatabase, rasa_server: RasaServer) -> AsyncIterator[World]:
    """The world on SQLite (most end-to-end tests)."""
    async for w in _world(sqlite_database, rasa_server):
        yield w


@pytest.fixture
async def world_both(test_database: TestDatabase, rasa_server: RasaServer) -> AsyncIterator[World]:
    """The world on SQLite, then on PostgreSQL."""
    async for w in _world(test_database, rasa_server):
        yield w


async def new_student(world: World) -> Student:
    return Student(world, await world.emu.user(first_name="Sam", started=True))
