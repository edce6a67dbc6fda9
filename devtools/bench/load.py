"""`make bench-load`: many students reporting at once, against a bare echo bot on the same emulator.

    .venv/bin/python -m devtools.bench.load [--students 50,200,1000] [--schools 20] [--rounds 3]

Everything runs as it would in production, each in its own process: the
Bot API emulator, the real Rasa server, the bot (`python -m bot`, SQLite in
WAL mode). Telegram's rate limits are off on both sides (the emulator has
none, TELEGRAM_PACING=false) so the figures show the software's own
ceiling; the last column says how long Telegram's limits would make the
same burst take. For each N: N students, spread over the schools, each with
a chosen school, send an urgent report at the same moment; measured is the
time from a student's message to the tip being delivered in their officer's
chat. Side by side, in the same run, a bare python-telegram-bot echo bot
(the default Application) answers N messages sent at once. Results go to
the "Load" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.settings import PROJECT_ROOT
from casework import officers, schools
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey
from devtools import procs
from devtools.benchdoc import git_revision, machine, write_section
from devtools.emulator.client import Emulator, User
from devtools.procs import free_port
from storage import migrations
from storage.db import Database
from storage.models import AssignmentKind, Role

REPORT = "a kid has a knife in his bag, locker {tag}"
TAG = re.compile(r"locker (\d{5})")
ECHO_TAG = re.compile(r"echo (\d+)")
CLASSIFIED = re.compile(r"student\.classified .*?source=(\w+)")  # the bot's log line for each message
TOKEN_PREFIX = "123456789:"  # noqa: S105 - a bot id; the random rest is made per run
TELEGRAM_OVERALL_PER_SECOND = 30
TELEGRAM_PER_CHAT_PER_SECOND = 1
NAN = float("nan")
BOT_MESSAGES_PER_STUDENT = 3  # safety information, the code, the "tell me more"


@dataclass(frozen=True)
class Result:
    sent: int
    delivered: int
    p50_s: float
    p99_s: float
    per_second: float
    peak_rss_mib: float
    wall_s: float
    # A student's message to the bot's first answer in their chat (the safety information): SRO only.
    first_answer_p50_s: float = float("nan")
    first_answer_p99_s: float = float("nan")
    # CPU milliseconds per report (per update for the echo bots) during the burst, by process.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    # Bot API calls per report (per update for the echo bots) during the burst, getUpdates aside.
    api_calls: float = float("nan")
    # The share of the burst's reports the Rasa server classified (the rest: the fallback classifier,
    # when the server was slower than the client's timeout or its queue wait): SRO only.
    by_rasa: float = float("nan")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_item(before: dict[str, float], pids: dict[str, int], items: int) -> dict[str, float]:
    """CPU ms per item (report, update, parse) each process used since `before`."""
    return {name: (cpu_seconds(pid) - before[name]) * 1000 / max(items, 1) for name, pid in pids.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)  # noqa: S603


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


async def wait_until(check: procs.Check, seconds: float, what: str) -> None:
    try:
        await procs.eventually(
            check, seconds=seconds, interval=0.2, ignore=(httpx.HTTPError, OSError), what=what
        )
    except TimeoutError:
        raise SystemExit(f"bench-load: {what} did not happen in {seconds:.0f} s") from None


async def seed(url: str, key: MasterKey, count: int) -> list[tuple[str, str, str]]:
    """`count` schools, one officer each; returns (school name, officer name, enrollment code)."""
    await migrations.upgrade(url)
    db = Database.connect(url)
    now = datetime.now(UTC)
    made = []
    try:
        async with db.transaction() as session:
            keys = await KeyRing.load(session, key, now)
            for i in range(count):
                code = f"LB{i:03d}"
                name = f"Loadtest School Number {i:03d}"
                await schools.add_school(session, schools.NewSchool.checked(name, code), now)
                officer_id = await officers.create_officer(
                    session, keys, display_name=f"Cst. {i}", role=Role.OFFICER, now=now
                )
                await officers.assign(session, keys, officer_id, code, kind=AssignmentKind.PRIMARY, now=now)
                made.append(
                    (name, f"Cst. {i}", await officers.issue_enrollment_code(session, keys, officer_id, now))
                )
    finally:
        await db.close()
    return made


async def run_reports(
    n: int, school_count: int, work: Path, nlu_url: str, nlu_token: str, nlu_pid: int | None = None
) -> Result:
    emulator_port = free_port()
    emulator = spawn(
        [sys.executable, "-m", "devtools.emulator", "--port", str(emulator_port)],
        dict(os.environ),
        work / f"emulator-{n}.log",
    )
    key = MasterKey.generate(KeySource("environment"))
    database_url = f"sqlite+aiosqlite:///{work / f'load-{n}.db'}"
    planned = await seed(database_url, key, school_count)
    env = {
        **os.environ,
        "PTB_TIMEDELTA": "true",
        "TELEGRAM_BOT_TOKEN": TOKEN_PREFIX + secrets.token_urlsafe(30),
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{emulator_port}/bot",
        "DATABASE_URL": database_url,
        "NLU_URL": nlu_url,
        "NLU_TOKEN": nlu_token,
        "SRO_MASTER_KEY": key.encoded(),
        # BENCH_TELEGRAM_PACING=true: the bot paces itself as for Telegram (30 messages/s, 1/s per chat).
        "TELEGRAM_PACING": os.environ.get("BENCH_TELEGRAM_PACING", "false"),
    }
    # BENCH_PROFILE=<file>: the bot runs under cProfile, its statistics written there when it stops.
    profile = os.environ.get("BENCH_PROFILE")
    profiler = ["-m", "cProfile", "-o", f"{profile}-{n}"] if profile else []
    bot = spawn([sys.executable, *profiler, "-m", "bot"], env, work / f"bot-{n}.log")
    await _up(emulator_port)
    emu = await Emulator.connect(f"http://127.0.0.1:{emulator_port}")
    try:
        await wait_until(emu.bot_connected, 60, "the bot connecting")
        officer_users: list[User] = []
        for _school, officer, code in planned:
            user = await emu.user(first_name=officer, started=True)
            await emu.send_text(user, f"/enroll {code}")
            await emu.next_message(user, timeout=30)
            officer_users.append(user)
        students = [await emu.user(first_name=f"S{i}", started=True) for i in range(n)]

        async def choose(i: int, student: User) -> None:
            school = planned[i % school_count][0]
            await emu.send_text(student, "/start")
            await emu.next_messages(student, 2, timeout=120)
            await emu.send_text(student, school)
            choices = await emu.next_message(student, timeout=120)
            await emu.press(student, choices, school)
            await emu.next_message(student, timeout=120)

        semaphore = asyncio.Semaphore(50)

        async def limited(i: int, student: User) -> None:
            async with semaphore:
                await choose(i, student)

        await asyncio.gather(*(limited(i, s) for i, s in enumerate(students)))
        await emu.clear_calls()

        sent_at: dict[str, float] = {}

        async def report(i: int, student: User) -> None:
            tag = f"{i:05d}"
            sent_at[tag] = time.time()
            await emu.send_text(student, REPORT.format(tag=tag))

        sampler = _sample(bot.pid, n)
        pids = {"bot": bot.pid, "emulator": emulator.pid} | ({"nlu": nlu_pid} if nlu_pid else {})
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        bot_log = work / f"bot-{n}.log"
        log_offset = bot_log.stat().st_size
        started = time.time()
        await asyncio.gather(*(report(i, s) for i, s in enumerate(students)))
        officer_ids = {u.id for u in officer_users}
        deadline = time.monotonic() + 60 + n * 0.5
        arrivals: dict[str, float] = {}
        while time.monotonic() < deadline and len(arrivals) < n:
            await asyncio.sleep(0.5)
            arrivals = await sent_events(emu, officer_ids, TAG)
        wall = time.time() - started
        cpu_ms = cpu_per_item(cpu_before, pids, n)
        api_calls = sum(1 for call in await emu.calls() if call.method != "getUpdates") / n
        with bot_log.open("rb") as log:
            log.seek(log_offset)
            sources = CLASSIFIED.findall(log.read().decode(errors="replace"))
        by_rasa = sources.count("rasa") / len(sources) if sources else NAN
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=60)
        latencies = [arrivals[t] - sent_at[t] for t in arrivals]
        by_chat = {student.id: sent_at[f"{i:05d}"] for i, student in enumerate(students)}
        answered = await first_answers(emu, by_chat)
        waits = [answered[chat] - at for chat, at in by_chat.items() if chat in answered]
        return Result(
            sent=n,
            delivered=len(arrivals),
            p50_s=percentile(latencies, 0.5) if latencies else float("nan"),
            p99_s=percentile(latencies, 0.99) if latencies else float("nan"),
            per_second=len(arrivals) / max(max(arrivals.values(), default=started) - started, 1e-9),
            peak_rss_mib=peak_rss_mib(bot.pid),
            wall_s=wall,
            first_answer_p50_s=percentile(waits, 0.5) if len(waits) == n else float("nan"),
            first_answer_p99_s=percentile(waits, 0.99) if len(waits) == n else float("nan"),
            cpu_ms=cpu_ms,
            api_calls=api_calls,
            by_rasa=by_rasa,
        )
    finally:
        await emu.stop()
        stop(bot)
        stop(emulator)


def _sample(pid: int, n: int) -> subprocess.Popen[bytes] | None:
    """BENCH_PYSPY=<file>: py-spy samples the bot during the burst only, its folded stacks to <file>-N.

    Unlike BENCH_PROFILE (cProfile over the whole run, set-up included, and slowing every Python
    call), a sampler attached from outside costs the bot almost nothing and sees only the burst.
    """
    out = os.environ.get("BENCH_PYSPY")
    if not out:
        return None
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--idle"]
    command += ["--format", "raw", "--output", f"{out}-{n}"]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    time.sleep(0.5)  # attached before the first report
    return sampler


async def sent_events(emu: Emulator, chats: set[int], pattern: re.Pattern[str]) -> dict[str, float]:
    """When (the emulator's clock) each tagged message was delivered into one of `chats`."""
    found: dict[str, float] = {}
    since = 0
    while True:
        events, latest = await emu.events(since=since, kinds=["sent"])
        for event in events:
            text = str(event.get("message", {}).get("message", {}).get("text", ""))
            match = pattern.search(text)
            if event.get("chat_id") in chats and match:
                found.setdefault(match.group(1), float(event["at"]))
        if not events or since >= latest:
            return found
        since = int(events[-1]["seq"])


async def first_answers(emu: Emulator, sent_at: dict[int, float]) -> dict[int, float]:
    """When the bot's first message after the report reached each student's chat (by chat id)."""
    found: dict[int, float] = {}
    since = 0
    while True:
        events, latest = await emu.events(since=since, kinds=["sent"])
        for event in events:
            chat, at = event.get("chat_id"), float(event["at"])
            if isinstance(chat, int) and chat in sent_at and at >= sent_at[chat] and chat not in found:
                found[chat] = at
        if not events or since >= latest:
            return found
        since = int(events[-1]["seq"])


async def _up(port: int) -> bool:
    await wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/_emulator/info", timeout=1).status_code == 200,
        30,
        "the emulator",
    )
    return True


