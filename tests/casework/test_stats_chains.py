"""All schools' chains of a settled month protected side by side, against each school's own chain.

`chains.protect_schools` lays every school's steps of one kind in arrays and protects them
together; the oracle is `cube._protect_school`, the chain step by step as `sro stats` ran it
before (kept as the reference). The cells must be equal, in the same order (they are encoded in
that order for the cache), on random months of several schools: quiet and busy schools, months
starting on every weekday, with and without steps whose audit must search. An independent linear
program (scipy's, not the audit's path) finds no hidden count of 1..4 pinned in what is published.
Controls: with the audit's proof refused everywhere every step goes through the chain's own code
and the tables are still equal; a weakened protection (no blame, or no audit) gives other tables
and pinned counts, so both checks can fail.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.optimize import linprog

from casework.stats import cache, chains, cube, disclosure, disclosure_audit
from casework.stats.cube import ALL_INTENTS, URGENT, BaseRow, CellKey, Published
from casework.stats.disclosure import Status
from casework.stats.periods import Granularity, period_of

MONTHS = [date(2026, 3, 1), date(2026, 2, 1), date(2025, 9, 1), date(2026, 6, 1)]  # Sun, Sun, Mon, Mon


def random_school_month(rng: random.Random, month: date, school: int) -> list[BaseRow]:
    """A school's month, from quiet (a few intents, many small counts) to busy."""
    rows = []
    rates = [rng.uniform(0.05, 1.5) for _ in range(rng.randint(1, 9))]
    days = (period_of(month, Granularity.MONTH).end - month).days + 1
    skip = rng.random() < 0.3  # some schools have days with nothing at all
    for day in range(days):
        if skip and rng.random() < 0.3:
            continue
        for intent, rate in enumerate(rates):
            for urgent in (False, True):
                if rng.random() < rate * (rng.uniform(0.1, 0.6) if urgent else 1.0):
                    count = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 9])
                    rows.append(BaseRow(school, f"i{intent}", month + timedelta(days=day), urgent, count))
    return rows


def random_month(seed: int) -> tuple[date, dict[int, list[BaseRow]]]:
    rng = random.Random(seed)
    month = MONTHS[seed % len(MONTHS)]
    schools = {school: random_school_month(rng, month, school) for school in range(1, rng.randint(3, 7))}
    return month, {school: rows for school, rows in schools.items() if rows}


def each_chain(month: date, schools: dict[int, list[BaseRow]]) -> dict[int, list[tuple[CellKey, Published]]]:
    """The oracle: each school's chain, step by step."""
    return {
        school: list(cube._protect_school(cube._Month(month, rows))[0].items())
        for school, rows in schools.items()
    }


def side_by_side(
    month: date, schools: dict[int, list[BaseRow]]
) -> dict[int, list[tuple[CellKey, Published]]]:
    return {school: list(cells.items()) for school, cells in chains.protect_schools(month, schools).items()}


@pytest.mark.parametrize("seed", range(8))
def test_side_by_side_gives_each_chain(seed: int) -> None:
    month, schools = random_month(seed)
    got = side_by_side(month, schools)
    assert got == each_chain(month, schools)
    assert any(cell.status == Status.WITHHELD for cells in got.values() for _, cell in cells)


