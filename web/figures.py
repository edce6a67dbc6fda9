"""The dashboard's numbers: `build_report` (what `sro stats` runs) for what a viewer may see, and sums of it.

Nothing here counts anything itself: every number is a cell of a protected report, or a sum of
published cells (shown exactly only when every part is exact, else as a lower bound `≥n` made of the
exact parts alone, which tells nothing the parts did not). A school account's reports are built with
`school_code` set, one per school, exactly as `sro stats --school` builds them; the all-schools row
is a coordinator's only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from casework.stats.cube import ALL_INTENTS, COUNT, URGENT, Published
from casework.stats.disclosure import Status
from casework.stats.periods import Period
from casework.stats.report import StatsQuery, StatsReport, build_report
from nlu import taxonomy
from storage.db import Database

SYMBOLS = {Status.SMALL: "<5", Status.WITHHELD: "x"}  # as `sro stats` shows them
ALL_MESSAGES = "All messages"  # web.texts.ALL_MESSAGES (texts imports this module for its types)
QUESTION_INTENTS = frozenset({"ask_officer"})  # a question to the officer: the informal contact
WEAPON_INTENTS = frozenset({"report_weapon"})
THREAT_INTENTS = frozenset({"report_threat"})


class NotYours(LookupError):
    """A school the viewer may not see (or that does not exist): answered as not found."""


@dataclass(frozen=True, slots=True)
class Shown:
    value: int | None  # for a chart: the exact number, or the exact parts' sum; None when nothing is
    text: str  # as printed: 12, ≥12, <5, x
    exact: bool


def shown(cell: Published) -> Shown:
    if cell.status == Status.EXACT:
        return Shown(cell.value, str(cell.value), True)
    return Shown(None, SYMBOLS[Status(cell.status)], False)


def summed(cells: Iterable[Published]) -> Shown:
    """A sum of published cells: exact when every part is, else `≥` the exact parts (or a part's symbol)."""
    parts = list(cells)
    if not parts:
        return Shown(0, "0", True)
    exact = sum(c.value for c in parts if c.status == Status.EXACT)
    hidden = [c for c in parts if c.status != Status.EXACT]
    if not hidden:
        return Shown(exact, str(exact), True)
    if exact == 0:
        return Shown(None, SYMBOLS[Status(hidden[0].status)] if len(parts) == 1 else "≥1", False)
    return Shown(exact, f"≥{exact}", False)


@dataclass
class Figures:
    """Several reports' cells, looked up by school, period label ("total" for the range), intent, measure."""

    reports: list[StatsReport]
    cells: dict[tuple[str, str, str, str], Published] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for report in self.reports:
            for cell in report.cells:
                label = cell.period.label if cell.period else "total"
                self.cells[(cell.school, label, cell.intent, cell.measure)] = cell.value

    @property
    def periods(self) -> list[Period]:
        return self.reports[0].periods if self.reports else []

    @property
    def schools(self) -> list[str]:
        return [school for report in self.reports for school in report.schools]

    @property
    def intents(self) -> list[str]:
        return sorted({intent for report in self.reports for intent in report.intents})

    def get(self, school: str, period: str, intent: str = ALL_INTENTS, measure: str = COUNT) -> Published:
        """A published cell; one the report has no row for is an exact 0 (nothing was counted), but
        only for a school the reports are of: any other is refused, never shown as zeros."""
        if school not in self.schools:
            raise NotYours(school)
        return self.cells.get((school, period, intent, measure), Published(0, Status.EXACT))

    def one(self, school: str, period: str, intent: str = ALL_INTENTS, measure: str = COUNT) -> Shown:
        return shown(self.get(school, period, intent, measure))

    def of(self, school: str, period: str, intents: Iterable[str]) -> Shown:
        present = [i for i in self.intents if i in set(intents)]
        return summed(self.get(school, period, i) for i in present)

    def reports_of(self, school: str, period: str) -> Shown:
        return self.of(school, period, [i for i in self.intents if taxonomy.is_report(i)])

    def questions_of(self, school: str, period: str) -> Shown:
        return self.of(school, period, QUESTION_INTENTS)

    def willingness_of(self, school: str, period: str) -> Shown:
        return self.of(
            school, period, [i for i in self.intents if taxonomy.is_report(i) or i in QUESTION_INTENTS]
        )

    def urgent_of(self, school: str, period: str) -> Shown:
        return self.one(school, period, ALL_INTENTS, URGENT)


def school_code(asked: str | None) -> str | None:
    """A school code as a page's query asks for it (`?school= big`): stripped and upper-cased, None
    if empty. Read here only, so that the report built for it and the page that looks it up agree."""
    code = (asked or "").strip().upper()
    return code or None


def school_codes(codes: dict[int, str], school_ids: frozenset[int] | None) -> list[str] | None:
    """The codes a viewer may see (None: all)."""
    return None if school_ids is None else sorted(codes[i] for i in school_ids if i in codes)


async def published(db: Database, allowed: Sequence[str] | None, query: StatsQuery, today: date) -> Figures:
    """The protected report(s) for `query`, limited to `allowed` school codes (None: every school).

    A coordinator with no school chosen gets the one report `sro stats` gives (every school and ALL);
    a school account gets one `--school` report per school it may see.
    """
    chosen = query.school_code  # as `school_code` reads it
    if allowed is None:
        return Figures([await build_report(db, query, today, workers=1)])
    if chosen is not None and chosen not in allowed:
        raise NotYours(chosen)
    codes = [chosen] if chosen else list(allowed)
    return Figures(
        [await build_report(db, replace(query, school_code=code), today, workers=1) for code in codes]
    )


def scopes(figures: Figures) -> list[str]:
    """The rows a page shows: ALL for a coordinator's full report, else each school shown."""
    return ["ALL"] if "ALL" in figures.schools else [s for s in figures.schools if s != "(none)"]


def intent_label(intent: str) -> str:
    return ALL_MESSAGES if intent == ALL_INTENTS else taxonomy.label(intent)
