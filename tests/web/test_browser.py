"""The dashboard in a real browser: Playwright driving Debian's Chromium (no browser download).

One real `python -m web` per module, on a database seeded through the domain API with the statistics
of the last hundred days (the process uses the real clock). The screenshots come from the same app
served in a thread with a fixed clock (conftest's NOW) on data seeded for that day, so that
regenerating them changes nothing when nothing changed: `SRO_DASHBOARD_SHOTS=<dir>` (make
dashboard-shots) keeps each page's screenshot there.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyotp
import pytest
from playwright.sync_api import Browser, FilePayload, Page, sync_playwright
from starlette.applications import Starlette

from storage.db import Database
from storage.models import WebRole
from tests.storage.fixtures import Templates
from tests.web.conftest import BASE, NOW, PASSWORD, WEB_KEY, ZONE, Person, add_person, copy_template, seed
from tests.web.conftest import next_code as later_code
from tests.web.server import app_in_thread, web_process
from web import accounts
from web.app import WebConfig, create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
T = TypeVar("T")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a loop of its own in another thread: Playwright's sync API keeps a loop in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


PAGES = {
    "overview": "/",
    "schools": "/schools",
    "trends": "/trends",
    "responses": "/responses",
    "evaluation": "/evaluation",
    "coverage": "/coverage",
}


@dataclass
class Dashboard:
    base: str  # the dashboard's address
    url: str  # the database's
    now: datetime | None = None  # the dashboard's fixed clock, if it has one (else the real one)

    def person(self, email: str, role: WebRole, codes: list[str]) -> Person:
        """An account set up through the domain API (the setup page has its own test)."""

        async def add() -> Person:
            db = Database.connect(self.url)
            try:
                return await add_person(db, email, role, codes, now=self.now or datetime.now(UTC))
            finally:
                await db.close()

        return run_apart(add())


@pytest.fixture(scope="module")
def dashboard(migrated_templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    where = tmp_path_factory.mktemp("dashboard")
    url = copy_template(migrated_templates, where)

    async def prepare() -> None:
        db = Database.connect(url)
        await seed(db, datetime.now(UTC).date(), busy=True)
        await db.close()

    run_apart(prepare())
    with web_process(url, where / "web.log", TELEGRAM_BOT_USERNAME="sro_connect_demo_bot") as web:
        yield Dashboard(web.url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def next_code(person: Person) -> str:
    assert person.secret is not None
    return pyotp.TOTP(person.secret).at(datetime.now(UTC).timestamp() + 30)


def sign_in(page: Page, base: str, email: str, password: str, code: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.fill("#code", code)
    page.click("button[type=submit]")


def test_setup_then_login_with_password_and_totp(dashboard: Dashboard, page: Page) -> None:
    async def invite() -> str:
        db = Database.connect(dashboard.url)
        try:
            async with db.transaction() as session:
                now = datetime.now(UTC)
                account = await accounts.create_account(
                    session,
                    WEB_KEY,
                    name="Ann",
                    email="ann@example.org",
                    role=WebRole.COORDINATOR,
                    school_codes=[],
                    now=now,
                )
                return await accounts.issue_setup_token(session, WEB_KEY, account, now)
        finally:
            await db.close()

    token = run_apart(invite())
    page.goto(f"{dashboard.base}/setup/{token}")
    assert page.locator("img.qr").get_attribute("src", timeout=5000).startswith("data:image/svg+xml")  # type: ignore[union-attr]
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0  # the CSP let it render
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "Your account is ready" in page.inner_text("main"), page.inner_text("main")
    sign_in(
        page,
        dashboard.base,
        "ann@example.org",
        PASSWORD,
        pyotp.TOTP(secret).at(datetime.now(UTC).timestamp() + 30),
    )
    page.wait_for_selector("h1:text('Overview')")
    assert page.url == f"{dashboard.base}/"
    page.goto(f"{dashboard.base}/setup/{token}")  # the link worked once
    assert "expired or was already used" in page.inner_text("main")


def test_a_wrong_password_then_throttling(dashboard: Dashboard, page: Page) -> None:
    person = dashboard.person("bob@example.org", WebRole.COORDINATOR, [])
    for _ in range(accounts.ACCOUNT_FAILURES_ALLOWED):
        sign_in(page, dashboard.base, person.email, "a wrong password", next_code(person))
        assert "not right" in page.inner_text("[role=alert]")
    sign_in(page, dashboard.base, person.email, PASSWORD, next_code(person))
    assert "Too many attempts" in page.inner_text("[role=alert]")
    # Positive control: another account from the same browser still signs in (per-account throttle).
    other = dashboard.person("cat@example.org", WebRole.COORDINATOR, [])
    sign_in(page, dashboard.base, other.email, PASSWORD, next_code(other))
    page.wait_for_selector("h1:text('Overview')")


def test_a_school_account_cannot_see_another_school(dashboard: Dashboard, page: Page) -> None:
    person = dashboard.person("principal@mid.example.org", WebRole.SCHOOL, ["MID"])
    sign_in(page, dashboard.base, person.email, PASSWORD, next_code(person))
    page.wait_for_selector("h1:text('Overview')")
    page.goto(f"{dashboard.base}/schools")
    options = page.locator("#school option").all_inner_texts()
    assert [o.strip() for o in options] == ["My schools", "MID"]
    assert "BIG" not in page.inner_text("main")
    assert "MID" in page.inner_text("main")  # its own school (positive control)
    response = page.goto(f"{dashboard.base}/schools?school=BIG")
    assert response is not None
    assert response.status == 404
    assert "BIG" not in page.inner_text("main")
    # Positive control: a coordinator's same request shows BIG.
    coordinator = dashboard.person("dee@example.org", WebRole.COORDINATOR, [])
    page.context.clear_cookies()
    sign_in(page, dashboard.base, coordinator.email, PASSWORD, next_code(coordinator))
    page.wait_for_selector("h1:text('Overview')")
    page.goto(f"{dashboard.base}/schools?school=BIG")
    assert "BIG" in page.inner_text("main table")


def test_every_page_in_a_browser_with_nothing_from_another_host(dashboard: Dashboard, page: Page) -> None:
    person = dashboard.person("eve@example.org", WebRole.COORDINATOR, [])
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, dashboard.base, person.email, PASSWORD, next_code(person))
    page.wait_for_selector("h1:text('Overview')")
    for name, path in PAGES.items():
        response = page.goto(f"{dashboard.base}{path}")
        assert response is not None
        assert response.status == 200, name
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert page.locator("main table").count() >= 1, name
        for chart in page.locator("svg.chart").all():  # every chart has a text alternative
            assert chart.get_attribute("role") == "img"
            assert (chart.locator("title").text_content() or "").strip()
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith(
            "system-ui"
        )  # CSS loaded
    page.goto(f"{dashboard.base}/trends")
    assert "Weapons reports per month" in page.inner_text("main")
    assert [u for u in requests if not u.startswith(dashboard.base) and not u.startswith("data:")] == []
    assert problems == []  # no CSP violation, no script error


def test_an_unauthenticated_visitor_gets_the_login_page_only(dashboard: Dashboard, page: Page) -> None:
    for path in [*PAGES.values(), "/schools.csv?section=0", "/posters/BIG.png", "/anything"]:
        page.goto(f"{dashboard.base}{path}")
        assert page.url == f"{dashboard.base}/login", path
        assert "Sign in" in page.inner_text("h1")
        assert "BIG" not in page.content()


def test_a_forged_cross_site_form_is_refused(dashboard: Dashboard, page: Page) -> None:
    person = dashboard.person("fay@example.org", WebRole.COORDINATOR, [])
    sign_in(page, dashboard.base, person.email, PASSWORD, next_code(person))
    page.wait_for_selector("h1:text('Overview')")
    # A forged page posts a school list in the coordinator's browser, with the session cookie (it is
    # shown at the dashboard's own address, so SameSite does not stop it): only the token can.
    page.set_content(
        f'<form method="post" action="{dashboard.base}/coverage/import" enctype="multipart/form-data">'
        '<input name="csrf" value="forged"><input type="file" name="file"><button>go</button></form>'
    )
    page.set_input_files(
        "input[type=file]",
        files=[FilePayload(name="s.csv", mimeType="text/csv", buffer=b"name,code\nForged,FRG\n")],
    )
    page.click("button")
    page.wait_for_load_state()
    page.goto(f"{dashboard.base}/coverage")
    assert "FRG" not in page.inner_text("main")
    # Positive control: the dashboard's own form imports.
    page.set_input_files(
        "#file", files=[FilePayload(name="s.csv", mimeType="text/csv", buffer=b"name,code\nOwn School,OWN\n")]
    )
    page.click('button:text-is("Import")')
    page.wait_for_selector("text=1 added")
    page.goto(f"{dashboard.base}/coverage")
    assert "OWN" in page.inner_text("main")


@pytest.fixture
def plain_site(tmp_path: Path) -> Iterator[str]:
    """A page served with no security headers at all (the control for framing)."""
    (tmp_path / "index.html").write_text("<p id=hello>framed fine</p>")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_no_other_site_can_frame_the_dashboard(dashboard: Dashboard, page: Page, plain_site: str) -> None:
    page.goto(f"{plain_site}/index.html")
    frames = f'<iframe id=d src="{dashboard.base}/login"></iframe><iframe id=p src="{plain_site}/index.html">'
    page.set_content(frames + "</iframe>")
    plain = page.frame_locator("#p").locator("#hello")
    plain.wait_for()  # positive control: a page without the headers is framed and shown
    assert plain.inner_text() == "framed fine"
    # set_content waited for both frames' load events: the dashboard's sign-in form never showed.
    assert page.frame_locator("#d").locator("input#email").count() == 0


def test_the_evaluation_prints_as_a_report(dashboard: Dashboard, page: Page) -> None:
    person = dashboard.person("gus@example.org", WebRole.COORDINATOR, [])
    sign_in(page, dashboard.base, person.email, PASSWORD, next_code(person))
    page.wait_for_selector("h1:text('Overview')")
    page.goto(f"{dashboard.base}/evaluation")
    assert page.locator("nav").is_visible()  # on screen: navigation, sign-out, CSV links
    assert page.locator("a.csv").first.is_visible()
    page.emulate_media(media="print")
    assert not page.locator("nav").is_visible()  # on paper: the objectives and their numbers only
    assert not page.locator("a.csv").first.is_visible()
    assert page.locator("main table").is_visible()
    assert page.pdf()[:4] == b"%PDF"  # Chromium prints it (headless), locally


@pytest.fixture(scope="module")
def dated_dashboard(
    migrated_templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    """The dashboard app on a fixed day (conftest's NOW), with the busy seed of the hundred days before."""
    where = tmp_path_factory.mktemp("dated-dashboard")
    url = copy_template(migrated_templates, where)

    async def prepare() -> None:
        db = Database.connect(url)
        await seed(db, NOW.astimezone(ZONE).date(), busy=True)
        await db.close()

    run_apart(prepare())

    def make_app() -> Starlette:
        config = WebConfig(
            db=Database.connect(url),
            timezone=ZONE,
            base_url=BASE,
            bot_username="sro_connect_demo_bot",
            web_key=WEB_KEY,
            clock=lambda: NOW,
        )
        return create_app(config, close_db=True)

    with app_in_thread(make_app) as base:
        yield Dashboard(base, url, now=NOW)


def _shots(page: Page, base: str, person: Person) -> dict[str, bytes]:
    sign_in(page, base, person.email, PASSWORD, later_code(person, NOW))
    page.wait_for_selector("h1:text('Overview')")
    taken = {}
    for name, path in PAGES.items():
        response = page.goto(f"{base}{path}")
        assert response is not None
        assert response.status == 200, name
        taken[name] = page.screenshot(full_page=True)
    return taken


def test_every_page_on_a_fixed_day_gives_the_same_screenshots(
    dated_dashboard: Dashboard, browser: Browser
) -> None:
    person = dated_dashboard.person("eve@example.org", WebRole.COORDINATOR, [])
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(2)]
    try:
        first = contexts[0].new_page()
        shots = _shots(first, dated_dashboard.base, person)
        # The pages show the fixed day's months and days, whatever today is.
        first.goto(f"{dated_dashboard.base}/")
        overview = first.inner_text("main")
        assert "Messages per month: ALL" in overview
        assert "2025-02" in overview
        assert "2025-03" in overview
        assert "2025-04-08" in overview  # the fixed day's last complete day
        # A second browser sees pixel for pixel the same pages. The clock stands still, so a second
        # sign-in needs a second account (a TOTP code works once); it is named "eve" too (the header).
        other = dated_dashboard.person("eve@example.net", WebRole.COORDINATOR, [])
        again = _shots(contexts[1].new_page(), dated_dashboard.base, other)
        assert {name: again[name] == shot for name, shot in shots.items()} == dict.fromkeys(PAGES, True)
    finally:
        for context in contexts:
            context.close()
    where = os.environ.get("SRO_DASHBOARD_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        for name, shot in shots.items():
            (Path(where) / f"{name}.png").write_bytes(shot)
