"""Through the dashboard's own views, no choice of filters (school, range, granularity, role) reveals a
small count: the same data set and linear program as `sro stats`'s test, queried over HTTP."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from itertools import product
from pathlib import Path

import httpx
import numpy as np
import pytest
from scipy.optimize import linprog

from casework.stats.periods import Granularity, periods_between
from nlu import taxonomy
from storage.db import Database
from storage.models import WebRole
from tests.admin.test_stats_differencing import (
    FIRST,
    INTENTS,
    LAST,
    RANGES,
    TARGET,
    Cell,
    dataset,
    load,
    members,
)
from tests.storage.fixtures import Templates
from tests.web.conftest import BASE, NOW, WEB_KEY, ZONE, add_person, copy_template, login, next_code
from web.app import WebConfig, create_app

LABELS = {taxonomy.label(i): i for i in INTENTS} | {"All messages": "*"}


async def client_for(config: WebConfig, email: str, role: WebRole, codes: list[str]) -> httpx.AsyncClient:
    person = await add_person(config.db, email, role, codes)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(config)), base_url=BASE)
    assert (await login(client, person.email, person.password, next_code(person))).status_code == 303
    return client


Rows = tuple[int, ...]


def solve(
    universe: list[Cell], truth: np.ndarray, equations: dict[Rows, int], small: set[Rows], withheld: set[Rows]
) -> float:
    """The spread of the hidden cell's possible values under everything published."""
    n = len(universe)
    a_eq = np.zeros((len(equations), n))
    for row, rows in enumerate(equations):
        a_eq[row, list(rows)] = 1
    a_ub, b_ub = [], []
    for rows, upper in [(r, 4.0) for r in small] + [(r, None) for r in withheld]:
        vector = np.zeros(n)
        vector[list(rows)] = 1
        if upper is not None:
            a_ub.append(vector)
            b_ub.append(upper)
        a_ub.append(-vector)
        b_ub.append(-1.0)
    target = [k for k, (s, i, d, _) in enumerate(universe) if (s, i, d) == TARGET]
    objective = np.zeros(n)
    objective[target] = 1
    bounds = {
        "A_eq": a_eq,
        "b_eq": np.array(list(equations.values()), float),
        "A_ub": np.array(a_ub),
        "b_ub": np.array(b_ub),
        "method": "highs",
    }
    low, high = linprog(objective, **bounds), linprog(-objective, **bounds)
    assert low.status == 0
    return float((-high.fun if high.status == 0 else float("inf")) - low.fun)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:scipy")
async def test_no_filter_or_role_in_the_dashboard_reveals_a_small_count(
    migrated_templates: Templates, tmp_path: Path
) -> None:
    url = copy_template(migrated_templates, tmp_path)
    cells = dataset()
    await asyncio_load(url, cells)
    db = Database.connect(url)
    config = WebConfig(db=db, timezone=ZONE, base_url=BASE, web_key=WEB_KEY, clock=lambda: NOW)
    viewers: list[tuple[httpx.AsyncClient, list[str | None]]] = [
        (await client_for(config, "coord@example.org", WebRole.COORDINATOR, []), [None, "BIG", "MID", "SML"]),
        (await client_for(config, "small@example.org", WebRole.SCHOOL, ["SML"]), [None]),
        (await client_for(config, "two@example.org", WebRole.SCHOOL, ["BIG", "SML"]), [None, "SML"]),
    ]
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    universe: list[Cell] = list(product(["BIG", "MID", "SML", "-"], INTENTS, days, [False, True]))
    truth = np.array([cells.get(c, 0) for c in universe], dtype=float)
    equations: dict[tuple[int, ...], int] = {}
    small: set[tuple[int, ...]] = set()
    withheld: set[tuple[int, ...]] = set()
    queries = 0
    for client, choices in viewers:
        for (first, last), by, school in product(RANGES, list(Granularity), choices):
            params = {"section": "0", "from": str(first), "to": str(last), "by": str(by)} | (
                {"school": school} if school else {}
            )
            response = await client.get("/schools.csv", params=params)
            assert response.status_code == 200, response.text
            queries += 1
            periods = periods_between(first, last, by)
            used_first, used_last = periods[0].start, periods[-1].end
            for row in csv.DictReader(io.StringIO(response.text)):
                for column, value in row.items():
                    if column == "school":
                        continue
                    published = {
                        "school": row["school"],
                        "intent": LABELS[column],
                        "measure": "count",
                        "period": "total",
                    }
                    rows = tuple(members(published, used_first, used_last, by, universe))
                    if value.isdigit():
                        assert int(value) == int(truth[list(rows)].sum()), (row["school"], column)  # true
                        equations[rows] = int(value)
                    elif value == "<5":
                        small.add(rows)
                    else:
                        assert value == "x", value
                        withheld.add(rows)
    for client, _ in viewers:
        await client.aclose()
    await db.close()
    assert queries == 7 * 3 * 7
    big = tuple(
        k for k, (s, i, d, _) in enumerate(universe) if s == "BIG" and i == "greet" and FIRST <= d <= LAST
    )
    assert big in equations  # positive control: a large count is published exactly
    target = tuple(k for k, (s, i, d, _) in enumerate(universe) if (s, i, d) == TARGET)
    assert target not in equations
    exact_sets = [frozenset(rows) for rows in equations]
    for outer, inner in product(exact_sets, exact_sets):
        assert not (inner < outer and outer - inner == frozenset(target))
    assert solve(universe, truth, equations, small, withheld) > 0.5
    # Positive control: had one view published the day's count, the program would pin it.
    assert solve(universe, truth, equations | {target: 2}, small, withheld) < 0.5


async def asyncio_load(url: str, cells: dict[Cell, int]) -> None:
    """The CLI test's loader runs its own event loop; here we are inside one already."""
    import asyncio

    await asyncio.to_thread(asyncio.run, load(url, cells))
