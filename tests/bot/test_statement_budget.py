"""SQL statements and transactions per student report, counted through the real bot path (issue 11).

The bot runs as `python -m bot` runs it (durable intake, the delivery worker), polling the Bot API
emulator; the model is scripted. Every statement the bot's engine sends is counted from the
student's message until the bot is idle again, with the tip in the officer's chat: one urgent
report (safety information, case opened, tip sent), and one ordinary report (the interview, the
preview, Send). Counting is deterministic where timing is not: the idle polls (intake, outbox) are
pushed out of the window, the timed jobs are not run, the early safety timer does not fire, and
each message waits for the bot to be idle before the next is sent. A change that adds statements
or transactions to a report fails here; one that removes some should lower the budget.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, func, select
from telegram import Update

import bot.delivery
import bot.intake
from bot.app import build_application
from bot.delivery import delivery_worker
from bot.services import BotApplication, Services
from devtools.emulator.client import User
from storage.db import Database
from storage.models import Delivery, DeliveryStatus, IntakeUpdate
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World
from tests.bot.scripted import ScriptedClassifier, location

GUN = "a kid has a gun in his locker right now"
VAPING = "some grade 11s are vaping and selling carts in the washroom every day"

# The most a report may cost the bot: (statements, transactions), by database.
# The urgent case counts against the chat's cap on new urgent cases, in the transaction that opens it:
# two statements (whether there is room was read with the flood limit, in the same query).
URGENT_BUDGET = {"sqlite": (36, 10), "postgresql": (36, 10)}
# The ordinary report's two taps (No, Send) are counted against the tap limit: two statements each.
ORDINARY_BUDGET = {"sqlite": (64, 25), "postgresql": (64, 25)}


@dataclass
class Tally:
    """What the bot's engine ran while counting: statements (BEGIN aside) and transactions."""

    counting: bool = False
    transactions: int = 0
    statements: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statements.values())

    def listen(self, db: Database) -> None:
        engine = db.engine.sync_engine

        def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # SQLite's BEGIN is a statement of ours (storage.db); PostgreSQL's is the driver's: the
            # transaction is counted once, on both, by the begin event.
            if self.counting and not statement.lstrip().upper().startswith("BEGIN"):
                self.statements[re.sub(r"\s+", " ", statement)[:80]] += 1

        def on_begin(_conn: Any) -> None:
            if self.counting:
                self.transactions += 1

        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(engine, "begin", on_begin)

    def report(self) -> str:
        lines = [f"{self.total} statements, {self.transactions} transactions"]
        lines += [f"{count:3d} {text}" for text, count in self.statements.most_common()]
        return "\n".join(lines)


@asynccontextmanager
async def counted_bot(world: World, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Tally, Database]]:
    """The bot as `python -m bot` runs it, but for the timed jobs and the idle polls; and a tally."""
    monkeypatch.setattr(bot.intake, "IDLE_POLL_SECONDS", 3600.0)
    monkeypatch.setattr(bot.delivery, "IDLE_POLL_SECONDS", 3600.0)
    world.settings_overrides["early_safety_seconds"] = 30.0
    settings = world.settings()
    services = await Services.start(settings, classifier=world.classifier)
    application: BotApplication = build_application(
        settings, services=services, background=[delivery_worker], durable=True
    )
    tally = Tally()
    tally.listen(services.db)
    side = Database.connect(world.database_url)  # the test's own look at the database, not counted
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=5, allowed_updates=Update.ALL_TYPES)
    await application.start()
    world.app = application
    try:
        yield tally, side
    finally:
        await application.updater.stop()
        await application.stop()
        assert application.post_stop is not None
        await application.post_stop(application)
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
        await application.shutdown()
        world.app = None
        await services.db.close()
        await side.close()


async def idle(world: World, side: Database) -> None:
    """Until the bot has nothing left to do: no update unconfirmed, stored or under way, no tip going."""
    app, server = world.app, world.emu.server
    assert app is not None
    assert server is not None
    seen = 0
    for _ in range(300):
        await asyncio.sleep(0.05)
        async with side.read() as session:
            stored = await session.scalar(
                select(func.count()).select_from(IntakeUpdate).where(IntakeUpdate.done.is_(False))
            )
            going = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
            )
        quiet = not server.world.pending and not stored and not going
        seen = seen + 1 if quiet and app.update_processor.current_concurrent_updates == 0 else 0
        if seen == 3:
            await asyncio.sleep(0.2)  # the claims that follow a handled update or a sent tip
            return
    raise AssertionError("the bot never went idle")


async def with_school(world: World, side: Database) -> Student:
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")
    await idle(world, side)
    return student


def within(tally: Tally, budget: dict[str, tuple[int, int]], world: World) -> None:
    dialect = "postgresql" if world.database_url.startswith("postgresql") else "sqlite"
    statements, transactions = budget[dialect]
    print(f"\n{dialect}: {tally.report()}")  # noqa: T201 - shown with -s, the figures for a commit
    assert tally.total <= statements, tally.report()
    assert tally.transactions <= transactions, tally.report()


async def test_an_urgent_report_costs_at_most_its_budget(
    scripted_world_both: World, script: ScriptedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = scripted_world_both
    script.says(GUN, "report_weapon", confidence=0.99)
    officer: User = await world.enroll("maple")
    async with counted_bot(world, monkeypatch) as (tally, side):
        student = await with_school(world, side)
        tally.counting = True
        assert "911" in (await student.says(GUN)).text
        assert CODE.search((await student.then()).text)
        assert "gun" in (await world.emu.next_message(officer, timeout=15)).text
        assert "tell me more" in (await student.then()).text
        await idle(world, side)
        tally.counting = False
    within(tally, URGENT_BUDGET, world)


async def test_an_ordinary_report_costs_at_most_its_budget(
    scripted_world_both: World, script: ScriptedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = scripted_world_both
    script.says(VAPING, "report_drugs", confidence=1.0, entities=(location(VAPING, "washroom"),))
    officer: User = await world.enroll("maple")
    async with counted_bot(world, monkeypatch) as (tally, side):
        student = await with_school(world, side)
        tally.counting = True
        danger = await student.says(VAPING)
        await idle(world, side)
        more = await student.taps(danger, "No")
        assert "Anything else" in more.text
        await idle(world, side)
        preview = await student.says("they hang out near the back stairs")
        assert "will be sent" in preview.text
        await idle(world, side)
        sent = await student.taps(preview, "✅ Send")
        assert CODE.search(sent.text)
        assert "selling carts" in (await world.emu.next_message(officer, timeout=15)).text
        await idle(world, side)
        tally.counting = False
    within(tally, ORDINARY_BUDGET, world)