async def run_echo(n: int, work: Path, sends: int = 0) -> Result:
    """The baseline: a bare PTB echo bot (default Application) answering N messages sent at once.

    With `sends`, the Bot API floor instead (devtools.bench.echo): updates handled concurrently, each
    answered with `sends` messages, over the bot's own HTTP client.
    """
    emulator_port = free_port()
    emulator = spawn(
        [sys.executable, "-m", "devtools.emulator", "--port", str(emulator_port)],
        dict(os.environ),
        work / f"emulator-echo-{n}.log",
    )
    await _up(emulator_port)
    env = {**os.environ, "PTB_TIMEDELTA": "true", "ECHO_TOKEN": TOKEN_PREFIX + secrets.token_urlsafe(30),
           "ECHO_BASE_URL": f"http://127.0.0.1:{emulator_port}/bot", "ECHO_SENDS": str(sends)}  # fmt: skip
    bot = spawn([sys.executable, "-m", "devtools.bench.echo"], env, work / f"echo-{n}-{sends}.log")
    emu = await Emulator.connect(f"http://127.0.0.1:{emulator_port}")
    try:
        await wait_until(emu.bot_connected, 60, "the echo bot connecting")
        users = [await emu.user(first_name=f"E{i}", started=True) for i in range(n)]
        await emu.clear_calls()  # the start-up's calls (getMe, deleteWebhook) are not the burst's
        sent_at: dict[int, float] = {}

        async def send(user: User) -> None:
            sent_at[user.id] = time.time()
            await emu.send_text(user, f"echo {user.id}")

        pids = {"bot": bot.pid, "emulator": emulator.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.time()
        await asyncio.gather(*(send(u) for u in users))
        arrivals: dict[str, float] = {}
        deadline = time.monotonic() + 60 + n * 0.2
        while time.monotonic() < deadline and len(arrivals) < n:
            await asyncio.sleep(0.5)
            arrivals = await sent_events(emu, set(sent_at), ECHO_TAG)
        cpu_ms = cpu_per_item(cpu_before, pids, n)
        api_calls = sum(1 for call in await emu.calls() if call.method != "getUpdates") / n
        latencies = [arrivals[str(u)] - sent_at[u] for u in sent_at if str(u) in arrivals]
        return Result(
            sent=n,
            delivered=len(arrivals),
            p50_s=percentile(latencies, 0.5),
            p99_s=percentile(latencies, 0.99),
            per_second=len(arrivals) / max(max(arrivals.values()) - started, 1e-9),
            peak_rss_mib=peak_rss_mib(bot.pid),
            wall_s=time.time() - started,
            cpu_ms=cpu_ms,
            api_calls=api_calls,
        )
    finally:
        await emu.stop()
        stop(bot)
        stop(emulator)


def under_telegram_limits(n: int, schools_: int) -> float:
    """Seconds Telegram's limits alone would need for the burst: overall rate, and the busiest chat."""
    total_messages = n * BOT_MESSAGES_PER_STUDENT + n  # to students, and the tips
    busiest_chat = -(-n // schools_)  # tips into one officer's chat
    return max(total_messages / TELEGRAM_OVERALL_PER_SECOND, busiest_chat / TELEGRAM_PER_CHAT_PER_SECOND)


def median_result(results: list[Result]) -> Result:
    """Each figure's median over rounds (delivered: the worst round, since every round must deliver all)."""
    return Result(
        sent=results[0].sent,
        delivered=min(r.delivered for r in results),
        p50_s=statistics.median(r.p50_s for r in results),
        p99_s=statistics.median(r.p99_s for r in results),
        per_second=statistics.median(r.per_second for r in results),
        peak_rss_mib=max(r.peak_rss_mib for r in results),
        wall_s=statistics.median(r.wall_s for r in results),
        first_answer_p50_s=statistics.median(r.first_answer_p50_s for r in results),
        first_answer_p99_s=statistics.median(r.first_answer_p99_s for r in results),
        cpu_ms={k: statistics.median(r.cpu_ms.get(k, NAN) for r in results) for k in results[0].cpu_ms},
        api_calls=statistics.median(r.api_calls for r in results),
        by_rasa=statistics.median(r.by_rasa for r in results),
    )


async def main_async(sizes: list[int], school_count: int, rounds: int) -> str:
    from devtools.bench import nlu_servers
    from devtools.bench.nlu import start_server

    rasa, nlu_url, nlu_token, _ = start_server()
    rows = []
    costs: list[tuple[int, Result, Result, float, float]] = []
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for n in sizes:
                reports, echoes, floors, parse_rates, parse_cpu = [], [], [], [], []
                for round_ in range(rounds):  # side by side, alternating, so both see the same noise
                    folder = work / f"round-{round_}"
                    folder.mkdir(exist_ok=True)
                    # The NLU's own ceiling, alone, just before the burst: 8 clients at once.
                    rasa_cpu = cpu_seconds(rasa.pid)
                    parse_rates.append(await nlu_servers.rate(nlu_url, nlu_token))
                    parse_cpu.append((cpu_seconds(rasa.pid) - rasa_cpu) * 1000 / nlu_servers.PARSES)
                    reports.append(await run_reports(n, school_count, folder, nlu_url, nlu_token, rasa.pid))
                    echoes.append(await run_echo(n, folder))
                    # A report's Telegram traffic alone, as many calls as this round's reports made.
                    floors.append(await run_echo(n, folder, sends=max(1, round(reports[-1].api_calls))))
                    line = (
                        f"bench-load: N={n} round {round_ + 1}: {reports[-1]} echo={echoes[-1]} "
                        f"floor={floors[-1]} parses/s={parse_rates[-1]:.0f} ({parse_cpu[-1]:.1f} CPU ms each)"
                    )
                    print(line, flush=True)  # noqa: T201
                ratios = [r.p50_s / e.p50_s for r, e in zip(reports, echoes, strict=True)]
                to_rasa = [r.per_second / rate for r, rate in zip(reports, parse_rates, strict=True)]
                rows.append(
                    (
                        n,
                        median_result(reports),
                        median_result(echoes),
                        statistics.median(ratios),
                        statistics.median(parse_rates),
                        statistics.median(to_rasa),
                    )
                )
                floor, parse_ms = median_result(floors), statistics.median(parse_cpu)
                costs.append((n, median_result(reports), floor, statistics.median(parse_rates), parse_ms))
        rasa_peak = peak_rss_mib(rasa.pid)
    finally:
        stop(rasa)
    load_after = os.getloadavg()[0]
    table = "\n".join(
        f"| {n} | {r.delivered}/{r.sent} | {r.first_answer_p50_s:.2f} | {r.first_answer_p99_s:.2f} "
        f"| {r.p50_s:.2f} | {r.p99_s:.2f} | {r.per_second:.1f} | {parses:.0f} | {to_rasa:.2f} "
        f"| {r.peak_rss_mib:.0f} "
        f"| {e.p50_s:.3f} | {e.p99_s:.3f} | {e.per_second:.0f} | {e.peak_rss_mib:.0f} "
        f"| ×{ratio:.1f} | {under_telegram_limits(n, school_count):.0f} |"
        for n, r, e, ratio, parses, to_rasa in rows
    )
    header = (
        "| N | delivered (worst round) | first answer p50 s | first answer p99 s | tip p50 s | tip p99 s "
        "| tips/s | Rasa parses/s alone | tips/s ÷ parses/s | bot peak MiB | echo p50 s | echo p99 s "
        "| echo msg/s | echo peak MiB | p50 ratio | s under Telegram limits |"
    )
    return "\n".join(
        [
            f"Measured by `make bench-load` (`devtools/bench/load.py`) at {git_revision()} on {machine()}.",
            "Each process separate (emulator, Rasa server, bot); Telegram's limits off on both sides; "
            f"{school_count} schools with one enrolled officer each; SQLite (WAL). First answer: a student's "
            "urgent report to the bot's first message in their chat (the safety information). Tip: the "
            "report to the tip in the officer's chat (SRO Connect), or a message to its echo (baseline). "
            "Rasa parses/s: the Rasa server alone, 8 clients at once, just before each round's burst. "
            f"Medians over {rounds} round{'s' if rounds != 1 else ''}, SRO Connect and the echo bot "
            "alternating; the ratio is the "
            "median of each round's p50 ratio; peak memory is the highest round's. "
            f"Rasa server peak memory: {rasa_peak:.0f} MiB. Load average {load_before:.1f} before, "
            f"{load_after:.1f} after (2 cores, shared).",
            "",
            header,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            table,
            "",
            "The last column is the floor Telegram's limits "
            f"(~{TELEGRAM_OVERALL_PER_SECOND} messages/s overall, ~1/s per chat) put under the same burst: "
            f"{BOT_MESSAGES_PER_STUDENT} messages to each student and one tip each, spread over "
            f"{school_count} officers' chats; with pacing on, the bot sends at that pace and honours "
            "RetryAfter.",
            "",
            cost_table(costs),
        ]
    )


def cost_table(costs: list[tuple[int, Result, Result, float, float]]) -> str:
    """Where a report's CPU goes, against what 0.8 × the Rasa server's parse rate allows on these cores."""
    cores = os.cpu_count() or 1
    lines = [
        "Where the CPU goes (medians over the rounds; CPU ms per report from /proc, all threads of each "
        "process, from the burst's first message to its last tip). The floor is a report's Telegram traffic "
        "alone: a python-telegram-bot bot that handles updates concurrently over the bot's own HTTP client "
        "and answers each message with as many Bot API calls as a report made in the same round, and "
        "nothing else (no NLU, database or cryptography). The budget is the CPU one report may cost all "
        f"processes together for the tips to flow at 0.8 × the Rasa server's parse rate on {cores} cores.",
        "",
        "| N | classified by Rasa | Bot API calls per report | bot CPU ms | emulator CPU ms "
        "| Rasa CPU ms (in the burst) | Rasa CPU ms per parse (alone) | floor: bot + emulator CPU ms "
        "| floor updates/s | budget at 0.8 × parses/s, CPU ms | floor + one parse, CPU ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r, floor, parses, parse_ms in costs:
        floor_ms = floor.cpu_ms.get("bot", float("nan")) + floor.cpu_ms.get("emulator", float("nan"))
        budget = cores * 1000 / (0.8 * parses)
        lines.append(
            f"| {n} | {r.by_rasa:.0%} | {r.api_calls:.1f} | {r.cpu_ms.get('bot', float('nan')):.1f} "
            f"| {r.cpu_ms.get('emulator', float('nan')):.1f} | {r.cpu_ms.get('nlu', float('nan')):.1f} "
            f"| {parse_ms:.1f} | {floor_ms:.1f} | {floor.per_second:.0f} | {budget:.1f} "
            f"| {floor_ms + parse_ms:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", default="50,200,1000")
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per N; medians are reported")
    args = parser.parse_args()
    sizes = [int(s) for s in args.students.split(",")]
    body = asyncio.run(main_async(sizes, args.schools, max(1, args.rounds)))
    write_section("Load", body)
    print("bench-load: wrote docs/benchmarks.md (section Load)")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
