"""Each page's sections: a chart, the table behind it (also its CSV), and what the numbers mean."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup
from sqlalchemy import select

from casework.stats import feedback
from casework.stats.cube import ALL_INTENTS, ALL_SCHOOLS
from casework.stats.periods import Granularity, last_complete_day, last_settled_day, month_start
from casework.stats.report import InvalidStatsQuery, ResponseTimes, StatsQuery
from storage.db import Database
from storage.models import Assignment, AssignmentKind, FeedbackAnswer, Officer, ResponseMeasure, School
from web import charts, texts
from web.charts import Bar, Series
from web.figures import (
    THREAT_INTENTS,
    WEAPON_INTENTS,
    Figures,
    Shown,
    intent_label,
    published,
    scopes,
    shown,
)


@dataclass
class Section:
    heading: str
    headers: list[str]
    rows: list[list[str]]
    chart: Markup | None = None
    note: str | None = None


@dataclass
class Page:
    title: str
    intro: str
    sections: list[Section] = field(default_factory=list)


def months_back(month: date, n: int) -> date:
    for _ in range(n):
        month = month_start(month - timedelta(days=1))
    return month


def _bars(values: list[Shown]) -> list[Bar]:
    return [Bar(v.value, v.text) for v in values]


def _share(part: Shown, whole: Shown) -> str:
    if part.exact and whole.exact and whole.value:
        return f"{round(100 * (part.value or 0) / whole.value)}%"
    return "x"


def _monthly(figures: Figures, scope: str, heading: str) -> Section:
    labels = [p.label for p in figures.periods]
    total = [figures.one(scope, m) for m in labels]
    reports = [figures.reports_of(scope, m) for m in labels]
    questions = [figures.questions_of(scope, m) for m in labels]
    urgent = [figures.urgent_of(scope, m) for m in labels]
    rows = [
        [m, t.text, r.text, q.text, u.text, _share(u, t)]
        for m, t, r, q, u in zip(labels, total, reports, questions, urgent, strict=True)
    ]
    chart = charts.bar_chart(
        heading,
        texts.CHART_DESC.format(what=texts.MONTHLY_WHAT, scope=scope),
        labels,
        [
            Series(texts.REPORTS, _bars(reports)),
            Series(texts.QUESTIONS, _bars(questions)),
            Series(texts.URGENT, _bars(urgent)),
        ],
    )
    return Section(heading, texts.MONTHLY_HEADERS, rows, chart)


async def overview(db: Database, allowed: list[str] | None, today: date) -> Page:
    page = Page(texts.OVERVIEW_TITLE, texts.OVERVIEW_INTRO)
    settled = last_settled_day(today)
    query = StatsQuery(months_back(month_start(settled), 5), settled, None, Granularity.MONTH)
    months = await published(db, allowed, query, today)
    for scope in scopes(months):
        page.sections.append(_monthly(months, scope, texts.MONTHLY_HEADING.format(scope=scope)))
    running = month_start(settled + timedelta(days=1))
    for by in (Granularity.WEEK, Granularity.DAY):
        try:
            current = await published(db, allowed, StatsQuery(running, None, None, by), today)
        except InvalidStatsQuery:
            page.sections.append(
                Section(texts.RUNNING_HEADING.format(by=by), [], [], note=texts.RUNNING_NONE)
            )
            continue
        rows = [
            [p.label, current.one(s, p.label).text, current.reports_of(s, p.label).text,
             current.questions_of(s, p.label).text, current.urgent_of(s, p.label).text]
            for s in scopes(current) for p in current.periods
        ]  # fmt: skip
        page.sections.append(
            Section(
                texts.RUNNING_HEADING.format(by=by),
                ["period", *texts.MONTHLY_HEADERS[1:5]],
                rows,
                note=texts.RUNNING_NOTE.format(complete=last_complete_day(today)),
            )
        )
    for scope in scopes(months):
        tops = sorted(
            ((i, months.one(scope, "total", i)) for i in months.intents),
            key=lambda pair: -(pair[1].value or 0),
        )[:5]
        page.sections.append(
            Section(
                texts.TOP_HEADING.format(scope=scope),
                texts.TOP_HEADERS,
                [[intent_label(i), v.text] for i, v in tops],
            )
        )
    return page


async def schools_intents(db: Database, allowed: list[str] | None, today: date, query: StatsQuery) -> Page:
    page = Page(texts.SCHOOLS_TITLE, texts.SCHOOLS_INTRO)
    figures = await published(db, allowed, query, today)
    intents = figures.intents
    schools = figures.schools
    rows = [[s, *(figures.one(s, "total", i).text for i in [*intents, ALL_INTENTS])] for s in schools]
    totals = [figures.one(s, "total") for s in schools if s != "ALL"]
    reports = [figures.reports_of(s, "total") for s in schools if s != "ALL"]
    chart = charts.bar_chart(
        texts.SCHOOLS_TITLE,
        texts.CHART_DESC.format(what=texts.SCHOOLS_WHAT, scope=texts.range_of(figures)),
        [s for s in schools if s != "ALL"],
        [Series(texts.ALL_MESSAGES, _bars(totals)), Series(texts.REPORTS, _bars(reports))],
    )
    page.sections.append(
        Section(
            texts.SCHOOLS_HEADING.format(range=texts.range_of(figures)),
            [texts.SCHOOL, *(intent_label(i) for i in intents), texts.ALL_MESSAGES],
            rows,
            chart,
        )
    )
    return page


async def trends(db: Database, allowed: list[str] | None, today: date, school: str | None) -> Page:
    page = Page(texts.TRENDS_TITLE, texts.TRENDS_INTRO)
    settled = last_settled_day(today)
    query = StatsQuery(months_back(month_start(settled), 11), settled, school, Granularity.MONTH)
    figures = await published(db, allowed, query, today)
    labels = [p.label for p in figures.periods]
    for scope in scopes(figures) if school is None else [school]:
        willing = [figures.willingness_of(scope, m) for m in labels]
        questions = [figures.questions_of(scope, m) for m in labels]
        heading = texts.WILLINGNESS_HEADING.format(scope=scope)
        page.sections.append(
            Section(
                heading,
                texts.WILLINGNESS_HEADERS,
                [[m, w.text, q.text] for m, w, q in zip(labels, willing, questions, strict=True)],
                charts.bar_chart(
                    heading,
                    texts.CHART_DESC.format(what=texts.WILLINGNESS_WHAT, scope=scope),
                    labels,
                    [Series(texts.WILLING, _bars(willing)), Series(texts.QUESTIONS, _bars(questions))],
                ),
            )
        )
        weapons = [figures.of(scope, m, WEAPON_INTENTS) for m in labels]
        heading = texts.WEAPONS_HEADING.format(scope=scope)
        page.sections.append(
            Section(
                heading,
                texts.WEAPONS_HEADERS,
                [[m, w.text] for m, w in zip(labels, weapons, strict=True)],
                charts.bar_chart(
                    heading,
                    texts.CHART_DESC.format(what=texts.WEAPONS_WHAT, scope=scope),
                    labels,
                    [Series(texts.WEAPONS, _bars(weapons))],
                ),
            )
        )
    return page


async def response_times(db: Database, allowed: list[str] | None, today: date) -> Page:
    page = Page(texts.RESPONSES_TITLE, texts.RESPONSES_INTRO)
    settled = last_settled_day(today)
    query = StatsQuery(months_back(month_start(settled), 5), settled, None, Granularity.MONTH)
    figures = await published(db, allowed, query, today)
    times = [t for r in figures.reports for t in r.response_times]
    rows = [
        [t.school, t.period.label, texts.MEASURES[t.measure], str(t.median_minutes), str(t.p90_minutes)]
        for t in times
    ]
    latest = max((t.period.label for t in times), default=None)
    chart = None
    if latest is not None:
        schools = sorted({t.school for t in times if t.period.label == latest})

        def minutes(school: str, measure: ResponseMeasure) -> Bar:
            found = [t for t in times if (t.school, t.period.label, t.measure) == (school, latest, measure)]
            return Bar(found[0].median_minutes, f"{found[0].median_minutes} min") if found else Bar(None, "x")

        chart = charts.bar_chart(
            texts.RESPONSES_CHART.format(month=latest),
            texts.CHART_DESC.format(what=texts.RESPONSES_WHAT, scope=latest),
            schools,
            [
                Series(texts.TO_ACK, [minutes(s, ResponseMeasure.ACKNOWLEDGEMENT) for s in schools]),
                Series(texts.TO_REPLY, [minutes(s, ResponseMeasure.FIRST_REPLY) for s in schools]),
            ],
        )
    page.sections.append(
        Section(
            texts.RESPONSES_HEADING,
            texts.RESPONSES_HEADERS,
            rows,
            chart,
            note=texts.RESPONSES_NOTE if not rows else None,
        )
    )
    return page


def _change(old: Shown, new: Shown) -> str:
    if old.exact and new.exact and old.value is not None and new.value is not None:
        return f"{new.value - old.value:+d}"
    return "x"


Indicator = tuple[str, str, Callable[[str], Shown]]  # objective, indicator, its value for a month


def _indicators(
    figures: Figures,
    scope: str,
    times: list[ResponseTimes],
    answers: Callable[[str, FeedbackAnswer | None], Shown],
) -> list[Indicator]:
    def weapons(month: str) -> Shown:
        return figures.of(scope, month, WEAPON_INTENTS)

    def threats(month: str) -> Shown:
        return figures.of(scope, month, THREAT_INTENTS)

    def urgent(month: str) -> Shown:
        return figures.urgent_of(scope, month)

    def anonymity(month: str) -> Shown:
        return figures.of(scope, month, ["ask_anonymity"])

    def questions(month: str) -> Shown:
        return figures.questions_of(scope, month)

    def willing(month: str) -> Shown:
        return figures.willingness_of(scope, month)

    def reply(month: str) -> Shown:
        found = [t for t in times if (t.school, t.period.label) == (scope, month)]
        if not found:
            return Shown(None, "x", False)
        return Shown(found[0].median_minutes, f"{found[0].median_minutes} min", True)

    def helped(month: str) -> Shown:
        return answers(month, FeedbackAnswer.HELPED)

    def answered(month: str) -> Shown:
        return answers(month, None)

    safety, perception, relationship = texts.OBJECTIVES
    return [
        (safety, texts.INDICATORS["weapons"], weapons),
        (safety, texts.INDICATORS["threats"], threats),
        (safety, texts.INDICATORS["urgent"], urgent),
        (perception, texts.INDICATORS["answered"], answered),
        (perception, texts.INDICATORS["helped"], helped),
        (perception, texts.INDICATORS["anonymity"], anonymity),
        (relationship, texts.INDICATORS["questions"], questions),
        (relationship, texts.INDICATORS["willing"], willing),
        (relationship, texts.INDICATORS["reply"], reply),
    ]


async def evaluation(db: Database, allowed: list[str] | None, today: date) -> Page:
    page = Page(texts.EVALUATION_TITLE, texts.EVALUATION_INTRO)
    settled = last_settled_day(today)
    query = StatsQuery(months_back(month_start(settled), 1), settled, None, Granularity.MONTH)
    figures = await published(db, allowed, query, today)
    labels = [p.label for p in figures.periods]
    before, latest = (labels[-2], labels[-1]) if len(labels) >= 2 else ("", "")
    times = [t for r in figures.reports for t in r.response_times if t.measure == ResponseMeasure.FIRST_REPLY]
    async with db.transaction() as session:
        ids = {s.code: s.id for s in await session.scalars(select(School))}
        table = await feedback.feedback_table(
            session,
            today=today,
            first=months_back(month_start(settled), 1),
            last=settled,
            schools=None if allowed is None else [ids[c] for c in allowed if c in ids],
        )

    for scope in scopes(figures):
        school = ALL_SCHOOLS if scope == "ALL" else ids.get(scope, -1)

        def answers(month: str, answer: FeedbackAnswer | None, school: int = school) -> Shown:
            if not month:
                return Shown(None, "x", False)
            row = table.get(school, date.fromisoformat(month + "-01"))
            return shown(row.total if answer is None else row.answers[answer])

        rows = []
        for objective, name, value in _indicators(figures, scope, times, answers):
            old, new = value(before), value(latest)
            change = _change(old, new) if value.__name__ != "reply" else ""
            rows.append([objective, name, old.text, new.text, change])
        page.sections.append(
            Section(
                texts.EVALUATION_HEADING.format(scope=scope),
                texts.evaluation_headers(before, latest),
                rows,
                note=texts.EVALUATION_NOTE,
            )
        )
    return page


async def coverage(db: Database, allowed: list[str] | None, now_today: date) -> Page:
    """Schools and their officers' coverage as recorded (the directory's MACs need a key the web lacks)."""
    page = Page(texts.COVERAGE_TITLE, texts.COVERAGE_INTRO)
    async with db.transaction() as session:
        schools = [
            s
            for s in await session.scalars(select(School).order_by(School.code))
            if allowed is None or s.code in allowed
        ]
        rows = (
            await session.execute(
                select(
                    Assignment.school_id,
                    Assignment.kind,
                    Officer.display_name,
                    Officer.enrolled_at,
                    Officer.unreachable_at,
                )
                .join(Officer, Officer.id == Assignment.officer_id)
                .where(Assignment.ends_at.is_(None), Officer.active)
            )
        ).all()
    table = []
    for school in schools:
        mine = [r for r in rows if r.school_id == school.id]
        primary = [r for r in mine if r.kind == AssignmentKind.PRIMARY]
        backup = [r for r in mine if r.kind == AssignmentKind.BACKUP]
        enrolled = [r for r in mine if r.enrolled_at is not None]
        reachable = [r for r in enrolled if r.unreachable_at is None]
        table.append(
            [
                school.code,
                school.name,
                "active" if school.active else "removed",
                ", ".join(r.display_name for r in primary) or "none",
                ", ".join(r.display_name for r in backup) or "none",
                f"{len(enrolled)} of {len(mine)}",
                f"{len(reachable)} of {len(mine)}",
                "yes" if reachable else "NO",
            ]
        )
    page.sections.append(
        Section(
            texts.COVERAGE_HEADING,
            texts.COVERAGE_HEADERS,
            table,
            note=f"{texts.COVERAGE_NOTE} {texts.COVERAGE_UNVERIFIED}",
        )
    )
    return page
