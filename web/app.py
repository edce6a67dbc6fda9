"""The dashboard's ASGI app: sign-in, setup, the statistics pages and their CSVs, coverage, school import.

Every route but sign-in, setup and the stylesheet needs a session; anything else, whatever the path,
answers a visitor without one with a redirect to the sign-in page. Forms carry a CSRF token: the
session's for signed-in forms, a double-submit cookie for the sign-in and setup forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from casework import links, schools
from casework.errors import SchoolImportError
from casework.stats.periods import Granularity, last_settled_day, month_start
from casework.stats.report import InvalidStatsQuery, StatsQuery
from storage.db import Database
from storage.models import School, WebRole
from web import accounts, limits, pages, posters, security, texts
from web.csv_export import csv_text
from web.figures import NotYours, school_code, school_codes
from web.web_key import WebKey

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "sro_session"
FORM_COOKIE = "sro_form"
FORM_TOKEN_SHAPE = re.compile(
    r"[A-Za-z0-9_-]{43}"
)  # secrets.token_urlsafe(32)  # the double-submit CSRF token of the sign-in and setup forms
NAV = [
    ("overview", "/", texts.OVERVIEW_TITLE),
    ("schools", "/schools", texts.SCHOOLS_TITLE),
    ("trends", "/trends", texts.TRENDS_TITLE),
    ("responses", "/responses", texts.RESPONSES_TITLE),
    ("evaluation", "/evaluation", texts.EVALUATION_TITLE),
    ("coverage", "/coverage", texts.COVERAGE_TITLE),
]


@dataclass
class WebConfig:
    db: Database
    timezone: ZoneInfo
    base_url: str
    web_key: WebKey  # seals second factors, binds account rows and tokens (never the master key)
    idle: timedelta = timedelta(minutes=30)
    trusted_proxies: frozenset[str] = frozenset()
    local_demo: bool = False  # the only case where no second factor is asked for
    bot_username: str | None = None  # for posters' deep links; no posters without it
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def local(self) -> bool:
        """Whether the dashboard's address is on this machine (localhost, 127.0.0.1, ::1)."""
        return security.is_local(self.base_url.split("://", 1)[-1].split("/", 1)[0])

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies everywhere but a plain-HTTP address on this machine."""
        return self.base_url.startswith("https://") or not self.local


PageBuilder = Callable[[Request, accounts.Viewer, list[str] | None, date], Awaitable[pages.Page]]


class Dashboard:
    """The handlers, sharing the configuration and the templates."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(texts=texts, nav=NAV)

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name, value, httponly=True, samesite="strict", secure=self.config.secure_cookies, path="/"
        )

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return self.templates.TemplateResponse(
            request, name, {"demo": self.config.local_demo, **context}, status_code=status
        )

    def form_page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """A sign-in or setup form, with the double-submit token in a cookie and in the form.

        The browser's token is kept if it has one: a page loaded in another tab (or the browser's own
        favicon request, redirected to the sign-in page) must not invalidate a form already shown.
        """
        token = request.cookies.get(FORM_COOKIE, "")
        if not FORM_TOKEN_SHAPE.fullmatch(token):
            token = secrets.token_urlsafe(32)
        response = self.render(request, name, status, form_token=token, **context)
        self.set_cookie(response, FORM_COOKIE, token)
        return response

    async def viewer_of(self, request: Request) -> accounts.Viewer | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        async with self.config.db.transaction() as session:
            return await accounts.viewer_for(
                session, self.config.web_key, token, self.config.clock(), self.config.idle
            )

    async def allowed_codes(self, viewer: accounts.Viewer) -> list[str] | None:
        async with self.config.db.transaction() as session:
            codes = {s.id: s.code for s in await session.scalars(select(School))}
        return school_codes(codes, viewer.school_ids)

    def today(self) -> date:
        return self.config.clock().astimezone(self.config.timezone).date()

    # --- sign-in, setup, sign-out -------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self.form_page(request, "login.html")
        form = await read_form(request)
        if not security.same_token(request.cookies.get(FORM_COOKIE), _field(form, "form_token")):
            return self.form_page(request, "login.html", 403, error=texts.CSRF_REFUSED)
        async with self.config.db.transaction() as session:
            result = await accounts.authenticate(
                session,
                self.config.web_key,
                email=_field(form, "email"),
                password=_field(form, "password"),
                code=_field(form, "code"),
                address=security.client_address(request, self.config.trusted_proxies),
                now=self.config.clock(),
                require_totp=not self.config.local_demo,
            )
        if result.outcome == accounts.LoginOutcome.THROTTLED:
            return self.form_page(request, "login.html", 429, error=texts.LOGIN_THROTTLED)
        if result.outcome != accounts.LoginOutcome.OK or result.session_token is None:
            return self.form_page(request, "login.html", 401, error=texts.LOGIN_REFUSED)
        response = RedirectResponse("/", status_code=303)
        self.set_cookie(response, SESSION_COOKIE, result.session_token)
        response.delete_cookie(FORM_COOKIE, path="/")
        return response

    async def logout(self, request: Request) -> Response:
        viewer = await self.viewer_of(request)
        form = await read_form(request)
        if viewer is None:
            return RedirectResponse("/login", status_code=303)
        if not security.same_token(viewer.csrf_token, _field(form, "csrf")):
            return PlainTextResponse(texts.CSRF_REFUSED, status_code=403)
        async with self.config.db.transaction() as session:
            await accounts.end_session(
                session, self.config.web_key, request.cookies.get(SESSION_COOKIE, ""), self.config.clock()
            )
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def setup(self, request: Request) -> Response:
        token = request.path_params["token"]
        async with self.config.db.transaction() as session:
            account = await accounts.account_for_setup(
                session, self.config.web_key, token, self.config.clock()
            )
        if account is None:
            return self.render(request, "message.html", 404, message=texts.SETUP_GONE)
        if request.method == "GET":
            secret = None if self.config.local_demo else accounts.new_totp_secret()
            return self._setup_form(request, account.email, secret)
        return await self._finish_setup(request, token, account.email)

    async def _finish_setup(self, request: Request, token: str, email: str) -> Response:
        now = self.config.clock()
        form = await read_form(request)
        secret = _field(form, "secret") or None
        if not security.same_token(request.cookies.get(FORM_COOKIE), _field(form, "form_token")):
            return self._setup_form(request, email, secret, texts.CSRF_REFUSED, 403)
        if _field(form, "password") != _field(form, "password2"):
            return self._setup_form(request, email, secret, texts.SETUP_MISMATCH, 400)
        if secret is None and not self.config.local_demo:
            return self._setup_form(request, email, accounts.new_totp_secret(), texts.LOGIN_REFUSED, 400)
        try:
            async with self.config.db.transaction() as session:
                await accounts.complete_setup(
                    session,
                    self.config.web_key,
                    token,
                    password=_field(form, "password"),
                    totp_secret=secret,
                    code=_field(form, "code"),
                    now=now,
                )
        except accounts.AccountError as error:
            return self._setup_form(request, email, secret, str(error), 400)
        return self.render(request, "message.html", message=texts.SETUP_DONE, link="/login")

    def _setup_form(
        self, request: Request, email: str, secret: str | None, error: str | None = None, status: int = 200
    ) -> Response:
        qr = None
        if secret is not None:
            qr = segno.make(accounts.totp_uri(secret, email), error="m").svg_data_uri(scale=4)
        return self.form_page(request, "setup.html", status, email=email, secret=secret, qr=qr, error=error)

    # --- pages ----------------------------------------------------------------------------------

    def page_route(self, name: str, builder: PageBuilder) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            viewer = await self.viewer_of(request)
            if viewer is None:
                return RedirectResponse("/login", status_code=303)
            allowed = await self.allowed_codes(viewer)
            try:
                page = await builder(request, viewer, allowed, self.today())
            except NotYours:
                return self.render(request, "message.html", 404, message=texts.NOT_FOUND, viewer=viewer)
            except (InvalidStatsQuery, ValueError) as error:
                return self.render(request, "message.html", 400, message=str(error), viewer=viewer)
            if request.url.path.endswith(".csv"):
                return _csv(page, request.query_params.get("section", "0"))
            return self.render(
                request,
                "page.html",
                page=page,
                viewer=viewer,
                current=name,
                allowed=allowed,
                params=request.query_params,
                csv_links=[csv_link(f"/{name}.csv", request, n) for n in range(len(page.sections))],
                all_codes=await self._codes(),
                posters=self.config.bot_username is not None,
            )

        return handle

    async def poster(self, request: Request) -> Response:
        """A school's poster (PDF or PNG) with the QR of its deep link, for a school the viewer may see."""
        viewer = await self.viewer_of(request)
        if viewer is None:
            return RedirectResponse("/login", status_code=303)
        code, kind = str(request.path_params["code"]).upper(), request.path_params["kind"]
        language = request.query_params.get("lang", "en")
        allowed = await self.allowed_codes(viewer)
        if (
            kind not in ("pdf", "png")
            or language not in posters.TEXTS
            or (allowed is not None and code not in allowed)
            or self.config.bot_username is None
        ):
            return self.render(request, "message.html", 404, message=texts.NOT_FOUND, viewer=viewer)
        async with self.config.db.transaction() as session:
            school = await session.scalar(select(School).where(School.code == code))
            link = (
                None
                if school is None
                else await links.school_deep_link(session, self.config.bot_username, school)
            )
        if school is None or link is None:
            return self.render(request, "message.html", 404, message=texts.NOT_FOUND, viewer=viewer)
        render = posters.poster_pdf if kind == "pdf" else posters.poster_png
        body = await asyncio.to_thread(render, school.name, link, language)
        return Response(
            body,
            media_type="application/pdf" if kind == "pdf" else "image/png",
            headers={"content-disposition": f'attachment; filename="poster-{code}-{language}.{kind}"'},
        )

    async def _codes(self) -> list[str]:
        async with self.config.db.transaction() as session:
            return [s.code for s in await schools.list_schools(session)]

    async def overview(
        self, request: Request, viewer: accounts.Viewer, allowed: list[str] | None, day: date
    ) -> pages.Page:
        return await pages.overview(self.config.db, allowed, day)

    async def schools_page(
        self, request: Request, viewer: accounts.Viewer, allowed: list[str] | None, day: date
    ) -> pages.Page:
        return await pages.schools_intents(self.config.db, allowed, day, _query(request, day))

    async def trends(
        self, request: Request, viewer: accounts.Viewer, allowed: list[str] | None, day: date
    ) -> pages.Page:
        return await pages.trends(
            self.config.db, allowed, day, school_code(request.query_params.get("school"))
        )

    async def responses(
        self, request: Request, viewer: accounts.Viewer, allowed: list[str] | None, day: date
    ) -> pages.Page:
        return await pages.response_times(self.config.db, allowed, day)

    async def evaluation(
        self, request: Request, viewer: accounts.Viewer, allowed: list[str] | None, day: date
    ) -> pages.Page:
        return await pages.evaluation(self.config.db, allowed, day)

    async def coverage(
        self, request: Request, viewer: accounts.Viewer, allowed: list[str] | None, day: date
    ) -> pages.Page:
        return await pages.coverage(self.config.db, allowed, day)

    async def import_schools(self, request: Request) -> Response:
        viewer = await self.viewer_of(request)
        if viewer is None:
            return RedirectResponse("/login", status_code=303)
        form = await read_form(request, files=True)
        if not security.same_token(viewer.csrf_token, _field(form, "csrf")):
            return self.render(request, "message.html", 403, message=texts.CSRF_REFUSED, viewer=viewer)
        if viewer.role != WebRole.COORDINATOR:
            return self.render(request, "message.html", 404, message=texts.NOT_FOUND, viewer=viewer)
        raw = form.get("file", b"")
        raw = raw if isinstance(raw, bytes) else b""
        try:
            rows = schools.parse_schools_csv(raw.decode("utf-8"))
            async with self.config.db.transaction() as session:
                result = await schools.import_schools(
                    session, rows, self.config.clock(), schools.ImportMode.SKIP_EXISTING
                )
        except (SchoolImportError, UnicodeDecodeError, csv.Error) as error:
            message = str(error) if isinstance(error, SchoolImportError) else texts.IMPORT_UNREADABLE
            return self.render(request, "message.html", 400, message=message, viewer=viewer, link="/coverage")
        message = texts.IMPORT_DONE.format(added=result.added, updated=result.updated, skipped=result.skipped)
        return self.render(request, "message.html", message=message, viewer=viewer, link="/coverage")

    async def anything_else(self, request: Request) -> Response:
        viewer = await self.viewer_of(request)
        if viewer is None:
            return RedirectResponse("/login", status_code=303)
        return self.render(request, "message.html", 404, message=texts.NOT_FOUND, viewer=viewer)


