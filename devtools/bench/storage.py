"""Benchmarks of the case store: `python -m devtools.bench.storage` (or `make bench-storage`).

Measures, on this machine: the cryptographic floor (X25519 key agreements,
key generation, HKDF, AES-GCM) and sealing and opening one message against
it (µs, median); case creation (with SQL statements per case and the top of
its profile), listing and reading on SQLite and on PostgreSQL
(TEST_DATABASE_URL, as `scripts/test-postgres` prints; skipped with a note
when unset); and `sro stats` over 1,000,000 statistic rows. With
`--baseline REV` (by default the commit before issue 11's storage work;
`none` to skip) the same measurements run on that revision's code too, in a
git worktree, alternating with this code's (`--rounds` rounds of crypto and
cases, medians; then the statistics once each), so that old and new share
the machine's load as far as a shared machine allows (the baseline skips the
all-months query: minutes). Writes the "Case store" section of
docs/benchmarks.md, leaving other sections alone. `--json FILE` only measures and writes the figures (what the
baseline run does).

`python -m devtools.bench.storage --rotation-only` measures `sro keys rotate` over
100,000 stored messages (`--rotation-messages`) and writes the "Key
rotation" section instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import os
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, event, insert
from sqlalchemy.ext.asyncio import AsyncSession

from casework import officers, schools
from casework.cases import intake, reading
from casework.delivery import routing
from casework.policy import CasePolicy
from casework.schools import NewSchool
from casework.stats import pool
from casework.stats import report as report_module
from casework.stats.cube import BaseRow
from casework.stats.disclosure import SMALL_MAX
from casework.stats.periods import Granularity, last_settled_day, month_start, months_between, period_of
from casework.stats.pool import usable_cores
from casework.stats.report import StatsQuery, build_report
from casework.vault import crypto, directory_auth, rewrap, rotation, sealing
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from devtools.benchdoc import git_revision, machine, write_section
from storage import migrations
from storage.db import Database
from storage.models import (
    AssignmentKind,
    Case,
    CaseKind,
    CaseMessage,
    Direction,
    IntentStat,
    KeyEnvelope,
    ProtectedMonth,
    RecipientKind,
    Role,
)

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
POLICY = CasePolicy(
    timedelta(minutes=5), timedelta(hours=24), timedelta(days=90), ZoneInfo("America/Toronto")
)
CONCURRENCY = 16  # students sending at the same moment, as under a burst (each in its own task)
BODY = {
    "text": "Someone showed a knife near the east doors after lunch " * 3,
    "where": "east doors",
    "when": "today",
}


def _median_us(operation: Callable[[], object], rounds: int, per_round: int = 1) -> float:
    """Median µs of one call over `rounds` rounds of `per_round` calls (medians resist the shared machine)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            operation()
        times.append((time.perf_counter() - start) / per_round)
    return statistics.median(times) * 1e6


def bench_floor(rounds: int) -> dict[str, float]:
    """The primitives' cost on this machine, through `cryptography` as the façade uses it (µs, median)."""
    mine, theirs = X25519PrivateKey.generate(), X25519PrivateKey.generate().public_key()
    raw_theirs = theirs.public_bytes_raw()
    key, nonce, content_key = crypto.random_key(), bytes(12), crypto.random_key()
    return {
        "agreement": _median_us(
            lambda: mine.exchange(X25519PublicKey.from_public_bytes(raw_theirs)), rounds, 10
        ),
        "exchange": _median_us(lambda: mine.exchange(theirs), rounds, 10),
        "keygen": _median_us(lambda: crypto.public_bytes(crypto.new_private_key()), rounds, 10),
        "hkdf": _median_us(lambda: crypto.derive_key(key, b"sro-connect bench" + raw_theirs * 2), rounds, 10),
        "aes_gcm_key": _median_us(
            lambda: AESGCM(key).encrypt(nonce, content_key, b"|case=1|seq=1"), rounds, 10
        ),
    }


def bench_crypto(rounds: int) -> tuple[float, float]:
    """Median µs to seal one message for 4 officers + the student, and to open it as one of them."""
    keys = [crypto.new_private_key() for _ in range(5)]
    publics = [crypto.public_bytes(k) for k in keys]
    seal_envelopes = getattr(sealing, "seal_envelopes", None)  # absent before envelope version 2
    seal_times, open_times = [], []
    for n in range(rounds):
        start = time.perf_counter()
        content_key = crypto.random_key()
        sealed = crypto.seal(
            content_key, sealing.encode_body(BODY), sealing.message_aad(1, n, Direction.STUDENT)
        )
        if seal_envelopes is not None:
            envelopes = seal_envelopes(content_key, 1, n, list(enumerate(publics)))
        else:
            envelopes = [
                crypto.wrap_key(content_key, p, sealing.envelope_context(1, n, i))
                for i, p in enumerate(publics)
            ]
        seal_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        key = crypto.unwrap_key(envelopes[2], keys[2], sealing.envelope_context(1, n, 2))
        sealing.decode_body(crypto.open_sealed(key, sealed, sealing.message_aad(1, n, Direction.STUDENT)))
        open_times.append(time.perf_counter() - start)
    return statistics.median(seal_times) * 1e6, statistics.median(open_times) * 1e6


