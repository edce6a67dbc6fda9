"""`make run` without a Telegram token: the whole of SRO Connect on this machine, and a chat to try it.

Starts, in the background, the Rasa server, the local Bot API emulator and
the bot (exactly as in production, pointed at the emulator); seeds a demo
database (var/demo.db: the sample schools, a school officer and a
supervisor, both enrolled from emulator accounts); then runs the terminal
chat in the foreground, where you are a student (`:as officer Maple` to see
what the officer receives). Background output goes to var/demo/*.log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx

from app.settings import PROJECT_ROOT, VAR_DIR, local_nlu_token
from casework import officers, schools
from casework.keys import KeyRing, KeySource, MasterKey, read_key_file, write_key_file
from emulator.client import Emulator
from storage import migrations
from storage.db import Database

DEMO_DIR = VAR_DIR / "demo"
DATABASE = VAR_DIR / "demo.db"
KEY_FILE = VAR_DIR / "demo-master.key"
TOKEN = "123456789:demo-token-for-the-local-emulator-only"  # noqa: S105 - not a secret: the emulator takes any
SAMPLE_SCHOOLS = PROJECT_ROOT / "schools.sample.csv"
DEMO_SCHOOL = "MRC"
DEMO_OFFICERS = [("Maple", "Cst. Maple", "officer"), ("Diaz", "Sgt. Diaz", "supervisor")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"demo: {what} did not start; see {DEMO_DIR}/")


def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (DEMO_DIR / f"{name}.log").open("wb")
    return subprocess.Popen(  # noqa: S603
        command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
    )


def master_key() -> MasterKey:
    if KEY_FILE.exists():
        return read_key_file(KEY_FILE, KeySource("file", KEY_FILE))
    key = MasterKey.generate(KeySource("file", KEY_FILE))
    write_key_file(KEY_FILE, key)
    return key


async def seed(url: str, key: MasterKey, emu: Emulator) -> None:
    """Schools and two enrolled demo officers, the first time only."""
    await migrations.upgrade(url)
    db = Database.connect(url)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            keys = await KeyRing.load(session, key, now)
            existing = await schools.list_schools(session)
            if not existing:
                rows = schools.parse_schools_csv(SAMPLE_SCHOOLS.read_text(encoding="utf-8"))
                await schools.import_schools(session, rows, now)
            listed = await schools.list_schools(session)
            # Cst. Maple works at Maple Ridge, the school the README's walkthrough picks.
            first = next((s for s in listed if s.code == DEMO_SCHOOL), listed[0])
            if await officers.list_officers(session, now):
                return
            codes = []
            for first_name, name, role in DEMO_OFFICERS:
                officer_id = await officers.create_officer(
                    session, keys, display_name=name, role=role, now=now
                )
                if role == "officer":
                    await officers.assign(session, keys, officer_id, first.code, kind="primary", now=now)
                codes.append(
                    (first_name, await officers.issue_enrollment_code(session, keys, officer_id, now))
                )
    finally:
        await db.close()
    for first_name, code in codes:
        user = await emu.user(first_name=first_name, label=f"officer {first_name}", started=True)
        await emu.send_text(user, f"/enroll {code}")
        await emu.next_message(user, timeout=30)


def main() -> int:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    emulator_port, nlu_port = free_port(), free_port()
    nlu_token = local_nlu_token()
    database_url = f"sqlite+aiosqlite:///{DATABASE}"
    key = master_key()
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        print("demo: starting the Rasa server (about 20 s), the Bot API emulator and the bot…")  # noqa: T201
        processes.append(start("nlu", [str(PROJECT_ROOT / "scripts" / "nlu-server")],
                               {**base_env, "NLU_PORT": str(nlu_port), "NLU_TOKEN": nlu_token}))  # fmt: skip
        processes.append(
            start("emulator", [sys.executable, "-m", "emulator", "--port", str(emulator_port)], base_env)
        )
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        wait_http(f"{emulator_url}/_emulator/info", 30, "the emulator")
        wait_http(f"http://127.0.0.1:{nlu_port}/", 180, "the Rasa server")
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
        asyncio.run(migrations.upgrade(database_url))
        processes.append(start("bot", [sys.executable, "-m", "bot"], bot_env))

        async def connect_and_seed() -> None:
            emu = await Emulator.connect(emulator_url)
            try:
                deadline = time.monotonic() + 60
                while not await emu.bot_connected():
                    if time.monotonic() > deadline:
                        raise SystemExit(f"demo: the bot did not connect; see {DEMO_DIR}/bot.log")
                    await asyncio.sleep(0.3)
                await seed(database_url, key, emu)
            finally:
                await emu.stop()

        asyncio.run(connect_and_seed())
        print("demo: ready. You are a student: send /start. Type :help for the chat's own commands.")  # noqa: T201
        return subprocess.call([sys.executable, "-m", "emulator.chat", "--url", emulator_url])  # noqa: S603
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