def create_app(config: WebConfig, *, close_db: bool = False) -> Starlette:
    """Every route, security headers on every response; `close_db`: close the database at exit."""
    d = Dashboard(config)
    builders: dict[str, PageBuilder] = {
        "overview": d.overview,
        "schools": d.schools_page,
        "trends": d.trends,
        "responses": d.responses,
        "evaluation": d.evaluation,
        "coverage": d.coverage,
    }
    routes: list[Route | Mount] = [
        Route("/login", d.login, methods=["GET", "POST"]),
        Route("/logout", d.logout, methods=["POST"]),
        Route("/setup/{token}", d.setup, methods=["GET", "POST"]),
        Route("/", d.page_route("overview", d.overview)),
        Route("/coverage/import", d.import_schools, methods=["POST"]),
        Route("/posters/{code}.{kind}", d.poster),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    for name, builder in builders.items():
        if name != "overview":
            routes.append(Route(f"/{name}", d.page_route(name, builder)))
        routes.append(Route(f"/{name}.csv", d.page_route(name, builder)))
    routes.append(
        Route("/{path:path}", d.anything_else, methods=["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH"])
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if close_db:
            await config.db.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    # Added first, so inside the headers' middleware: a 413 carries them too.
    app.add_middleware(
        limits.BodyLimit, default=limits.BODY_LIMIT, limits={"/coverage/import": limits.IMPORT_BODY_LIMIT}
    )
    app.add_middleware(security.SecurityHeaders, strict_transport=not config.local)
    return app


async def read_form(request: Request, *, files: bool = False) -> dict[str, str | bytes]:
    """The posted fields (an uploaded file as its bytes), with the upload's temporary file closed.

    A file is taken only where `files` (the school import; its body is capped by `limits.BodyLimit`);
    anywhere else a posted file is a 400.
    """
    fields: dict[str, str | bytes] = {}
    async with request.form(max_files=1 if files else 0, max_fields=20) as form:
        for name, value in form.multi_items():
            fields[name] = await value.read() if isinstance(value, UploadFile) else value
    return fields


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _query(request: Request, today: date) -> StatsQuery:
    """The schools page's filters: the same options as `sro stats` (--from, --to, --by, --school)."""
    params = request.query_params

    def day(name: str) -> date | None:
        value = params.get(name)
        return date.fromisoformat(value) if value else None

    by = Granularity(params.get("by") or Granularity.MONTH)
    first, last = day("from"), day("to")
    if first is None and last is None:
        last = last_settled_day(today)
        first = month_start(last)
    return StatsQuery(first, last, school_code(params.get("school")), by)


def csv_link(path: str, request: Request, section: int) -> str:
    """A table's CSV: the page's query (its filters) with this table's section, every value encoded;
    a `section` in the page's own query is dropped, not left to override the table's."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "section"]
    return f"{path}?{urlencode([('section', str(section)), *query])}"


def _csv(page: pages.Page, section: str) -> Response:
    try:
        chosen = page.sections[int(section)]
    except (ValueError, IndexError):
        return PlainTextResponse(texts.NOT_FOUND, status_code=404)
    return Response(
        csv_text(chosen.headers, chosen.rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="sro-connect.csv"'},
    )
