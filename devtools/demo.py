"""`make run` without a Telegram token: the whole of SRO Connect on this machine, and a chat to try it.

Starts, in the background, the Rasa server, the local Bot API emulator and
the bot (exactly as in production, pointed at the emulator); brings the demo
database (var/demo.db: the sample schools, a school officer covering every
sample school, and a supervisor) to a working state; then runs the terminal
chat in the foreground, where you are a student (`:as officer Maple` to see
what the officer receives). Background output goes to var/demo/*.log.
`python -m devtools.demo --reset` (make demo-reset) deletes the demo's state.

Why every run re-checks the officers: the emulator is a new process each
run, with new accounts, while var/demo.db persists. The database is the one
durable record (its transactions survive a kill at any point), so each run
reconciles the emulator with it rather than keeping a second state file that
a kill could leave out of step: an officer the database still reaches gets an
emulator account with that same chat id *before* the bot starts (so nothing
queued for them fails and marks them unreachable), and an officer it cannot
reach (never enrolled, marked unreachable, a run killed before enrolling)
enrolls again through the real /enroll path with a freshly issued code.
The demo says it is ready only once both officers are reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from app.settings import PROJECT_ROOT, VAR_DIR, Settings
from casework import officers, schools
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey, read_key_file, write_key_file
from devtools import procs
from devtools.emulator.client import Emulator, EmulatorError, User
from devtools.procs import free_port
from storage import migrations
from storage.db import Database
from storage.models import AssignmentKind, Role, WebRole
from web import accounts as web_accounts
from web.web_key import load_web_key

DEMO_DIR = VAR_DIR / "demo"
DATABASE = VAR_DIR / "demo.db"
KEY_FILE = VAR_DIR / "demo-master.key"
LOCK_FILE = VAR_DIR / "demo.lock"  # held while a demo runs: one bot per demo database
TOKEN = "123456789:demo-token-for-the-local-emulator-only"  # noqa: S105 - not a secret: the emulator takes any
SAMPLE_SCHOOLS = PROJECT_ROOT / "schools.sample.csv"


@dataclass(frozen=True)
class DemoOfficer:
    first_name: str  # the terminal chat's account: `:as officer Maple`
    display_name: str
    role: Role


# Cst. Maple covers every sample school, so whichever school a newcomer picks, her tips arrive.
DEMO_OFFICERS = (
    DemoOfficer("Maple", "Cst. Maple", Role.OFFICER),
    DemoOfficer("Diaz", "Sgt. Diaz", Role.SUPERVISOR),
)


@dataclass(frozen=True)
class Plan:
    """What the database says about one demo officer at start-up."""

    officer: DemoOfficer
    officer_id: int
    chat_id: int | None  # the chat the database reaches them at, or None: enroll again
    code: str | None  # a fresh enrollment code when chat_id is None


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)  # noqa: T201 - the demo's own terminal output


def wait_http(url: str, seconds: float, what: str, process: subprocess.Popen[bytes]) -> None:
    try:
        procs.wait_http(url, process, seconds=seconds, what=what)
    except RuntimeError:
        raise SystemExit(f"demo: {what} stopped (exit {process.returncode}); see {DEMO_DIR}/") from None
    except TimeoutError:
        raise SystemExit(f"demo: {what} did not start; see {DEMO_DIR}/") from None


def _die_with_parent() -> None:
    """In the child: be killed when the demo dies, even by SIGKILL (Linux), so no bot outlives it
    to keep working on var/demo.db beside the next run's."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


CHILD_SETUP = _die_with_parent if sys.platform == "linux" else None


def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    with (DEMO_DIR / f"{name}.log").open("ab") as log:
        log.write(f"--- demo run {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC ---\n".encode())
        log.flush()
        return subprocess.Popen(  # noqa: S603
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            preexec_fn=CHILD_SETUP,
        )


def master_key() -> MasterKey:
    if KEY_FILE.exists():
        return read_key_file(KEY_FILE, KeySource("file", KEY_FILE))
    key = MasterKey.generate(KeySource("file", KEY_FILE))
    write_key_file(KEY_FILE, key)
    return key


