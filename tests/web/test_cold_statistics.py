"""A cold statistics cache is protected off the event loop: other viewers' pages keep being answered."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from casework.stats import report
from storage.models import WebRole
from tests.web.conftest import Site
from tests.web.test_http import signed_in

HELD_AT_MOST = 30  # seconds: only so that a failing run ends; nothing is timed


async def test_another_viewers_page_is_answered_while_a_cold_month_is_protected(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    principal = await signed_in(site, "pat@example.org", WebRole.SCHOOL, ["BIG"])
    entered, release = threading.Event(), threading.Event()
    held: list[bool] = []
    protect = report._protect

    def gated(*args: Any, **kwargs: Any) -> Any:
        """The real protection, once the test lets it go: until then the cold computation 'runs'."""
        entered.set()
        held.append(release.wait(HELD_AT_MOST))
        return protect(*args, **kwargs)

    monkeypatch.setattr(report, "_protect", gated)
    cold = asyncio.create_task(coordinator.get("/trends"))
    assert await asyncio.to_thread(entered.wait, HELD_AT_MOST)
    # The computation is held; another viewer's page and the sign-in page answer meanwhile.
    other = await principal.get("/coverage")
    assert other.status_code == 200
    assert "BIG Secondary" in other.text
    assert (await site.fresh_client().get("/login")).status_code == 200
    release.set()
    answer = await cold
    assert answer.status_code == 200
    assert "Weapons reports per month" in answer.text  # the cold page itself came out whole
    # Every protection was still held (not timed out) when the other pages were answered.
    assert held
    assert all(held)
