"""A database reader cannot link a pseudonym's rows (drafts, rate limits) to a case by time.

Many students report over an afternoon, each the way the bot does it: a few
messages (a rate-limit hit, a draft saved, the message ids remembered), the
case opened, the "notify me" button. The purge job runs every five minutes.
Copies of the database are taken every half hour, and an attacker with them
tries to name each pseudonym's case from the times stored beside the
pseudonym: the case created nearest to them, or the last one created before
them (several estimates of the time; the best attack is the one counted).

A second attack uses row order (SQLite's storage order, PostgreSQL's ctid,
which is also the order of a dump): within a quarter hour, the n-th row
written is matched with the n-th case created. The copies are taken at random
moments between two runs of the purge job.

Chance is a guesser who knows only the quarter hour the student was active
in: it picks one of the cases created in that quarter hour, so it is right
with probability 1/k (k cases that quarter hour). The attacker must do no
better than that, within three standard errors. Positive controls: the same
simulation with the rounding turned off (the times the rows held before this
rule) lets the time attacker link most rows, and rows in the order they were
written let the order attacker beat chance by far.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from casework import coarse, rate_limits
from casework.cases import drafts, intake
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import Case, CaseKind, Draft, RateLimit
from tests.casework.world import build_world

# A simulated afternoon of 200 students on each database: the suite's longest run (`make test` only).
pytestmark = pytest.mark.slow

REPORTERS = 200  # one report each, over six hours: about 8 per quarter hour
BROWSERS = 60  # students who talk to the bot and send nothing
AFTERNOON = timedelta(hours=6)
FLOOD_WINDOW = timedelta(seconds=30)  # as the bot's flood limit
PURGE_EVERY = timedelta(minutes=5)  # as bot.jobs
SNAPSHOT_EVERY = timedelta(minutes=30)


@dataclass
class Observation:
    """What the attacker saw of one row key, the last time it was in a copy of the database."""

    snapshot: datetime
    times: list[datetime] = field(default_factory=list)  # when the rows say it was last active
    active: datetime | None = None  # when it really was (the simulation knows; the attacker does not)
    table: str = ""
    physical: list[str] = field(default_factory=list)  # its table's keys in storage order, that copy


@dataclass
class Outcome:
    accuracy: float  # the best time attack's share of keys linked to the right case
    order_accuracy: float  # the best row-order attack's share
    chance: float  # mean 1/k
    standard_error: float  # of a guesser right with probability 1/k per key
    targets: int


QUARTER = timedelta(minutes=15)
OFFSETS = (timedelta(0), FLOOD_WINDOW, QUARTER / 2, QUARTER)


def _quarter(moment: datetime) -> datetime:
    """The quarter hour a moment falls in (the test's own arithmetic, not casework.coarse)."""
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def _estimators(times: list[datetime]) -> list[datetime]:
    """Guesses of when the student was last active, from a key's stored times."""
    latest = max(times)
    return [latest - offset for offset in OFFSETS]


async def _simulate(
    database: Database, keys: KeyRing, policy: CasePolicy, start: datetime, *, order_oracle: bool = False
) -> Outcome:
    world = await build_world(database, keys, policy, start)
    rng = random.Random(20261130)
    events: list[tuple[datetime, int, str, int]] = []  # (time, order, what, student)
    truth: dict[str, int] = {}  # row key -> index of the student's case
    for student in range(REPORTERS + BROWSERS):
        at = start + timedelta(seconds=rng.uniform(600, AFTERNOON.total_seconds()))
        for minutes in (3, 2, 1):
            events.append(
                (at - timedelta(minutes=minutes, seconds=rng.uniform(0, 40)), 1, "message", student)
            )
        if student < REPORTERS:
            events.append((at, 1, "send", student))
            events.append((at + timedelta(seconds=rng.uniform(5, 40)), 1, "notify", student))
    moment = start
    while moment <= start + AFTERNOON + timedelta(hours=1):
        events.append((moment, 0, "purge", -1))
        if moment > start and (moment - start) % SNAPSHOT_EVERY == timedelta(0):
            # A copy at any moment, not just after the purge job has reordered the rows.
            events.append((moment + rng.uniform(0, 1) * PURGE_EVERY, 2, "snapshot", -1))
        moment += PURGE_EVERY
    events.sort()

    case_of: dict[int, int] = {}  # student -> case id
    created: dict[int, datetime] = {}  # case id -> created_at as stored
    seen: dict[str, Observation] = {}
    last_active: dict[str, datetime] = {}
    message_id = 0
    for at, _, what, student in events:
        pseudonym = keys.pseudonym(5_000_000_000 + student)
        async with database.transaction() as session:
            if what == "purge":
                await drafts.purge_expired_drafts(session, at)
                await rate_limits.purge_expired(session, at)
                await drafts.reorder(session)
            elif what == "snapshot":
                await _look(session, at, seen, created, last_active)
            else:
                if what == "message":
                    await rate_limits.hit(
                        session, keys, pseudonym, "messages", limit=20, window=FLOOD_WINDOW, now=at
                    )
                if what == "send":
                    opened = await intake.open_case(
                        session,
                        keys,
                        policy,
                        school_id=world.north if student % 2 else world.south,
                        kind=CaseKind.REPORT,
                        intent="report_bullying",
                        urgent=False,
                        body={"text": "what happened"},
                        notify_chat_id=None,
                        now=at,
                    )
                    case_of[student] = opened.case_id
                    truth[pseudonym] = truth[drafts.messages_key(keys, pseudonym)] = opened.case_id
                await drafts.save_state(session, keys, pseudonym, {"step": what, "n": student}, at)
                last_active[pseudonym] = last_active[drafts.messages_key(keys, pseudonym)] = at
                message_id += 2
                await drafts.remember_messages(session, keys, pseudonym, [message_id - 1, message_id], at)
    return _attack(seen, truth, created, rng, order_oracle=order_oracle)


async def _look(
    session: AsyncSession,
    at: datetime,
    seen: dict[str, Observation],
    created: dict[int, datetime],
    last_active: dict[str, datetime],
) -> None:
    """Copy what a database reader sees: pseudonymous rows with their plain times and storage order,
    and cases."""
    snapshot: dict[str, Observation] = {}
    physical = {table: await _storage_order(session, table) for table in ("drafts", "rate_limits")}
    for draft in await session.scalars(select(Draft)):
        # The time-to-live is 30 minutes (a draft) or 48 hours (a message list): either way back.
        expiry_says = [draft.expires_at - ttl for ttl in (drafts.DEFAULT_TTL, drafts.DELETABLE_FOR)]
        observation = snapshot.setdefault(
            draft.pseudonym, Observation(at, active=last_active.get(draft.pseudonym))
        )
        observation.times += [draft.updated_at, *(t for t in expiry_says if t <= at)]
        observation.table, observation.physical = "drafts", physical["drafts"]
    for limit in await session.scalars(select(RateLimit)):
        observation = snapshot.setdefault(limit.key, Observation(at, active=last_active.get(limit.key)))
        observation.times.append(limit.expires_at - FLOOD_WINDOW)
        if not observation.table:
            observation.table, observation.physical = "rate_limits", physical["rate_limits"]
    seen.update(snapshot)  # a key's last appearance is its freshest
    for case_id, created_at in (await session.execute(select(Case.id, Case.created_at))).all():
        created[int(case_id)] = created_at


async def _storage_order(session: AsyncSession, table: str) -> list[str]:
    """A table's keys in the order its file holds them (PostgreSQL: ctid; SQLite: a plain scan)."""
    column = "pseudonym" if table == "drafts" else "key"
    if session.get_bind().dialect.name == "postgresql":
        query = f"SELECT {column} FROM {table} ORDER BY ctid"  # noqa: S608  (two fixed names)
    else:
        query = f"SELECT {column} FROM {table}"  # noqa: S608
    return [str(row[0]) for row in (await session.execute(text(query))).all()]


def _attack(
    seen: dict[str, Observation],
    truth: dict[str, int],
    created: dict[int, datetime],
    rng: random.Random,
    *,
    order_oracle: bool = False,
) -> Outcome:
    targets = [key for key in seen if key in truth]
    right = [0] * (2 * len(OFFSETS))
    order_right = [0, 0]
    chances: list[float] = []
    for key in targets:
        observation = seen[key]
        known = sorted((t, case_id) for case_id, t in created.items() if t <= observation.snapshot)
        for index, estimate in enumerate(_estimators(observation.times)):
            # Two rules: the case created nearest to the estimate, and the last one created before it
            # (a student's last rows come just after their report: the "notify me" button).
            best = min(abs((t - estimate).total_seconds()) for t, _ in known)
            nearest = [case_id for t, case_id in known if abs((t - estimate).total_seconds()) == best]
            before = [(t, case_id) for t, case_id in known if t <= estimate]
            latest = [case_id for t, case_id in before if t == before[-1][0]] if before else nearest
            right[2 * index] += rng.choice(nearest) == truth[key]
            right[2 * index + 1] += rng.choice(latest) == truth[key]
        for direction, guess in enumerate(_by_order(key, observation, seen, known, order_oracle)):
            order_right[direction] += guess == truth[key]
        # Chance: one of the cases created in the quarter hour the student was last active in.
        assert observation.active is not None
        in_quarter = sum(1 for t, _ in known if _quarter(t) == _quarter(observation.active))
        chances.append(1 / max(in_quarter, 1))
    n = len(targets)
    variance = sum(p * (1 - p) for p in chances) / n**2
    return Outcome(max(right) / n, max(order_right) / n, sum(chances) / n, math.sqrt(variance), n)


def _by_order(
    key: str,
    observation: Observation,
    seen: dict[str, Observation],
    known: list[tuple[datetime, int]],
    oracle: bool,
) -> list[int | None]:
    """The row-order attack: the key's rank among its quarter hour's rows, matched to the case of the
    same rank among the cases of that quarter hour (forwards and backwards)."""
    latest = max(observation.times)

    def peer(other: str) -> bool:
        o = seen.get(other)
        return o is not None and o.snapshot == observation.snapshot and max(o.times) == latest

    if oracle:  # the control: rows in the order they were last written, as a heap holds them
        order = sorted(
            (k for k in observation.physical if peer(k)),
            key=lambda k: seen[k].active or latest,
        )
    else:
        order = [k for k in observation.physical if peer(k)]
    # The plain times are the quarter hour's end (rounded up) or start (rounded down).
    quarter = _quarter(latest - QUARTER / 2) if latest == _quarter(latest) else _quarter(latest)
    candidates = [case_id for t, case_id in known if _quarter(t) == quarter]
    if not candidates or key not in order:
        return [None, None]
    rank = order.index(key) / len(order)
    forwards = candidates[min(int(rank * len(candidates)), len(candidates) - 1)]
    backwards = candidates[::-1][min(int(rank * len(candidates)), len(candidates) - 1)]
    return [forwards, backwards]


async def test_pseudonymous_rows_cannot_be_linked_to_cases_by_time(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    outcome = await _simulate(database, keys, policy, now)
    print(  # noqa: T201  (the figures docs/storage.md quotes; shown with -s)
        f"linking with quarter-hour times: {outcome.targets} row keys, attacker {outcome.accuracy:.3f}, "
        f"row order {outcome.order_accuracy:.3f}, "
        f"chance {outcome.chance:.3f} +/- {outcome.standard_error:.3f}"
    )
    assert outcome.targets >= REPORTERS  # drafts, message lists and rate limits were all attacked
    assert outcome.chance < 0.25  # enough students per quarter hour for chance to mean something
    assert outcome.accuracy <= outcome.chance + 3 * outcome.standard_error
    assert outcome.order_accuracy <= outcome.chance + 3 * outcome.standard_error


async def test_positive_control_exact_times_link_most_rows(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The protection off: plain times to the microsecond, as drafts and rate limits had them before.
    monkeypatch.setattr(coarse, "floor", lambda moment, grain=coarse.GRAIN: moment)
    monkeypatch.setattr(coarse, "ceil", lambda moment, grain=coarse.GRAIN: moment)
    outcome = await _simulate(database, keys, policy, now)
    print(  # noqa: T201
        f"linking with exact times: {outcome.targets} row keys, attacker {outcome.accuracy:.3f}, "
        f"chance {outcome.chance:.3f} +/- {outcome.standard_error:.3f}"
    )
    assert outcome.accuracy >= 0.7
    assert outcome.accuracy > outcome.chance + 10 * outcome.standard_error


async def test_positive_control_rows_in_write_order_link_by_order(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    # The rows as a heap would hold them without the reordering: in the order they were last written.
    outcome = await _simulate(database, keys, policy, now, order_oracle=True)
    print(  # noqa: T201
        f"linking by write order: {outcome.targets} row keys, row order {outcome.order_accuracy:.3f}, "
        f"chance {outcome.chance:.3f} +/- {outcome.standard_error:.3f}"
    )
    assert outcome.order_accuracy > outcome.chance + 6 * outcome.standard_error
