"""Sign-in attempts at the same moment: the failure limit and the one-use second-factor code hold when
attempts run in parallel, not only one after another. On SQLite writers take turns anyway; the
PostgreSQL twins (tests/web/test_postgres.py) are where parallel transactions really interleave."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from storage.models import AuditEvent, ThrottleScope, WebLoginFailure, WebRole, WebSession
from tests.web.conftest import NOW, Site, add_person, login, next_code
from web import accounts

ATTEMPTS = 12  # more than the account's allowance, fewer than the connection pool holds


async def test_parallel_wrong_passwords_get_no_more_than_the_allowed_failures(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    clients = [site.fresh_client() for _ in range(ATTEMPTS)]
    responses = await asyncio.gather(
        *(login(client, person.email, "not the password", next_code(person)) for client in clients)
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(401) == accounts.ACCOUNT_FAILURES_ALLOWED, statuses
    assert statuses.count(429) == ATTEMPTS - accounts.ACCOUNT_FAILURES_ALLOWED, statuses
    async with site.db.transaction() as session:
        counted = await session.scalar(
            select(func.count())
            .select_from(WebLoginFailure)
            .where(WebLoginFailure.scope == ThrottleScope.ACCOUNT)
        )
    assert counted == accounts.ACCOUNT_FAILURES_ALLOWED
    # And the right password and code are throttled now too (the limit is reached, not passed).
    assert (await login(clients[0], person.email, person.password, next_code(person))).status_code == 429


async def test_one_code_used_twice_at_once_signs_in_once(site: Site) -> None:
    person = await add_person(site.db, "ann@example.org", WebRole.COORDINATOR, [])
    code = next_code(person)
    clients = [site.fresh_client() for _ in range(4)]
    responses = await asyncio.gather(
        *(login(client, person.email, person.password, code) for client in clients)
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [303, 401, 401, 401], statuses
    async with site.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(WebSession)) == 1
        signed_in = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "web.login")
        )
    assert signed_in == 1
    # Control: a code of a later step still signs in, a minute on.
    later = NOW + timedelta(minutes=1)
    site.config.clock = lambda: later
    response = await login(clients[1], person.email, person.password, next_code(person, later))
    assert response.status_code == 303
