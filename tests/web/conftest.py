"""The dashboard's fixtures: a migrated SQLite database seeded through the domain API, accounts set up
through web.accounts, and an HTTP client against the real ASGI app (httpx, no server)."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pyotp
import pytest

from casework import officers, schools
from casework.policy import CasePolicy
from casework.schools import NewSchool
from casework.stats import recording
from casework.stats.periods import last_settled_day, month_start
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import AssignmentKind, ResponseMeasure, ResponseTime, Role, WebRole
from tests.storage.fixtures import Templates
from web import accounts
from web.app import WebConfig, create_app
from web.web_key import WebKey, write_web_key_file

ZONE = ZoneInfo("America/Toronto")
# The dashboard's clock: settled months are 2025-02 and 2025-03; April's complete days are 1..8.
NOW = datetime(2025, 4, 10, 16, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8000"
PASSWORD = "correct horse battery staple"
# The tests' web key: the dashboards they start hold it, and accounts they add are bound with it.
WEB_KEY = WebKey.generate()
SCHOOLS = ("BIG", "MID", "SML")


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    secret: str | None


def seed_counts(
    last: date = date(2025, 4, 9), *, busy: bool = False
) -> dict[tuple[str | None, str, date, bool], int]:
    """A small program over the 100 days to `last`: a big school, a middle one, and a small one with a
    weapons report of 2. `busy`: about four times the messages (for the screenshots: fewer small counts)."""
    cells: dict[tuple[str | None, str, date, bool], int] = {}
    day = last - timedelta(days=98)
    n = 0
    while day <= last:
        n += 1
        if day.weekday() < 5 and busy:
            cells[("BIG", "greet", day, False)] = 12 + n % 7
            cells[("BIG", "report_bullying", day, False)] = 5 + n % 4
            cells[("BIG", "report_fight", day, False)] = 5 + n % 3
            cells[("BIG", "ask_officer", day, False)] = 6 + n % 5
            cells[("BIG", "report_weapon", day, True)] = 5 + n % 2
            cells[("MID", "greet", day, False)] = 8 + n % 5
            cells[("MID", "report_drugs", day, False)] = 5 + n % 3
            cells[("MID", "ask_officer", day, False)] = 5 + n % 3
        elif day.weekday() < 5:
            cells[("BIG", "greet", day, False)] = 3 + n % 4
            cells[("BIG", "report_bullying", day, False)] = 1 + n % 3
            cells[("BIG", "ask_officer", day, False)] = 1 + n % 2
            cells[("MID", "greet", day, False)] = 2 + n % 3
            cells[("MID", "ask_officer", day, False)] = n % 2
        if day.weekday() < 5 and n % 9 == 0:
            cells[("MID", "report_weapon", day, True)] = 1
        day += timedelta(days=1)
    cells[
        (
            "SML",
            "report_weapon",
            month_start(last_settled_day(last + timedelta(days=1))) + timedelta(days=11),
            True,
        )
    ] = 2
    return {cell: count for cell, count in cells.items() if count}


async def seed(db: Database, today: date = date(2025, 4, 10), *, busy: bool = False) -> dict[str, int]:
    """Schools, counts, response times, and one officer covering BIG, all through the domain API."""
    settled = month_start(last_settled_day(today))
    async with db.transaction() as session:
        ids = {
            code: (await schools.add_school(session, NewSchool.checked(f"{code} Secondary", code), NOW)).id
            for code in SCHOOLS
        }
        for (code, intent, day, urgent), count in seed_counts(today - timedelta(days=1), busy=busy).items():
            for _ in range(count):
                await recording.record(
                    session, school_id=ids[code] if code else None, intent=intent, urgent=urgent, day=day
                )
        # Twelve waits in the last settled month for BIG: enough cases for times to be published (10+).
        for minutes in range(12):
            for measure in ResponseMeasure:
                session.add(
                    ResponseTime(
                        school_id=ids["BIG"],
                        day=settled + timedelta(days=2 + minutes),
                        measure=measure,
                        seconds=600 + 60 * minutes,
                    )
                )
        # Officers, as the operator's `sro` makes them (it holds a key; the dashboard never does): BIG
        # has an enrolled primary and a backup not yet enrolled; MID and SML have nobody.
        keys = await KeyRing.load(session, MasterKey.generate(), NOW)
        policy = CasePolicy(timedelta(minutes=5), timedelta(hours=24), timedelta(days=90), ZONE)
        maple = await officers.create_officer(
            session, keys, display_name="Cst. Maple", role=Role.OFFICER, now=NOW
        )
        await officers.assign(session, keys, maple, "BIG", kind=AssignmentKind.PRIMARY, now=NOW)
        await officers.enroll(
            session, keys, policy, await officers.issue_enrollment_code(session, keys, maple, NOW), 4242, NOW
        )
        oak = await officers.create_officer(
            session, keys, display_name="Cst. Oak", role=Role.OFFICER, now=NOW
        )
        await officers.assign(session, keys, oak, "BIG", kind=AssignmentKind.BACKUP, now=NOW)
    return ids


async def add_person(
    db: Database,
    email: str,
    role: WebRole,
    codes: list[str],
    *,
    totp: bool = True,
    now: datetime = NOW,
    key: WebKey = WEB_KEY,
) -> Person:
    """An account set up as its owner would through the setup link (domain API)."""
    async with db.transaction() as session:
        account = await accounts.create_account(
            session, key, name=email.split("@")[0], email=email, role=role, school_codes=codes, now=now
        )
        token = await accounts.issue_setup_token(session, key, account, now)
    secret = pyotp.random_base32() if totp else None
    async with db.transaction() as session:
        await accounts.complete_setup(
            session,
            key,
            token,
            password=PASSWORD,
            totp_secret=secret,
            code=pyotp.TOTP(secret).at(now) if secret else None,
            now=now,
        )
    return Person(email, PASSWORD, secret)


def next_code(person: Person, now: datetime = NOW, steps: int = 1) -> str:
    """A code of a later time step than any used so far (a code is accepted once)."""
    assert person.secret is not None
    return pyotp.TOTP(person.secret).at(now + timedelta(seconds=30 * steps))


FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def login(
    client: httpx.AsyncClient, email: str, password: str, code: str, **headers: str
) -> httpx.Response:
    page = await client.get("/login")
    match = FORM_TOKEN.search(page.text)
    assert match is not None
    return await client.post(
        "/login",
        data={"form_token": match.group(1), "email": email, "password": password, "code": code},
        headers=headers,
    )


@dataclass
class Site:
    db: Database
    config: WebConfig
    client: httpx.AsyncClient
    ids: dict[str, int]

    def fresh_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.config)), base_url=BASE)


def copy_template(templates: Templates, tmp_path: Path) -> str:
    path = tmp_path / "web.db"
    shutil.copyfile(templates.sqlite, path)
    return f"sqlite+aiosqlite:///{path}"


@dataclass(frozen=True)
class Seeded:
    path: Path
    ids: dict[str, int]


@pytest.fixture(scope="session")
def seeded_template(migrated_templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The migrated database with `seed`'s data, made once per run and copied for each test."""
    where = tmp_path_factory.mktemp("web-seeded")
    url = copy_template(migrated_templates, where)

    async def fill() -> dict[str, int]:
        db = Database.connect(url)
        try:
            return await seed(db)
        finally:
            await db.close()

    # On a loop of its own in another thread: the first test asks for it from inside its running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        ids = pool.submit(asyncio.run, fill()).result()
    return Seeded(where / "web.db", ids)


