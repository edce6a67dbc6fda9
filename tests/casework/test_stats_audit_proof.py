"""The audit's one-program proof that nothing is pinned, against the search it stands in for.

`disclosure_audit.audit` first asks `_none_pinned` for each component; only when a component is
not proven free of pins does it run the search of `_audit_component` (random directions, then
each cell's minimum and maximum), from the start. So the tables are those of the search alone
as long as the proof never says "nothing pinned" where the search finds a pin. Both run here on
every component of random months, chains included: the proof never clears a component the search
finds pinned, and the protected tables equal those made with the search alone. Controls: the
proof clears most components, and the search does find pins in some of them (so the comparison
covers components with and without).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from casework.stats import cube, disclosure_audit
from casework.stats.cube import BaseRow

MONTH = date(2026, 3, 1)


def random_school_month(rng: random.Random, school: int) -> list[BaseRow]:
    """A school's month, from quiet (a few intents, many small counts) to busy."""
    rows = []
    rates = [rng.uniform(0.05, 1.5) for _ in range(rng.randint(1, 8))]
    for day in range(31):
        for intent, rate in enumerate(rates):
            for urgent in (False, True):
                if rng.random() < rate * (rng.uniform(0.1, 0.6) if urgent else 1.0):
                    count = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 9])
                    rows.append(BaseRow(school, f"i{intent}", MONTH + timedelta(days=day), urgent, count))
    return rows


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """(proof says nothing pinned, search finds a pin) for every component the audit looks at."""
    seen: list[tuple[bool, bool]] = []
    proof, search = disclosure_audit._none_pinned, disclosure_audit._audit_component

    def both(problem: disclosure_audit.AuditProblem, rows: list[int], targets: list[int]) -> bool:
        cleared = proof(problem, rows, targets)
        found = search(problem, rows, targets, random.Random(0))
        seen.append((cleared, bool(found)))
        return cleared

    monkeypatch.setattr(disclosure_audit, "_none_pinned", both)
    return seen


@pytest.mark.parametrize("seed", range(4))
def test_the_proof_never_clears_a_component_the_search_finds_pinned(
    seed: int, outcomes: list[tuple[bool, bool]]
) -> None:
    rng = random.Random(seed)
    for school in range(1, 9):
        rows = random_school_month(rng, school)
        for through in (None, MONTH + timedelta(days=rng.randint(0, 29))):
            cube._protect_school(cube._Month(MONTH, rows, through))
    assert not [o for o in outcomes if o == (True, True)]
    assert sum(cleared for cleared, _ in outcomes) > len(outcomes) / 2  # control: the proof does clear
    assert any(found for _, found in outcomes)  # control: some components are pinned


def test_a_failed_program_proves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof's own program failing leaves the component to the search (never 'nothing pinned')."""
    proofs: list[tuple[int, bool]] = []  # (programs failed during the proof, its answer)
    failed = [0]
    proof = disclosure_audit._none_pinned

    def failing(_lp: object) -> None:
        failed[0] += 1

    def counted(problem: disclosure_audit.AuditProblem, rows: list[int], targets: list[int]) -> bool:
        before = failed[0]
        answer = proof(problem, rows, targets)
        proofs.append((failed[0] - before, answer))
        return answer

    monkeypatch.setattr(disclosure_audit, "_optimum", failing)
    monkeypatch.setattr(disclosure_audit, "_none_pinned", counted)
    rng = random.Random(7)
    for school in range(1, 4):
        cube._protect_school(cube._Month(MONTH, random_school_month(rng, school)))
    assert [answer for programs, answer in proofs if programs] == [False] * len([p for p in proofs if p[0]])
    assert any(programs for programs, _ in proofs)  # control: the proof needed its program


def test_tables_equal_those_of_the_search_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(100)
    months = [(random_school_month(rng, school), rng.randint(0, 29)) for school in range(1, 17)]
    protect = [(rows, through) for rows, day in months for through in (None, MONTH + timedelta(days=day))]
    with_proof = [cube._protect_school(cube._Month(MONTH, rows, through)) for rows, through in protect]
    monkeypatch.setattr(disclosure_audit, "_none_pinned", lambda *_: False)
    search_alone = [cube._protect_school(cube._Month(MONTH, rows, through)) for rows, through in protect]
    assert with_proof == search_alone
    # Control: some of these months needed rounds after the first (the audit's findings withheld).
    assert any(rounds > 1 for _, rounds in search_alone)


def test_both_ways_of_proving_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control for the comparisons above: on these months, small components are proven by linear
    algebra alone and others by the program (so both are compared with the search)."""
    used: list[str] = []
    small, optimum = disclosure_audit._span_moves_all, disclosure_audit._optimum

    def by_algebra(*args: object) -> bool:
        proven = small(*args)  # type: ignore[arg-type]
        used.append(f"algebra {proven}")
        return proven

    def by_program(lp: object) -> object:
        used.append("program")
        return optimum(lp)  # type: ignore[arg-type]

    monkeypatch.setattr(disclosure_audit, "_span_moves_all", by_algebra)
    monkeypatch.setattr(disclosure_audit, "_optimum", by_program)
    rng = random.Random(0)
    for school in range(1, 5):
        cube._protect_school(cube._Month(MONTH, random_school_month(rng, school)))
    assert {"algebra True", "algebra False", "program"} <= set(used)
