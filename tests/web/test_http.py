"""The dashboard over HTTP (httpx against the real ASGI app): sign-in, roles, CSRF, headers, pages."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from storage.models import AuditEvent, Officer, WebLoginFailure, WebRole
from tests.web.conftest import BASE, CSRF, NOW, WEB_KEY, Site, add_person, login, next_code, texts_of
from web import accounts, security
from web.figures import Figures, NotYours

PAGES = ["/", "/schools", "/trends", "/responses", "/evaluation", "/coverage"]
CSVS = [
    "/overview.csv?section=0",
    "/schools.csv?section=0",
    "/trends.csv?section=1",
    "/responses.csv?section=0",
]


async def signed_in(site: Site, email: str, role: WebRole, codes: list[str]) -> httpx.AsyncClient:
    person = await add_person(site.db, email, role, codes)
    client = site.fresh_client()
    response = await login(client, person.email, person.password, next_code(person))
    assert response.status_code == 303, response.text
    return client


async def test_login_with_password_and_totp_and_a_code_works_once(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    code = next_code(person)
    response = await login(site.client, person.email, person.password, code)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert (await site.client.get("/")).status_code == 200  # signed in (positive control)
    other = site.fresh_client()
    assert (await login(other, person.email, person.password, code)).status_code == 401  # replayed code
    assert (await login(other, person.email, person.password, "")).status_code == 401  # no second factor
    assert (
        await login(other, person.email, "wrong password!", next_code(person, steps=2))
    ).status_code == 401
    assert (await other.get("/")).status_code == 303


async def test_a_code_in_other_digits_is_a_wrong_code_counted_like_any_other(site: Site) -> None:
    """A right password with a code that is not ASCII (Arabic-Indic digits, full-width digits) must be
    refused as wrong, counted and audited: a server error here told an attacker the password was
    right, and undid the failure's count and audit."""
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    client = site.fresh_client()
    for code in ["\u0661\u0662\u0663\u0664\u0665\u0666", "\uff11\uff12\uff13\uff14\uff15\uff16", "12345é"]:
        response = await login(client, person.email, person.password, code)
        assert response.status_code == 401, code
        assert "That email, password or code is not right." in response.text
    async with site.db.transaction() as session:
        failures = await session.scalar(select(func.count()).select_from(WebLoginFailure))
        refused = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "web.login_refused")
        )
    assert (failures, refused) == (6, 3)  # per account and per address, each attempt
    # A form token that is not ASCII is a refused form, not a server error.
    await client.get("/login")
    response = await client.post(
        "/login", data={"form_token": "\u0661" * 20, "email": person.email, "password": person.password}
    )
    assert response.status_code == 403
    # Positive control: the right code, with spaces as an app shows it, still signs in.
    code = next_code(person)
    assert (await login(client, person.email, person.password, f" {code[:3]} {code[3:]} ")).status_code == 303


async def test_a_server_error_carries_the_headers_and_names_only_its_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(request: object) -> PlainTextResponse:
        raise RuntimeError("posted secret text")

    app = Starlette(routes=[Route("/boom", boom)])
    app.add_middleware(security.SecurityHeaders)
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level("ERROR"):
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert missing_protection(response) == []
    assert response.headers["cache-control"] == "no-store"
    assert "posted secret text" not in response.text
    assert "posted secret text" not in caplog.text
    assert "web.server_error error=RuntimeError" in caplog.text


