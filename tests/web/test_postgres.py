"""The dashboard's core flows over HTTP on PostgreSQL: the same tests as on SQLite, against a real server.

Sign-in with password and TOTP (a code works once), role isolation with its positive controls, every
page and CSV with the seeded numbers, and account rows and sessions bound by the web key: each twin
runs the SQLite test's body on a PostgreSQL database made from the migrated template and seeded
through the same domain API.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from storage.db import Database
from tests.storage.fixtures import PostgresTemplate, _admin, _drop_database, with_database
from tests.web import test_account_binding, test_http, test_login_races
from tests.web.conftest import BASE, NOW, WEB_KEY, ZONE, Site, seed
from web.app import WebConfig, create_app

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_site(postgres_template: PostgresTemplate | None) -> AsyncIterator[Site]:
    if postgres_template is None:
        pytest.skip("PostgreSQL tests skipped on request (SRO_SKIP_POSTGRES=1)")
    name = f"sro_web_{secrets.token_hex(6)}"
    await _admin(postgres_template.url, f"CREATE DATABASE {name} TEMPLATE {postgres_template.name}")
    db = Database.connect(with_database(postgres_template.url, name))
    try:
        assert db.engine.dialect.name == "postgresql"  # the twin really runs on PostgreSQL
        ids = await seed(db)
        config = WebConfig(db=db, timezone=ZONE, base_url=BASE, web_key=WEB_KEY, clock=lambda: NOW)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(config)), base_url=BASE
        ) as client:
            yield Site(db, config, client, ids)
    finally:
        await db.close()
        await _drop_database(postgres_template.url, name)


async def test_login_with_password_and_totp_and_a_code_works_once_on_postgres(pg_site: Site) -> None:
    await test_http.test_login_with_password_and_totp_and_a_code_works_once(pg_site)


async def test_a_wrong_password_then_throttling_per_account_on_postgres(pg_site: Site) -> None:
    await test_http.test_a_wrong_password_then_throttling_per_account(pg_site)


async def test_a_school_account_cannot_see_another_school_on_postgres(pg_site: Site) -> None:
    await test_http.test_a_school_account_cannot_see_another_school(pg_site)


async def test_a_school_account_sees_exactly_what_the_coordinator_sees_on_postgres(pg_site: Site) -> None:
    await test_http.test_a_school_account_sees_exactly_what_the_coordinator_sees_of_that_school(pg_site)


async def test_every_page_renders_with_the_seeded_numbers_on_postgres(pg_site: Site) -> None:
    await test_http.test_every_page_renders_with_the_seeded_numbers(pg_site)


async def test_csrf_is_refused_on_every_form_on_postgres(pg_site: Site) -> None:
    await test_http.test_csrf_is_refused_on_every_form(pg_site)


async def test_a_writer_cannot_widen_a_school_account_on_postgres(pg_site: Site) -> None:
    await test_account_binding.test_a_writer_cannot_widen_a_school_account_and_its_session_ends(pg_site)


async def test_a_writer_cannot_make_or_move_a_session_on_postgres(pg_site: Site) -> None:
    await test_account_binding.test_a_writer_cannot_make_or_move_a_session(pg_site)


async def test_parallel_wrong_passwords_get_no_more_than_the_allowed_failures_on_postgres(
    pg_site: Site,
) -> None:
    await test_login_races.test_parallel_wrong_passwords_get_no_more_than_the_allowed_failures(pg_site)


async def test_one_code_used_twice_at_once_signs_in_once_on_postgres(pg_site: Site) -> None:
    await test_login_races.test_one_code_used_twice_at_once_signs_in_once(pg_site)