def test_steps_the_proof_leaves_go_through_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the proof refused, every step with something to audit is protected by `cube` itself,
    searching: still the same tables (the search's findings and culprits are the chain's own)."""
    month, schools = random_month(3)
    expected = each_chain(month, schools)
    fallbacks: list[int] = []
    original = chains._protect_by_chain

    def counted(*args: object) -> None:
        fallbacks.append(1)
        original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(disclosure_audit, "_none_pinned", lambda *_: False)
    monkeypatch.setattr(chains, "_protect_by_chain", counted)
    assert side_by_side(month, schools) == expected
    assert len(fallbacks) > 10


def test_the_benchmark_month_as_the_chain_published_it() -> None:
    """Ten schools of a month shaped like `make bench-storage`'s (23 intents, a row every day):
    the encoded cells are the bytes the step-by-step chain gave (recorded from it at 39127f7)."""
    rng = random.Random(7)
    month = date(2027, 5, 1)
    rates = [rng.uniform(0.05, 1.2) for _ in range(23)]
    schools: dict[int, list[BaseRow]] = {school: [] for school in range(1, 11)}
    for day in range(31):
        for school, rows in schools.items():
            for intent, rate in enumerate(rates):
                for urgent in (False, True):
                    count = int(
                        np.random.default_rng(rng.getrandbits(32)).poisson(rate * (0.15 if urgent else 1))
                    )
                    if count:
                        rows.append(
                            BaseRow(
                                school, f"intent_{intent:02d}", month + timedelta(days=day), urgent, count
                            )
                        )
    protected = chains.protect_schools(month, schools)
    encoded = b"".join(cache.encode(month, cube.published(protected[school])) for school in sorted(schools))
    assert hashlib.sha256(encoded).hexdigest() == BENCHMARK_MONTH_DIGEST


BENCHMARK_MONTH_DIGEST = "818abcf22934a59d37264d1eeb9e6c076a167be4bc1a9204293431945c8b3120"


def pinned(month: date, rows: list[BaseRow], cells: dict[CellKey, Published]) -> list[CellKey]:
    """Hidden counts of 1..4 an adversary's linear program pins, from one school's published cells."""
    parts: dict[tuple[str, date], list[int]] = {}
    for row in rows:
        parts.setdefault((row.intent, row.day), [0, 0])[row.urgent] += row.count
    variables = {(key, u): n for n, (key, u) in enumerate((k, u) for k in parts for u in (0, 1))}
    school = rows[0].school
    published = dict(cells)
    for _, day in parts:  # a zero urgent count is published too: it fixes the urgent parts at 0
        published.setdefault(
            (URGENT, school, ALL_INTENTS, period_of(day, Granularity.DAY)), Published(0, Status.EXACT)
        )

    def vector(key: CellKey) -> np.ndarray:
        measure, _, intent, period = key
        v = np.zeros(len(variables))
        for (i, d), u in variables:
            if (
                period.start <= d <= period.end
                and intent in (i, ALL_INTENTS)
                and (measure != URGENT or u == 1)
            ):
                v[variables[((i, d), u)]] = 1
        return v

    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for key, cell in published.items():
        if cell.status == Status.EXACT:
            a_eq.append(vector(key))
            b_eq.append(cell.value)
        else:
            a_ub.append(-vector(key))
            b_ub.append(-1)
            if cell.status == Status.SMALL:
                a_ub.append(vector(key))
                b_ub.append(4)
    found = []
    for key, cell in published.items():
        if cell.status == Status.EXACT or not 1 <= cell.value <= 4:
            continue
        objective = vector(key)
        low = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, A_ub=a_ub or None, b_ub=b_ub or None)
        high = linprog(-objective, A_eq=a_eq or None, b_eq=b_eq or None, A_ub=a_ub or None, b_ub=b_ub or None)
        assert low.status == 0
        assert high.status in (0, 3)
        if high.status == 0 and -high.fun - low.fun < 1e-6:
            found.append(key)
    return found


@pytest.mark.parametrize("seed", range(3))
def test_nothing_published_is_pinned(seed: int) -> None:
    month, schools = random_month(seed)
    protected = chains.protect_schools(month, schools)
    for school, rows in schools.items():
        assert pinned(month, rows, protected[school]) == []


def test_a_weaker_protection_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: with bounds propagation's pins left published (no blame) and the audit's proof
    trusted blindly, the tables differ from the chain's and the independent program finds pinned
    counts in them. (Without blame alone the audit still catches every pin: its steps then go
    through the chain's own code and the tables are the chain's.)"""
    month, schools = random_month(1)
    expected = each_chain(month, schools)

    def no_blame(values: np.ndarray, unpublished: np.ndarray, *_: object) -> np.ndarray:
        return disclosure.initial_status(values, unpublished)

    monkeypatch.setattr(chains, "protect_steps", no_blame)
    assert side_by_side(month, schools) == expected
    monkeypatch.setattr(disclosure_audit, "_none_pinned", lambda *_: True)
    weak = chains.protect_schools(month, schools)
    assert {school: list(cells.items()) for school, cells in weak.items()} != expected
    assert any(pinned(month, rows, weak[school]) for school, rows in schools.items())


def test_without_the_audit_some_table_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: steps the audit would change are found in these months (the proof fails somewhere and
    the chain's search withholds more), so the equality above covers the audit's part too."""
    differs = 0
    for seed in range(8):
        month, schools = random_month(seed)
        expected = each_chain(month, schools)
        with monkeypatch.context() as patch:
            patch.setattr(chains, "clean_components", lambda *_: [])
            differs += side_by_side(month, schools) != expected
    assert differs > 0


def test_components_proven_together_are_never_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The days' components are proven twenty at a time (one program over their union): every
    component so proven, the search of `disclosure_audit` finds nothing pinned in. Control: the
    search does find pins in some components of these months (so it would see a wrong proof)."""
    problems: list[tuple[disclosure_audit.AuditProblem, set[int]]] = []
    original = disclosure_audit.clean_components

    def kept(
        problem: disclosure_audit.AuditProblem, redundant: set[int], together: int = 1, threads: int = 1
    ) -> list[tuple[list[int], bool]]:
        problems.append((problem, redundant))
        return original(problem, redundant, together, threads)

    monkeypatch.setattr(chains, "clean_components", kept)
    for seed in range(8):
        chains.protect_schools(*random_month(seed))
    proven = found = 0
    for problem, redundant in problems:
        components, audited, _ = disclosure_audit._audited_components(problem, redundant)
        cleared = {tuple(component): clean for component, clean in original(problem, redundant, together=20)}
        for component, targets in zip(components, audited, strict=True):
            if not targets:
                continue
            pins = disclosure_audit._audit_component(problem, component, targets, random.Random(0))
            found += bool(pins)
            if cleared[tuple(component)]:
                proven += 1
                assert pins == []
    assert proven > 100
    assert found > 0