@pytest.fixture
async def site(seeded_template: Seeded, tmp_path: Path) -> AsyncIterator[Site]:
    path = tmp_path / "web.db"
    shutil.copyfile(seeded_template.path, path)
    db = Database.connect(f"sqlite+aiosqlite:///{path}")
    ids = seeded_template.ids
    config = WebConfig(db=db, timezone=ZONE, base_url=BASE, web_key=WEB_KEY, clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(config)), base_url=BASE
    ) as client:
        yield Site(db, config, client, ids)
    await db.close()


PAGES_AND_CSVS = [
    "/", "/schools", "/trends", "/responses", "/evaluation", "/coverage",
    "/overview.csv?section=0", "/schools.csv?section=0", "/trends.csv?section=1", "/responses.csv?section=0",
]  # fmt: skip


def login_sync(
    client: httpx.Client, email: str, secret: str | None, password: str = PASSWORD
) -> httpx.Response:
    """Sign in to a running dashboard with the current TOTP code."""
    page = client.get("/login")
    match = FORM_TOKEN.search(page.text)
    assert match is not None
    # The next time step's code: the current one may be the one setup used (a code works once).
    code = pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30)) if secret else ""
    return client.post(
        "/login", data={"form_token": match.group(1), "email": email, "password": password, "code": code}
    )


def web_key_file(where: Path, key: WebKey = WEB_KEY) -> Path:
    """`key` in a file only its owner may read, for a dashboard process's WEB_KEY_FILE."""
    path = where / "web.key"
    if not path.exists():
        write_web_key_file(path, key)
    return path


def texts_of(html: str) -> str:
    """A page's words without its tags."""
    return re.sub(r"<[^>]+>", " ", html)