async def bench_cases(
    url: str, count: int, *, profile: bool = False, concurrency: int = CONCURRENCY
) -> dict[str, object]:
    """Cases created, lists and reads per second, one transaction each, one at a time; SQL statements
    per case created; cases created by `concurrency` creators at once (each case its own transaction,
    and, where the code has it, through `CaseBatcher`: the cases asked at the same moment in one);
    with `profile`, the top of a profile of 100 more cases created one at a time."""
    await migrations.upgrade(url)
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            keys = await KeyRing.load(session, MasterKey.generate(), NOW)
            school = await schools.add_school(session, NewSchool.checked("Bench Secondary", "BENCH"), NOW)
            officer = await officers.create_officer(
                session, keys, display_name="Cst. Bench", role=Role.OFFICER, now=NOW
            )
            await officers.assign(session, keys, officer, "BENCH", kind=AssignmentKind.PRIMARY, now=NOW)
            for n in range(3):
                await officers.create_officer(
                    session, keys, display_name=f"Sgt. {n}", role=Role.SUPERVISOR, now=NOW
                )

        def arguments(n: int) -> dict[str, Any]:
            return {
                "school_id": school.id, "kind": CaseKind.REPORT, "intent": "report_weapon",
                "urgent": n % 5 == 0, "body": BODY, "notify_chat_id": None, "now": NOW,
            }  # fmt: skip

        async def create(n: int) -> intake.OpenedCase:
            async with db.transaction() as session:
                return await intake.open_case(session, keys, POLICY, **arguments(n))

        statements = 0

        def count_statement(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", count_statement)
        start = time.perf_counter()
        opened = [await create(n) for n in range(count)]
        created = time.perf_counter() - start
        event.remove(db.engine.sync_engine, "before_cursor_execute", count_statement)
        start = time.perf_counter()
        for _ in range(count):
            async with db.transaction() as session:
                listed = await reading.list_officer_cases(session, officer, limit=50)
        listing = time.perf_counter() - start
        start = time.perf_counter()
        for case in opened:
            async with db.transaction() as session:
                await reading.read_case_as_officer(session, keys, case.case_id, officer)
        read = time.perf_counter() - start
        assert len(listed) == min(50, count)
        result: dict[str, object] = {
            "create": count / created,
            "list": count / listing,
            "read": count / read,
            "statements": statements / count,  # BEGIN counted, COMMIT not (the driver's own call)
            "concurrency": concurrency,
            "create_concurrent": await _created_at_once(create, count, concurrency),
        }
        result.update(await _batched(db, keys, arguments, count, concurrency, profile=profile))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for n in range(100):
                await create(n)
            profiler.disable()
            result["profile"] = _profile_top(profiler, "cumulative", 14)
        return result
    finally:
        await db.close()


async def _batched(
    db: Database,
    keys: KeyRing,
    arguments: Callable[[int], dict[str, Any]],
    count: int,
    concurrency: int,
    *,
    profile: bool,
) -> dict[str, object]:
    """Cases per second through `CaseBatcher` (absent from older code: nothing), and its profile."""
    try:
        from casework.cases import intake_batch
    except ImportError:
        return {}
    batcher = intake_batch.CaseBatcher(db, keys, POLICY)

    async def create_batched(n: int) -> intake.OpenedCase:
        return await batcher.open(intake.NewCase(**arguments(n)))

    statements = 0

    def count_statement(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count_statement)
    rate = await _created_at_once(create_batched, count, concurrency)
    event.remove(db.engine.sync_engine, "before_cursor_execute", count_statement)
    result: dict[str, object] = {"create_batched": rate, "statements_batched": statements / count}
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await _created_at_once(create_batched, 320, concurrency)
        profiler.disable()
        result["profile_batched"] = _profile_top(profiler, "cumulative", 14)
    return result


async def _created_at_once(
    create: Callable[[int], Awaitable[intake.OpenedCase]], count: int, concurrency: int
) -> float:
    """Cases per second when `concurrency` creators each open cases one after another, all at once;
    checks that every case got its own reference and id."""
    numbers = iter(range(count))
    opened: list[intake.OpenedCase] = []

    async def creator() -> None:
        for n in numbers:
            opened.append(await create(n))

    start = time.perf_counter()
    await asyncio.gather(*(creator() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    assert len({case.case_id for case in opened}) == count
    return count / elapsed


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the stats pool's workers): on a shared
    machine, what a query costs, whatever else competes for the cores."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _profile_top(profiler: cProfile.Profile, order: str, lines: int) -> list[str]:
    """The profile's top entries of our own code (casework, storage) and the LP solver: 'calls | s | name'."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "highspy" in name:  # the LP solver, C code: its own time is the audit's floor
            rows.append((cumulative if order == "cumulative" else own, calls, name.strip("<>")))
        for package in ("casework/", "storage/"):
            if f"/{package}" in filename:
                where = filename[filename.index(f"/{package}") + 1 :]
                rows.append((cumulative if order == "cumulative" else own, calls, f"{where}:{line}({name})"))
    rows.sort(reverse=True)
    return [f"{calls} | {seconds:.3f} | `{where}`" for seconds, calls, where in rows[:lines]]


STATS_QUERIES = ("month_all_schools", "day_all_schools", "month_one_school")


async def bench_stats(
    url: str,
    rows_wanted: int,
    schools_count: int,
    *,
    full: bool = True,
    profile: bool = False,
    rounds: int = 1,
    queries: tuple[str, ...] = STATS_QUERIES,
) -> dict[str, float]:
    """Load `rows_wanted` statistic rows, then time `sro stats` queries (`full`: also all months).

    Each query's first run (cache emptied) is timed `rounds` times: medians, and every round's
    wall and CPU seconds in `{query}_first_runs`."""
    await migrations.upgrade(url)
    db = Database.connect(url)
    rng = random.Random(7)  # noqa: S311 (synthetic data)
    intents = [f"intent_{n:02d}" for n in range(23)]
    try:
        async with db.transaction() as session:
            ids = []
            for n in range(schools_count):
                ids.append(
                    (await schools.add_school(session, NewSchool.checked(f"School {n}", f"S{n:03d}"), NOW)).id
                )
        values: list[dict[str, object]] = []
        day = date(2023, 1, 1)
        rate = {i: rng.uniform(0.05, 1.2) for i in intents}
        while len(values) < rows_wanted:
            for school_id in ids:
                for intent in intents:
                    for urgent in (False, True):
                        lam = rate[intent] * (0.15 if urgent else 1.0)
                        count = _poisson(rng, lam)
                        if count:
                            values.append(
                                {
                                    "school_id": school_id,
                                    "intent": intent,
                                    "day": day,
                                    "urgent": urgent,
                                    "count": count,
                                }
                            )
            day += timedelta(days=1)
        values = values[:rows_wanted]
        start = time.perf_counter()
        for chunk in range(0, len(values), 20_000):
            async with db.transaction() as session:
                await session.execute(insert(IntentStat), values[chunk : chunk + 20_000])
        loaded = time.perf_counter() - start
        last_day = values[-1]["day"]
        assert isinstance(last_day, date)
        today = (month_start(last_day) - timedelta(days=1)).replace(day=1) + timedelta(days=40)
        newest = month_start(month_start(last_day) - timedelta(days=1))
        settled = last_settled_day(today)
        timings = {"rows": float(len(values)), "load_s": loaded}
        for label, query in (
            ("month_all_schools", StatsQuery(newest, newest + timedelta(days=27), None, Granularity.MONTH)),
            ("day_all_schools", StatsQuery(newest, newest + timedelta(days=27), None, Granularity.DAY)),
            ("month_one_school", StatsQuery(newest, newest + timedelta(days=27), "S000", Granularity.MONTH)),
            ("all_months_all_schools", StatsQuery(date(2023, 1, 1), settled, None, Granularity.MONTH)),
        ):
            if (label == "all_months_all_schools" and not full) or label not in (
                *queries,
                "all_months_all_schools",
            ):
                continue
            timings.update(await _time_query(db, label, query, today, rounds))
        if profile:
            timings["profile"] = await _profile_protection(db, newest, 10)  # type: ignore[assignment]
        months = months_between(date(2023, 1, 1), settled)
        timings["months"] = float(len(months))
        timings["schools"] = float(schools_count)
        timings["without_small_counts"] = _share_without_small_counts(values, settled)
        return timings
    finally:
        await db.close()


async def _time_query(
    db: Database, label: str, query: StatsQuery, today: date, rounds: int
) -> dict[str, float]:
    """`rounds` cold runs of `query` (the cache emptied before each: medians), then one cached."""
    timings: dict[str, Any] = {}
    runs: list[tuple[float, float]] = []
    for run in ["first"] * rounds + ["cached"]:
        if run == "first":
            async with db.transaction() as session:
                await session.execute(delete(ProtectedMonth))  # the first query finds the cache empty
        start, cpu = time.perf_counter(), _cpu_seconds()
        report = await build_report(db, query, today)
        wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        assert report.cells
        protected = report.protected_school_months
        assert (protected > 0) if run == "first" else (protected == 0)
        print(f"{label} {run}: {wall:.2f} s, {cpu:.2f} CPU s", flush=True)  # noqa: T201
        if run == "first":
            runs.append((wall, cpu))
    timings[f"{label}_first_s"] = statistics.median(r[0] for r in runs)
    timings[f"{label}_first_cpu"] = statistics.median(r[1] for r in runs)
    timings[f"{label}_cached_s"], timings[f"{label}_cached_cpu"] = wall, cpu
    timings[f"{label}_first_runs"] = runs
    timings[f"{label}_school_months"] = float(report.cached_school_months)
    return timings


async def _profile_protection(db: Database, month: date, school_months: int) -> list[str]:
    """The top of a profile of protecting `school_months` school-months of `month` in this process
    (side by side, as one unit of work, where the code has units; else one by one)."""
    async with db.transaction() as session:
        rows = await report_module._statistic_rows(session, [month], None)
    tasks = [
        pool.Task(m, school, [BaseRow(school, *row) for row in school_rows])
        for (m, school), school_rows in sorted(rows.items())[:school_months]
    ]
    protect_unit = getattr(pool, "protect_unit", None)  # this file also runs on older code
    profiler = cProfile.Profile()
    profiler.enable()
    if protect_unit is not None:
        protect_unit(tasks)
    else:
        for task in tasks:
            pool.protect_encoded(task)
    profiler.disable()
    return _profile_top(profiler, "own", 12)


def _share_without_small_counts(values: list[dict[str, object]], settled: date) -> float:
    """The share of settled school-months with no published count of 1..4 at any level (day, week,
    month; each intent, all intents, urgent): those skip propagation and the audit altogether."""
    by_school_month: dict[tuple[date, object], list[BaseRow]] = defaultdict(list)
    for v in values:
        day = v["day"]
        assert isinstance(day, date)
        if day <= settled:
            row = BaseRow(
                int(str(v["school_id"])), str(v["intent"]), day, bool(v["urgent"]), int(str(v["count"]))
            )
            by_school_month[(month_start(day), v["school_id"])].append(row)
    clear = 0
    for rows in by_school_month.values():
        totals: dict[tuple[object, ...], int] = defaultdict(int)
        for row in rows:
            for granularity in Granularity:
                period = period_of(row.day, granularity)
                for intent in (row.intent, "*"):
                    totals[("count", intent, period)] += row.count
                if row.urgent:
                    totals[("urgent", period)] += row.count
        clear += not any(1 <= total <= SMALL_MAX for total in totals.values())
    return clear / len(by_school_month)


# `sro stats` before the cache (bounds propagation and a slower audit on one core, every query
# protecting every school of every month it touches), as measured by this benchmark then.
BEFORE = {
    "date": "2026-11-29",
    "month_all_schools": "81.8 s",
    "day_all_schools": "64.5 s",
    "month_one_school": "50.0 s",
    "all_months_all_schools": "about 72 min (estimated)",
}


def _seconds(value: float) -> str:
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.1f} s" if value >= 1 else f"{value:.2f} s"


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


Results = dict[str, Any]
FULL_QUERY_BEFORE = "4.8 min (2026-11-29)"  # the all-months query before issue 11, measured then
BASELINE = "e8e3c7f"  # the last commit before issue 11's storage work (envelopes v2, fewer statements)
PG_NAME, SQLITE_NAME = "PostgreSQL 15", "SQLite (WAL, file)"


async def measure(args: argparse.Namespace, parts: str) -> Results:
    """The figures of the "Case store" section named in `parts` ("crypto,cases,stats"), measured with
    whatever code is importable."""
    results: Results = {"cases": {}}
    if "crypto" in parts:
        floor = bench_floor(max(1, args.crypto_rounds // 10))
        seal_us, open_us = bench_crypto(args.crypto_rounds)
        results.update(floor=floor, seal_us=seal_us, open_us=open_us)
        print(f"floor {floor}; seal {seal_us:.0f} µs; open {open_us:.0f} µs", flush=True)  # noqa: T201
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in ((SQLITE_NAME, None), (PG_NAME, os.environ.get("TEST_DATABASE_URL"))):
            if "cases" not in parts:
                break
            if name == PG_NAME and url is None:
                continue
            url = url or f"sqlite+aiosqlite:///{Path(tmp) / 'cases.db'}"
            if url.startswith("postgresql"):
                url = await _fresh_pg(url, "sro_bench_cases")
            results["cases"][name] = await bench_cases(
                url, args.cases, profile=name == SQLITE_NAME, concurrency=args.concurrency
            )
            print(name, {k: v for k, v in results["cases"][name].items() if k != "profile"}, flush=True)  # noqa: T201
        if args.stats_rows and "stats" in parts:
            stats_url = f"sqlite+aiosqlite:///{Path(tmp) / 'stats.db'}"
            load_before = os.getloadavg()[0]
            results["stats"] = await bench_stats(
                stats_url,
                args.stats_rows,
                args.schools,
                full=not args.no_full_stats,
                profile=True,
                rounds=args.stats_rounds,
                queries=tuple(args.stats_queries.split(",")),
            )
            results["stats"]["load"] = [load_before, os.getloadavg()[0]]
    return results


def side_by_side(revision: str | None, args: argparse.Namespace) -> tuple[Results, Results | None]:
    """`measure` now and on `revision`'s code, alternating: crypto and cases `--rounds` times each
    (medians), then the statistics once each. The machine is shared: alternating puts both under
    the same load as far as anything can."""
    if revision is None:
        parts = "stats" if args.stats_only else "crypto,cases" if args.cases_only else "crypto,cases,stats"
        return asyncio.run(measure(args, parts)), None
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        git = ["git", "-C", str(root), "worktree"]
        subprocess.run([*git, "add", "--detach", str(tree), revision], check=True, capture_output=True)  # noqa: S603
        try:
            # This file, as a module of the worktree: run by path, its own folder would come first
            # on sys.path and shadow the `storage` package.
            shutil.copyfile(Path(__file__), tree / "devtools" / "bench" / "storage_now.py")
            befores, nows = [], []
            for _ in range(0 if args.stats_only else args.rounds):
                befores.append(_run_in(tree, args, "crypto,cases"))
                nows.append(asyncio.run(measure(args, "crypto,cases")))
            before, now = (_medians(befores), _medians(nows)) if befores else ({}, {})
            if args.cases_only:
                return now, before
            before["stats"] = _run_in(tree, args, "stats").get("stats")
            now["stats"] = asyncio.run(measure(args, "stats")).get("stats")
            return now, before
        finally:
            subprocess.run([*git, "remove", "--force", str(tree)], check=False, capture_output=True)  # noqa: S603


def _run_in(tree: Path, args: argparse.Namespace, parts: str) -> Results:
    out = tree / "figures.json"
    command = [
        sys.executable, "-m", "devtools.bench.storage_now", "--json", str(out), "--parts", parts,
        "--crypto-rounds", str(args.crypto_rounds), "--cases", str(args.cases),
        "--concurrency", str(args.concurrency),
        "--stats-rows", str(args.stats_rows), "--schools", str(args.schools),
        "--stats-rounds", str(args.stats_rounds), "--stats-queries", args.stats_queries,
        "--no-full-stats",  # minutes on the old code: its figure is FULL_QUERY_BEFORE
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})  # noqa: S603
    return dict(json.loads(out.read_text()))


def _medians(runs: list[Results]) -> Results:
    """Each number's median over the runs; anything else (profiles) from the first run."""

    def merge(values: list[Any]) -> Any:
        if all(isinstance(v, int | float) for v in values):
            return statistics.median(values)
        if all(isinstance(v, dict) for v in values):
            return {k: merge([v[k] for v in values if k in v]) for k in values[0]}
        return values[0]

    merged: Results = merge(runs)
    return merged


def _ratio(new: float, old: float | None) -> str:
    return f"×{new / old:.1f}" if old else ""


def _crypto_lines(now: Results, before: Results | None) -> list[str]:
    def row(label: str, value: Callable[[Results], float], unit: str = " µs") -> str:
        old = f"{value(before):.1f}{unit}" if before else ""
        return f"| {label} | {old} | {value(now):.1f}{unit} |"

    def five(r: Results) -> float:
        return float(r["seal_us"]) / (5 * float(r["floor"]["agreement"]))

    def bare(r: Results) -> float:
        return float(r["seal_us"]) / (5 * float(r["floor"].get("exchange", r["floor"]["agreement"])))

    def ratio_row(label: str, ratio: Callable[[Results], float] = five) -> str:
        return (
            f"| {label} | {ratio(before):.2f}× | {ratio(now):.2f}× |"
            if before
            else f"| {label} | | {ratio(now):.2f}× |"
        )

    return [
        "| operation (median) | before | now |",
        "|---|---|---|",
        row(
            "X25519 key agreement with a 32-byte public key (the floor: parse + exchange; `cryptography`)",
            lambda r: r["floor"]["agreement"],
        ),
        row("X25519 exchange alone (public key already parsed)", lambda r: r["floor"].get("exchange", 0.0)),
        row("X25519 key generation (an ephemeral key)", lambda r: r["floor"]["keygen"]),
        row("HKDF-SHA256 (one wrapping key)", lambda r: r["floor"]["hkdf"]),
        row("AES-256-GCM (one 32-byte key wrapped)", lambda r: r["floor"]["aes_gcm_key"]),
        row("seal one message for 5 readers (content key, AES-256-GCM, 5 envelopes)", lambda r: r["seal_us"]),
        ratio_row("sealing ÷ 5 key agreements measured in the same run"),
        ratio_row("sealing ÷ 5 bare exchanges (stricter)", bare),
        row("open one message (one key agreement, unwrap, decrypt)", lambda r: r["open_us"]),
    ]


def _cases_lines(now: Results, before: Results | None) -> list[str]:
    lines = [
        "| database | cases created/s before | now | ratio | SQL statements per case before | now "
        "| case lists/s (50 per list) | cases read/s (decrypted) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    at_once = [
        "| database | creators at once | each case its own transaction: before | now | ratio "
        "| concurrent cases committed together (`CaseBatcher`) | ratio to before "
        "| SQL statements per case, together |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in (SQLITE_NAME, PG_NAME):
        new = now["cases"].get(name)
        if new is None:
            lines.append(f"| {name} | not measured: TEST_DATABASE_URL unset | | | | | | |")
            continue
        old = (before or {}).get("cases", {}).get(name, {})
        lines.append(
            f"| {name} | {old.get('create', 0):.0f} | {new['create']:.0f} "
            f"| {_ratio(new['create'], old.get('create'))} | {old.get('statements', 0):.0f} "
            f"| {new['statements']:.0f} | {new['list']:.0f} | {new['read']:.0f} |"
        )
        if "create_concurrent" in new:
            was = old.get("create_concurrent")
            batched = new.get("create_batched")
            at_once.append(
                f"| {name} | {new['concurrency']:.0f} | {was or 0:.0f} | {new['create_concurrent']:.0f} "
                f"| {_ratio(new['create_concurrent'], was)} | {batched or 0:.0f} "
                f"| {_ratio(batched, was) if batched else ''} | {new.get('statements_batched', 0):.1f} |"
            )
    return [*lines, "", *at_once] if len(at_once) > 2 else lines


def _stats_lines(now: Results, before: Results | None) -> list[str]:
    t = now["stats"]
    old = (before or {}).get("stats", {})
    full = "all_months_all_schools"
    lines = [
        f"`sro stats` over {t['rows']:,.0f} statistic rows (SQLite; {t['schools']:.0f} schools x 23 intents, "
        f"{t['months']:.0f} settled months of days; loaded in {t['load_s']:.0f} s). First: the cache of "
        "protected months is empty; months are protected in the query's process, shared with one helper "
        f"process per idle core (load average under 1.5 on 2 cores) from {pool.POOL_MIN_TASKS} "
        "school-months, and the audit's proofs run on one more thread per idle core no helper took. "
        "Cached: "
        "the same query again. Before: the same first query on the baseline's code, in the same run. CPU s: "
        "CPU seconds of the query's process and its workers, less sensitive than wall time to what "
        "else runs on the machine. Load "
        f"average {t['load'][0]:.1f} before and {t['load'][1]:.1f} after these queries (other processes "
        "share the cores).",
        "",
        "| query | before (first) | first | ratio | CPU s before (first) | CPU s now | CPU ratio | cached |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, name in (
        ("month_all_schools", "newest month, all schools, `--by month`"),
        ("day_all_schools", "newest month, all schools, `--by day`"),
        ("month_one_school", "newest month, one school, `--by month`"),
        (full, f"all {t['months']:.0f} months, all schools, `--by month`"),
    ):
        if f"{label}_first_s" not in t:
            continue
        first = t[f"{label}_first_s"]
        was = old.get(f"{label}_first_s")
        shown = _seconds(was) if was else FULL_QUERY_BEFORE if label == full else "not measured"
        cpu, cpu_was = t.get(f"{label}_first_cpu", 0.0), old.get(f"{label}_first_cpu")
        cpu_columns = f"{cpu_was:.1f} | {cpu:.1f} | {_ratio(cpu_was, cpu)}" if cpu_was else f" | {cpu:.1f} | "
        lines.append(
            f"| {name} | {shown} | {_seconds(first)} "
            f"| {_ratio(was, first) if was else ''} | {cpu_columns} | {_seconds(t[f'{label}_cached_s'])} |"
        )
    if f"{full}_first_s" not in t:
        lines += [
            "",
            "The all-months query was not measured in this run (`--no-full-stats`); "
            f"before: {FULL_QUERY_BEFORE}.",
        ]
    if f"{full}_first_s" in t:
        per_school_month = t[f"{full}_first_s"] / t[f"{full}_school_months"]
        lines += [
            "",
            f"Protection takes about {per_school_month:.2f} s of wall time per school-month on a cold cache "
            f"({t[f'{full}_school_months']:.0f} school-months in the full query).",
        ]
    lines += [
        "",
        "A cached query still reads the months' rows, to check their fingerprints. A `--school` query "
        "protects (or reads) that school's months only: schools are protected independently. "
        "School-months with no count of 1 to 4 at any level skip protection altogether: "
        f"{100 * t['without_small_counts']:.1f}% of this data set.",
    ]
    return lines


def _profile_lines(
    title: str, key: Callable[[Results], list[str] | None], now: Results, before: Results | None
) -> list[str]:
    lines = ["", title, ""]
    for label, results in (("Before", before), ("Now", now)):
        entries = key(results) if results else None
        if entries:
            lines += [
                f"{label}:",
                "",
                "| calls | seconds | function |",
                "|---|---|---|",
                *(f"| {e} |" for e in entries),
                "",
            ]
    return lines


def write_doc(args: argparse.Namespace, now: Results, before: Results | None) -> None:
    """The "Case store" section of docs/benchmarks.md from both runs' figures."""
    lines = _case_store_lines(args, now, before)
    if "stats" in now:
        lines += ["", *_stats_lines(now, before)]
        lines += _profile_lines(
            "Top of the profile of protecting 10 school-months of the newest month in one process "
            "(own seconds under cProfile; `highspy` is the LP solver):",
            lambda r: r.get("stats", {}).get("profile"), now, before,
        )  # fmt: skip
    write_section("Case store", "\n".join(lines))
    print("\n".join(lines))  # noqa: T201


def _case_store_lines(args: argparse.Namespace, now: Results, before: Results | None) -> list[str]:
    """The section's crypto and cases part."""
    revision = f"`{args.baseline}` (before) and " if args.baseline else ""
    lines = [
        f"Measured by `make bench-storage` (`python -m devtools.bench.storage`) "
        f"on {date.today().isoformat()}, "  # noqa: DTZ011
        f"at {revision}{git_revision()} (now) on {machine()}; before and now in the same run, one "
        f"after the other, alternating (crypto and cases: medians of {args.rounds} rounds each).",
        "",
        *_crypto_lines(now, before),
        "",
        "Sealing uses one ephemeral key per message (envelope version 2): N readers cost N+1 scalar "
        "multiplications (the ephemeral key, then one agreement each) instead of 2N; each reader's "
        "wrapping key is bound to their public key, the ephemeral key and the case/message/reader "
        "context (HKDF info and AEAD associated data). Version 1 envelopes still open. Readers' public "
        "keys are parsed once per process (the same officers seal every case of their schools). "
        "libsodium (PyNaCl 1.6.2, measured here apart: 17 µs to make a key pair against 34 µs) would "
        "halve the ephemeral key's cost.",
        "",
        *_cases_lines(now, before),
        "",
        "First table: cases created one at a time, one transaction each, as the bot does for one "
        "student. Second: several creators at once, each opening cases one after another, as the bot "
        "does under a burst (every student's turn in its own task): each case in its own transaction "
        "(on SQLite they take turns at the one writer; on PostgreSQL they share the connection pool), "
        "and through `casework.cases.intake_batch.CaseBatcher`, which opens the cases asked at the same "
        "moment in one transaction, one statement per table, each caller answered after the commit.",
    ]
    lines += _profile_lines(
        "Top of the profile of 100 cases created on SQLite (our code, cumulative seconds under cProfile):",
        lambda r: r["cases"].get(SQLITE_NAME, {}).get("profile"), now, before,
    )  # fmt: skip
    creators = now["cases"].get(SQLITE_NAME, {}).get("concurrency", CONCURRENCY)
    lines += _profile_lines(
        f"Top of the profile of 320 cases created on SQLite by {creators:.0f} creators at once through "
        "`CaseBatcher` (same columns):",
        lambda r: r["cases"].get(SQLITE_NAME, {}).get("profile_batched"), now, None,
    )  # fmt: skip
    return lines


MESSAGES_PER_CASE = 10


async def bench_rotation(url: str, messages: int, batch_size: int) -> dict[str, float]:
    """Store `messages` messages (10 a case, 5 officer envelopes + the student's each), then rotate."""
    await migrations.upgrade(url)
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            keys = await KeyRing.load(session, MasterKey.generate(), NOW)
            school = await schools.add_school(session, NewSchool.checked("Bench Secondary", "BENCH"), NOW)
            for n, role in enumerate((Role.OFFICER, Role.OFFICER, *[Role.SUPERVISOR] * 3)):
                officer = await officers.create_officer(
                    session, keys, display_name=f"Bench {n}", role=role, now=NOW
                )
                if n < 2:
                    kind = AssignmentKind.PRIMARY if n == 0 else AssignmentKind.BACKUP
                    await officers.assign(session, keys, officer, "BENCH", kind=kind, now=NOW)
            recipients = await routing.sealing_recipients(session, school.id, NOW)
        start = time.perf_counter()
        case_count = messages // MESSAGES_PER_CASE
        for first in range(0, case_count, 100):
            async with db.transaction() as session:
                opened = [
                    await intake.open_case(
                        session, keys, POLICY, school_id=school.id, kind=CaseKind.REPORT,
                        intent="report_weapon", urgent=False, body=BODY, notify_chat_id=None, now=NOW,
                    )
                    for _ in range(first, min(first + 100, case_count))
                ]  # fmt: skip
                await _bulk_messages(session, keys, [o.case_id for o in opened], recipients)
        generated = time.perf_counter() - start
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        async with db.transaction() as session:
            _, generation = await rotation.begin(session, keys, MasterKey.generate(), NOW)
        keys.replace(generation)
        begin_s = time.perf_counter() - start
        longest_batch = 0.0
        batches = 0
        while True:
            step = time.perf_counter()
            async with db.transaction() as session:
                done = await rewrap.reseal_batch(session, keys, NOW, batch_size=batch_size)
            longest_batch = max(longest_batch, time.perf_counter() - step)
            if not done:
                break
            batches += 1
        step = time.perf_counter()
        async with db.transaction() as session:
            stale = await rotation.finish(session, keys, NOW)
        finish_s = time.perf_counter() - step
        total = time.perf_counter() - start
        assert stale == 0
        async with db.transaction() as session:
            officer_id = recipients[0].officer_id
            thread = await reading.read_case_as_officer(session, keys, case_count, officer_id)
            assert len(thread.messages) == MESSAGES_PER_CASE
        return {
            "messages": case_count * MESSAGES_PER_CASE,
            "generated_s": generated,
            "total_s": total,
            "batches": batches,
            "begin_s": begin_s,
            "longest_batch_s": longest_batch,
            "finish_s": finish_s,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
    finally:
        await db.close()


async def _bulk_messages(
    session: AsyncSession, keys: KeyRing, case_ids: list[int], recipients: list[routing.SealingRecipient]
) -> None:
    """Nine more student messages per case, as `sealing.store_message` writes them, inserted in bulk."""
    message_rows: list[dict[str, object]] = []
    pending: list[tuple[int, int, bytes, list[tuple[RecipientKind, int | None, bytes, int | str]]]] = []
    plaintext = sealing.encode_body(BODY)
    for case_id in case_ids:
        case = await session.get(Case, case_id)
        assert case is not None
        readers: list[tuple[RecipientKind, int | None, bytes, int | str]] = [
            (RecipientKind.STUDENT, None, case.student_public_key, sealing.STUDENT)
        ]
        readers += [(RecipientKind.OFFICER, r.officer_id, r.public_key, r.officer_id) for r in recipients]
        for seq in range(2, MESSAGES_PER_CASE + 1):
            content_key = crypto.random_key()
            sealed = crypto.seal(content_key, plaintext, sealing.message_aad(case_id, seq, Direction.STUDENT))
            message = CaseMessage(
                case_id=case_id, seq=seq, direction=Direction.STUDENT, author_officer_id=None,
                created_at=NOW, nonce=sealed.nonce, ciphertext=sealed.ciphertext,
            )  # fmt: skip
            directory_auth.sign_with(keys, message)
            message_rows.append({c: getattr(message, c) for c in _MESSAGE_COLUMNS})
            pending.append((case_id, seq, content_key, readers))
        case.message_count = MESSAGES_PER_CASE
    ids = await session.scalars(
        insert(CaseMessage).returning(CaseMessage.id, sort_by_parameter_order=True), message_rows
    )
    envelope_rows: list[dict[str, object]] = []
    for message_id, (case_id, seq, content_key, readers) in zip(ids.all(), pending, strict=True):
        for kind, officer_id, public_key, name in readers:
            envelope = crypto.wrap_key(content_key, public_key, sealing.envelope_context(case_id, seq, name))
            envelope_rows.append(
                {
                    "message_id": message_id, "recipient_kind": kind, "officer_id": officer_id,
                    "ephemeral_public_key": envelope.ephemeral_public_key,
                    "nonce": envelope.nonce, "wrapped_key": envelope.wrapped_key,
                }
            )  # fmt: skip
    await session.execute(insert(KeyEnvelope), envelope_rows)


_MESSAGE_COLUMNS = (
    "case_id", "seq", "direction", "author_officer_id", "created_at", "nonce", "ciphertext", "mac",
)  # fmt: skip


async def bench_rotation_section(args: argparse.Namespace) -> None:
    targets: list[tuple[str, str | None]] = [("SQLite (WAL, file)", None)]
    pg = os.environ.get("TEST_DATABASE_URL")
    targets.append(("PostgreSQL 15", pg))
    lines = [
        f"Measured by `python -m devtools.bench.storage --rotation-only` on {date.today().isoformat()}, "  # noqa: DTZ011
        f"at {git_revision()} on {machine()}.",
        "",
        f"`sro keys rotate` over {args.rotation_messages:,} stored messages ({MESSAGES_PER_CASE} per case, "
        "each with 5 officer envelopes and the student's): new master key, 5 officer key pairs, new "
        "server keys, then every officer envelope re-wrapped and every MAC re-made in batches of "
        f"{args.rotation_batch} messages, each its own transaction. The bot waits on the rotation at most "
        "as long as its longest transaction: the first step, the longest batch, or the last step. "
        "Figures under the load of other work on the machine (load average in the note).",
        "",
        "| database | messages | rotation | messages/s | batches | first step | longest batch | last step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    loads: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in targets:
            if name.startswith("PostgreSQL") and url is None:
                lines.append(f"| {name} | not measured: TEST_DATABASE_URL unset | | | | | | |")
                continue
            url = url or f"sqlite+aiosqlite:///{Path(tmp) / 'rotation.db'}"
            if url.startswith("postgresql"):
                url = await _fresh_pg(url, "sro_bench_rotation")
            r = await bench_rotation(url, args.rotation_messages, args.rotation_batch)
            lines.append(
                f"| {name} | {r['messages']:,.0f} | {_seconds(r['total_s'])} | "
                f"{r['messages'] / r['total_s']:,.0f} | {r['batches']:.0f} | {_seconds(r['begin_s'])} | "
                f"{_seconds(r['longest_batch_s'])} | {_seconds(r['finish_s'])} |"
            )
            print(lines[-1], f"(generated in {r['generated_s']:.0f} s)", flush=True)  # noqa: T201
            loads.append(f"{name}: {r['load_before']:.1f} before, {r['load_after']:.1f} after")
    lines += ["", f"Load average on {usable_cores()} usable cores ({'; '.join(loads)})."]
    write_section("Key rotation", "\n".join(lines))


async def _fresh_pg(url: str, name: str) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(url).set(drivername="postgresql")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crypto-rounds", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help="Creators at once in the concurrent case runs."
    )
    parser.add_argument(
        "--cases-only",
        action="store_true",
        help="Only crypto and cases (before and now): print their lines instead of writing the section.",
    )
    parser.add_argument("--stats-rows", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--no-full-stats", action="store_true", help="Skip the all-months `sro stats` query.")
    parser.add_argument(
        "--baseline",
        default=BASELINE,
        help=f"A git revision measured first, side by side (its code, this file); 'none' to skip "
        f"(default {BASELINE}: before issue 11's storage work).",
    )
    parser.add_argument("--json", help="Only measure, and write the figures to this file.")
    parser.add_argument("--parts", default="crypto,cases,stats", help="With --json: what to measure.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds of crypto and cases.")
    parser.add_argument("--rotation-only", action="store_true", help="Only the key rotation benchmark.")
    parser.add_argument(
        "--stats-only",
        action="store_true",
        help="Only `sro stats` (before and now): print its lines of the section instead of writing it.",
    )
    parser.add_argument(
        "--stats-rounds", type=int, default=1, help="Cold runs of each stats query (medians)."
    )
    parser.add_argument(
        "--stats-queries",
        default=",".join(STATS_QUERIES),
        help="Which stats queries (all months: see above).",
    )
    parser.add_argument("--rotation-messages", type=int, default=100_000)
    parser.add_argument("--rotation-batch", type=int, default=rewrap.BATCH_SIZE)
    parsed = parser.parse_args()
    if parsed.rotation_only:
        asyncio.run(bench_rotation_section(parsed))
    elif parsed.json:
        figures = asyncio.run(measure(parsed, parsed.parts))
        Path(parsed.json).write_text(json.dumps(figures, default=str))
    else:
        if parsed.baseline == "none":
            parsed.baseline = None
        figures, baseline = side_by_side(parsed.baseline, parsed)
        if parsed.cases_only:
            print("\n".join(_case_store_lines(parsed, figures, baseline)))  # noqa: T201
        elif parsed.stats_only:
            both = {"before": (baseline or {}).get("stats"), "now": figures.get("stats")}
            print(json.dumps(both, default=str))  # noqa: T201
            print("\n".join(_stats_lines(figures, baseline)))  # noqa: T201
        else:
            write_doc(parsed, figures, baseline)