async def reconcile(url: str, key: MasterKey) -> list[Plan]:
    """Schools, both demo officers and Maple's schools, whatever an earlier run left; one transaction.

    Every step only adds what is missing, so a run killed anywhere before is finished here.
    """
    db = Database.connect(url)
    now = datetime.now(UTC)
    plans = []
    try:
        async with db.transaction() as session:
            keys = await KeyRing.load(session, key, now)
            known = {s.code for s in await schools.list_schools(session)}
            rows = schools.parse_schools_csv(SAMPLE_SCHOOLS.read_text(encoding="utf-8"))
            missing = [(line, row) for line, row in rows if row.code not in known]
            if missing:
                await schools.import_schools(session, missing, now)
            active = {s.code for s in await schools.list_schools(session, include_removed=False)}
            listed = {
                (o.display_name, o.role): o for o in await officers.list_officers(session, now) if o.active
            }
            for demo in DEMO_OFFICERS:
                info = listed.get((demo.display_name, demo.role))
                if info is None:
                    officer_id = await officers.create_officer(
                        session, keys, display_name=demo.display_name, role=demo.role, now=now
                    )
                    assigned: set[str] = set()
                else:
                    officer_id, assigned = info.id, {code for code, _ in info.assignments}
                if demo.role == Role.OFFICER:
                    for school in sorted(active - assigned):
                        await officers.assign(
                            session, keys, officer_id, school, kind=AssignmentKind.PRIMARY, now=now
                        )
                chat_id = await officers.chat_of(session, officer_id)
                code = None
                if chat_id is None:
                    code = await officers.issue_enrollment_code(session, keys, officer_id, now)
                plans.append(Plan(demo, officer_id, chat_id, code))
    finally:
        await db.close()
    return plans


async def accounts(emu: Emulator, plans: list[Plan]) -> dict[int, User]:
    """An emulator account per officer (by officer id), with the database's chat id where it has one."""
    users = {}
    # Known ids first, so that a new random id cannot take one of them.
    for plan in sorted(plans, key=lambda p: p.chat_id is None):
        user = await emu.user(
            id=plan.chat_id,
            first_name=plan.officer.first_name,
            label=f"officer {plan.officer.first_name}",
            started=True,
        )
        users[plan.officer_id] = user
    return users


async def enroll_and_check(
    url: str, key: MasterKey, emu: Emulator, plans: list[Plan], users: dict[int, User]
) -> None:
    """Enroll (through the bot's /enroll) whoever needs it, then check both officers are reachable."""
    for plan in plans:
        if plan.code is not None:
            await emu.send_text(users[plan.officer_id], f"/enroll {plan.code}")
            # The bot answers once the enrollment is committed; no answer is judged by the check below.
            with contextlib.suppress(AssertionError, EmulatorError):
                await emu.next_message(users[plan.officer_id], timeout=60)
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            await KeyRing.load(session, key, datetime.now(UTC))  # the officer records' MACs need it
            for plan in plans:
                if await officers.chat_of(session, plan.officer_id) != users[plan.officer_id].id:
                    raise SystemExit(
                        f"demo: {plan.officer.display_name} could not be enrolled; see {DEMO_DIR}/bot.log, "
                        "or start afresh with: make demo-reset"
                    )
    finally:
        await db.close()


def hold_lock() -> IO[bytes]:
    """The demo's lock (released by the system however the demo ends), or exit if another demo has it."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    handle = LOCK_FILE.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SystemExit(
            f"demo: a demo is already running on {VAR_DIR} (another terminal?); leave it with :quit first"
        ) from None
    return handle


DEMO_COORDINATOR = "coordinator@demo.local"


def web_key_file() -> Path:
    """The demo dashboard's web key (the demo's own, as its master key is), made on first use."""
    return DEMO_DIR / "web.key"


async def dashboard_login(url: str, base_url: str) -> str:
    """How to sign in to the demo's dashboard: a fresh setup link until its coordinator has a password."""
    key = load_web_key(None, sqlite=True, local_file=web_key_file())
    db = Database.connect(url)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            try:
                account = await web_accounts.find_account(session, DEMO_COORDINATOR)
            except web_accounts.AccountError:
                account = await web_accounts.create_account(
                    session, key, name="Demo Coordinator", email=DEMO_COORDINATOR, role=WebRole.COORDINATOR,
                    school_codes=[], now=now,
                )  # fmt: skip
            if account.password_hash is None:
                link = web_accounts.setup_link(
                    base_url, await web_accounts.issue_setup_token(session, key, account, now)
                )
                return f"choose a password for {DEMO_COORDINATOR} at {link}"
            return (
                f"sign in as {DEMO_COORDINATOR} with the password you chose "
                f"(forgot it? .venv/bin/sro --demo admin reset {DEMO_COORDINATOR})"
            )
    finally:
        await db.close()