async def test_a_wrong_password_then_throttling_per_account(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    client = site.fresh_client()
    for _ in range(accounts.ACCOUNT_FAILURES_ALLOWED):
        response = await login(client, person.email, "not the password", next_code(person))
        assert response.status_code == 401
        assert "That email, password or code is not right." in response.text
    # Now even the right password and code are refused for a while ...
    response = await login(client, person.email, person.password, next_code(person))
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    # ... and when the window has passed, they work (positive control: the refusal was the throttle).
    site.config.clock = lambda: NOW + accounts.THROTTLE_WINDOW + timedelta(seconds=1)
    later = NOW + accounts.THROTTLE_WINDOW + timedelta(seconds=1)
    response = await login(client, person.email, person.password, next_code(person, later))
    assert response.status_code == 303
    async with site.db.transaction() as session:  # and the old failures are forgotten
        assert await session.scalar(select(func.count()).select_from(WebLoginFailure)) == 0


async def test_throttling_per_address_honours_only_trusted_proxies(site: Site) -> None:
    victim = await add_person(site.db, "vic@example.org", WebRole.COORDINATOR, [])
    client = site.fresh_client()
    for n in range(accounts.ADDRESS_FAILURES_ALLOWED):  # one address tries many accounts
        await login(
            client,
            f"guess{n}@example.org",
            "password guess",
            "000000",
            **{"x-forwarded-for": f"198.51.100.{n}"},
        )
    # The forwarded header is not believed from an untrusted peer: spoofing it does not escape.
    refused = await login(
        client, victim.email, victim.password, next_code(victim), **{"x-forwarded-for": "203.0.113.9"}
    )
    assert refused.status_code == 429
    # Behind a trusted proxy, the forwarded address is the client's: another client signs in (control).
    site.config.trusted_proxies = frozenset({"127.0.0.1"})
    ok = await login(
        site.fresh_client(),
        victim.email,
        victim.password,
        next_code(victim),
        **{"x-forwarded-for": "203.0.113.9"},
    )
    assert ok.status_code == 303


async def test_unauthenticated_visitor_gets_the_login_page_and_nothing_else(site: Site) -> None:
    paths = [*PAGES, *CSVS, "/nowhere", "/admin", "/coverage/import", "/static/../app.py"]
    for path in paths:
        response = await site.client.get(path)
        assert response.status_code in (303, 404), path
        if response.status_code == 303:
            assert response.headers["location"] == "/login", path
        assert "BIG" not in response.text, path
        assert "Secondary" not in response.text, path
    posted = await site.client.post("/coverage/import", files={"file": ("s.csv", b"name,code\nX,XX\n")})
    assert posted.status_code == 303
    login_page = await site.client.get("/login")
    assert login_page.status_code == 200
    assert "Sign in" in login_page.text
    # Positive control: signed in, the same paths give the numbers.
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    for path in PAGES + CSVS:
        response = await client.get(path)
        assert response.status_code == 200, path
    assert "BIG" in (await client.get("/schools")).text


async def test_a_school_account_cannot_see_another_school(site: Site) -> None:
    mid = await signed_in(site, "principal@mid.example.org", WebRole.SCHOOL, ["MID"])
    for path in [
        "/schools?school=BIG",
        "/trends?school=BIG",
        "/schools.csv?section=0&school=BIG",
        "/schools?school=SML",
    ]:
        response = await mid.get(path)
        assert response.status_code == 404, path
        assert "BIG Secondary" not in response.text
    for path in PAGES + CSVS:
        text = (await mid.get(path)).text
        assert not re.search(r"\b(BIG|SML|ALL)\b", text), path  # no other school, no all-schools total
    assert "MID" in (await mid.get("/schools")).text  # its own school it sees (positive control)
    coordinator = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    assert (await coordinator.get("/schools?school=BIG")).status_code == 200  # the route works (control)
    assert "BIG" in (await coordinator.get("/schools.csv?section=0")).text


async def test_a_school_account_sees_exactly_what_the_coordinator_sees_of_that_school(site: Site) -> None:
    # A role is a filter of the same published cells, never a different table to subtract.
    mid = await signed_in(site, "principal@mid.example.org", WebRole.SCHOOL, ["MID"])
    coordinator = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    for query in [
        "by=month&from=2025-02-01&to=2025-03-31",
        "by=week&from=2025-02-03&to=2025-02-16",
        "by=day&from=2025-02-10&to=2025-02-14",
    ]:
        mine = rows_of((await mid.get(f"/schools.csv?section=0&{query}")).text)
        theirs = rows_of((await coordinator.get(f"/schools.csv?section=0&{query}&school=MID")).text)
        assert mine == theirs
        everyone = rows_of((await coordinator.get(f"/schools.csv?section=0&{query}")).text)
        (mid_row,) = [row for row in everyone if row["school"] == "MID"]
        assert len(mine) == 1
        for column, value in mid_row.items():
            assert mine[0].get(column, "0") == value, (query, column)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csrf_is_refused_on_every_form(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    page = await client.get("/coverage")
    token = CSRF.search(page.text)
    assert token is not None
    # A forged import (no token, a wrong one) is refused and imports nothing.
    for data in ({}, {"csrf": "forged"}):
        response = await client.post(
            "/coverage/import", data=data, files={"file": ("s.csv", b"name,code\nForged School,FRG\n")}
        )
        assert response.status_code == 403
    assert "FRG" not in (await client.get("/coverage")).text
    # A forged sign-out is refused and the session lives on.
    assert (await client.post("/logout", data={"csrf": "forged"})).status_code == 403
    assert (await client.get("/")).status_code == 200
    # A sign-in form posted without its double-submit token is refused, even with the right password.
    person = await add_person(site.db, "bob@example.org", WebRole.COORDINATOR, [])
    fresh = site.fresh_client()
    forged = await fresh.post(
        "/login", data={"email": person.email, "password": person.password, "code": next_code(person)}
    )
    assert forged.status_code == 403
    # Positive controls: with the tokens, each form works.
    imported = await client.post(
        "/coverage/import",
        data={"csrf": token.group(1)},
        files={"file": ("s.csv", b"name,code\nReal School,REAL\n")},
    )
    assert imported.status_code == 200
    assert "1 added" in imported.text
    assert (await login(fresh, person.email, person.password, next_code(person))).status_code == 303
    assert (await client.post("/logout", data={"csrf": token.group(1)})).status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_a_school_account_cannot_import_schools(site: Site) -> None:
    mid = await signed_in(site, "principal@mid.example.org", WebRole.SCHOOL, ["MID"])
    token = CSRF.search((await mid.get("/coverage")).text)
    assert token is not None
    response = await mid.post(
        "/coverage/import",
        data={"csrf": token.group(1)},
        files={"file": ("s.csv", b"name,code\nX School,XX\n")},
    )
    assert response.status_code == 404


async def test_every_page_renders_with_the_seeded_numbers(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    texts = {path: (await client.get(path)).text for path in PAGES}
    assert "Messages per month: ALL" in texts["/"]
    assert "2025-03" in texts["/"]
    assert "This month, by week" in texts["/"]
    assert "2025-04-01" in texts["/"]  # April's complete days
    assert "<svg" in texts["/"]
    assert "<title" in texts["/"]  # a chart, with its text alternative
    assert "Schools × intents, 2025-03-01 to 2025-03-31" in texts["/schools"]
    assert "Weapons reports per month: ALL" in texts["/trends"]
    assert "to first reply" in texts["/responses"]
    assert "BIG" in texts["/responses"]
    assert "Safety, real and perceived" in texts["/evaluation"]
    assert "BIG Secondary" in texts["/coverage"]
    coverage = (await client.get("/coverage.csv?section=0")).text.splitlines()
    assert coverage[1] == "BIG,BIG Secondary,active,Cst. Maple,Cst. Oak,1 of 2,1 of 2,yes"
    assert coverage[2] == "MID,MID Secondary,active,none,none,0 of 0,0 of 0,NO"
    assert "Import a school list" in texts["/coverage"]
    for path, text in texts.items():
        assert "report_" not in text or path == "/schools", path  # intents by their human labels
    csv = (await client.get("/responses.csv?section=0")).text.splitlines()
    assert csv[0] == "school,month,measure,median (min),90th percentile (min)"
    assert any(line.startswith("BIG,2025-03,to acknowledgement,") for line in csv)


async def test_the_coverage_page_says_its_officer_rows_are_as_recorded_not_verified(site: Site) -> None:
    """The dashboard holds no key to check the directory's MACs: it must not present a row as verified."""
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    page = texts_of((await client.get("/coverage")).text)
    assert "Cst. Maple" in page  # control: the recorded row is shown
    # A database writer renames an officer without the directory key: the bot would refuse the row,
    # the dashboard shows it as recorded, and the page says exactly that.
    async with site.db.transaction() as session:
        await session.execute(
            update(Officer).where(Officer.display_name == "Cst. Maple").values(display_name="Cst. Forged")
        )
    page = " ".join(html.unescape(texts_of((await client.get("/coverage")).text)).split())
    assert "Cst. Forged" in page
    assert "Coverage, as recorded in the directory" in page
    assert "not verified here" in page
    assert "the bot verifies each officer's row before it sends them anything" in page


async def test_sessions_expire_when_idle_and_are_revoked_by_disable(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    site.config.clock = lambda: NOW + timedelta(minutes=29)
    assert (await client.get("/")).status_code == 200  # still active (and the idle clock restarts)
    site.config.clock = lambda: NOW + timedelta(minutes=29 + 31)
    assert (await client.get("/")).status_code == 303  # idle too long
    site.config.clock = lambda: NOW
    other = await signed_in(site, "bob@example.org", WebRole.COORDINATOR, [])
    assert (await other.get("/")).status_code == 200
    async with site.db.transaction() as session:
        await accounts.disable_account(session, WEB_KEY, "bob@example.org", NOW)
    assert (await other.get("/")).status_code == 303


async def test_cookies_are_httponly_strict_and_secure_outside_localhost(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    response = await login(site.client, person.email, person.password, next_code(person))
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain HTTP on this machine: a browser would drop a Secure cookie
    site.config.base_url = "https://dashboard.example.org"
    secure = site.fresh_client()
    response = await login(secure, person.email, person.password, next_code(person, steps=2))
    assert "secure" in response.headers["set-cookie"].lower()


def missing_protection(response: httpx.Response) -> list[str]:
    csp = response.headers.get("content-security-policy", "")
    problems = []
    if "frame-ancestors 'none'" not in csp:
        problems.append("frame-ancestors")
    if "script-src" in csp or "'unsafe-inline'" in csp or "default-src 'none'" not in csp:
        problems.append("csp")
    if response.headers.get("x-frame-options") != "DENY":
        problems.append("x-frame-options")
    return problems


async def test_every_response_carries_a_csp_and_forbids_framing(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    responses = [
        await site.client.get(path)
        for path in [*PAGES, "/login", "/setup/nope", "/static/dashboard.css", "/nowhere"]
    ]
    responses += [
        await client.get(path)
        for path in [*PAGES, *CSVS, "/nowhere", "/schools?by=fortnight", "/static/missing.css"]
    ]
    responses += [await client.post("/logout", data={}), await site.client.post("/login", data={})]
    assert len({r.status_code for r in responses}) >= 4  # 200, 303, 400, 403, 404 ...: every kind
    for response in responses:
        assert missing_protection(response) == [], response.request.url
    # Positive control: the check flags an app without the middleware.
    bare = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url=BASE) as plain:
        assert missing_protection(await plain.get("/")) == ["frame-ancestors", "csp", "x-frame-options"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "xlink:href", "srcset", "poster", "data") and value:
                self.urls.append(value)


def other_hosts(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = [
        u for u in parser.urls if not u.startswith("data:") and (urlsplit(u).netloc or u.startswith("//"))
    ]
    found += re.findall(r"url\((?!#)[^)]*\)", html)  # CSS-style references other than an SVG pattern
    found += [m for m in re.findall(r"https?://[^\s\"'<>]+", html) if "www.w3.org/2000/svg" not in m]
    return found


async def test_no_page_references_another_host(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    pages = [(await client.get(path)).text for path in PAGES]
    pages.append((await site.client.get("/login")).text)
    pages.append((await client.get("/static/dashboard.css")).text)
    for text in pages:
        assert other_hosts(text) == []
    # Positive control: the detector finds a script, a stylesheet and a font from elsewhere.
    planted = '<script src="https://cdn.example.com/x.js"></script><link href="//fonts.example/f.css">'
    assert len(other_hosts(planted)) >= 2


@pytest.mark.parametrize("path", ["/setup/expired-or-unknown-token"])
async def test_a_setup_link_works_once(site: Site, path: str) -> None:
    assert (await site.client.get(path)).status_code == 404
    async with site.db.transaction() as session:
        account = await accounts.create_account(
            session,
            WEB_KEY,
            name="Cy",
            email="cy@example.org",
            role=WebRole.COORDINATOR,
            school_codes=[],
            now=NOW,
        )
        token = await accounts.issue_setup_token(session, WEB_KEY, account, NOW)
    page = await site.client.get(f"/setup/{token}")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text  # the QR, made locally
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text)
    form = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert secret
    assert form
    import pyotp

    data = {
        "form_token": form.group(1),
        "password": "a long enough password",
        "password2": "a long enough password",
        "secret": secret.group(1),
        "code": pyotp.TOTP(secret.group(1)).at(NOW),
    }
    done = await site.client.post(f"/setup/{token}", data=data)
    assert done.status_code == 200
    assert "ready" in done.text
    assert (await site.client.get(f"/setup/{token}")).status_code == 404  # used up


async def test_a_school_code_is_read_the_same_way_everywhere_and_an_unknown_one_is_refused(
    site: Site,
) -> None:
    """`/trends?school=%20big` showed exact zeros: the page looked the code up as given (" BIG") in a
    report built for the code stripped ("BIG"), and a missing cell reads as an exact 0."""
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    for section in (0, 1):
        plain = (await client.get(f"/trends.csv?section={section}&school=BIG")).text
        assert section == 1 or re.search(r",≥?[1-9]", plain)  # control: BIG has messages to show
        for spelled in ("%20big", "big%20", "%20BIG%09"):
            response = await client.get(f"/trends.csv?section={section}&school={spelled}")
            assert response.status_code == 200, spelled
            assert response.text == plain, spelled
    page = await client.get("/trends?school=%20big")
    assert "Weapons reports per month: BIG" in page.text
    assert (await client.get("/schools.csv?section=0&school=%20mid")).text == (
        await client.get("/schools.csv?section=0&school=MID")
    ).text
    for unknown in ("NOPE", "%20nope"):
        refused = await client.get(f"/trends?school={unknown}")
        assert refused.status_code in (400, 404), unknown
        assert "Weapons reports per month" not in refused.text


def test_a_school_missing_from_the_figures_is_refused_not_shown_as_zeros() -> None:
    figures = Figures([])
    with pytest.raises(NotYours):
        figures.one("BIG", "2025-03")


async def test_a_tables_csv_link_carries_the_page_query_encoded_and_its_own_section(site: Site) -> None:
    """The CSV link was the page's query pasted in as it came: a value with & or # broke it, and a
    `section` already in the page's address overrode the table's own."""
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    page = await client.get("/trends?school=big&section=1&note=a%26b%23c%20d")
    assert page.status_code == 200
    parser = _Links()
    parser.feed(page.text)
    links = [url for url in parser.urls if url.startswith("/trends.csv")]
    assert len(links) == 2  # the trends page's two tables (control: the links were found)
    for section, link in enumerate(links):
        parts = urlsplit(link)
        assert parts.fragment == ""
        query = parse_qs(parts.query)
        assert query == {"section": [str(section)], "school": ["big"], "note": ["a&b#c d"]}, link
        response = await client.get(link)
        assert response.status_code == 200
        assert response.text == (await client.get(f"/trends.csv?section={section}&school=BIG")).text


async def test_browsers_are_told_to_use_https_only_outside_this_machine(site: Site) -> None:
    """Without Strict-Transport-Security, a coordinator who types the dashboard's name, or follows an
    http:// link, starts in plain HTTP, where someone on the network can answer instead of it."""

    async def responses(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await client.get("/login"),
            await client.get("/"),
            await client.get("/static/dashboard.css"),
            await client.get("/nowhere"),
            await client.post("/login", data={"password": "x" * 100_000}),  # too large: 413
        ]

    site.config.base_url = "https://dashboard.example.org"
    async with site.fresh_client() as public:
        answered = await responses(public)
    assert {r.status_code for r in answered} >= {200, 303, 413}
    for response in answered:
        assert response.headers.get("strict-transport-security") == "max-age=31536000", response.url
    # On this machine (plain HTTP, or HTTPS on localhost) it is not sent: a browser would remember it
    # for every local service on that name.
    for local in ("http://127.0.0.1:8000", "https://localhost:8443", "http://[::1]:8000"):
        site.config.base_url = local
        async with site.fresh_client() as client:
            for response in await responses(client):
                assert "strict-transport-security" not in response.headers, (local, response.url)