def start_dashboard(database_url: str, base_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """The dashboard, as in production but as the local demo (no second factor, which it says)."""
    port = 8000 if _port_free(8000) else free_port()
    env = {
        **base_env,
        "DATABASE_URL": database_url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "WEB_LOCAL_DEMO": "true",
        "WEB_KEY_FILE": str(web_key_file()),
        "TELEGRAM_BOT_USERNAME": "sro_connect_demo_bot",
    }
    load_web_key(None, sqlite=True, local_file=web_key_file())  # made here, before the dashboard reads it
    return start("web", [sys.executable, "-m", "web"], env), f"http://127.0.0.1:{port}"


def _port_free(port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def reset() -> int:
    """Delete the demo's database, key, logs: the next `make run` starts from nothing."""
    removed = []
    for path in (DATABASE, DATABASE.with_name("demo.db-wal"), DATABASE.with_name("demo.db-shm"), KEY_FILE):
        if path.exists():
            path.unlink()
            removed.append(path.name)
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
        removed.append("demo/")
    say(f"removed {', '.join(removed)} from {VAR_DIR}" if removed else f"nothing to remove in {VAR_DIR}")
    return 0


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # runs main's `finally`, which stops the background processes


def run() -> int:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    emulator_port, nlu_port = free_port(), free_port()
    nlu_token = secrets.token_urlsafe(32)  # this run's Rasa server only
    database_url = f"sqlite+aiosqlite:///{DATABASE}"
    key = master_key()
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        say("starting the Rasa server (about 20 s), the Bot API emulator and the bot…")
        nlu = start("nlu", [str(PROJECT_ROOT / "scripts" / "nlu-server")],
                    {**base_env, "NLU_PORT": str(nlu_port), "NLU_TOKEN": nlu_token})  # fmt: skip
        processes.append(nlu)
        emulator = start(
            "emulator", [sys.executable, "-m", "devtools.emulator", "--port", str(emulator_port)], base_env
        )
        processes.append(emulator)
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        asyncio.run(migrations.upgrade(database_url))
        plans = asyncio.run(reconcile(database_url, key))
        wait_http(f"{emulator_url}/_emulator/info", 30, "the emulator", emulator)
        bot_env = {
            **base_env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"{emulator_url}/bot",
            "DATABASE_URL": database_url,
            "NLU_URL": f"http://127.0.0.1:{nlu_port}",
            "NLU_TOKEN": nlu_token,
            "SRO_MASTER_KEY_FILE": str(KEY_FILE),
            "WEBHOOK_URL": "",
        }

        async def officers_online() -> None:
            emu = await Emulator.connect(emulator_url)
            try:
                users = await accounts(emu, plans)
                # The bot starts only now: whatever it had queued for an officer finds their chat.
                processes.append(start("bot", [sys.executable, "-m", "bot"], bot_env))
                deadline = time.monotonic() + 60
                while not await emu.bot_connected():
                    if time.monotonic() > deadline or processes[-1].poll() is not None:
                        raise SystemExit(f"demo: the bot did not connect; see {DEMO_DIR}/bot.log")
                    await asyncio.sleep(0.3)
                say("the bot is connected; checking the demo officers…")
                if any(plan.code for plan in plans):
                    say("enrolling the demo officers…")
                await enroll_and_check(database_url, key, emu, plans, users)
            finally:
                await emu.stop()

        asyncio.run(officers_online())
        web, web_url = start_dashboard(database_url, base_env)
        processes.append(web)
        wait_http(f"{web_url}/login", 60, "the dashboard", web)
        how = asyncio.run(dashboard_login(database_url, web_url))
        say(f"the coordinator's dashboard is at {web_url}: {how}")
        wait_http(f"http://127.0.0.1:{nlu_port}/", 180, "the Rasa server", nlu)
        say("ready. You are a student: send /start. :as officer Maple shows the officer's side.")
        say(f"leave with :quit or Ctrl-D. Logs: {DEMO_DIR}/*.log. Start afresh: make demo-reset")
        timezone = Settings().sro_timezone
        chat = [sys.executable, "-m", "devtools.emulator.chat", "--url", emulator_url, "--timezone", timezone]
        processes.append(
            subprocess.Popen(  # noqa: S603
                chat, cwd=PROJECT_ROOT, preexec_fn=CHILD_SETUP
            )
        )
        return processes[-1].wait()
    except KeyboardInterrupt:  # Ctrl-C reached every process of the demo at once
        return 130
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo", description="The local demo of SRO Connect."
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete the demo's database, key and logs, then exit"
    )
    args = parser.parse_args(argv)
    with hold_lock():
        return reset() if args.reset else run()


if __name__ == "__main__":
    sys.exit(main())
