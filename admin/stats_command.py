"""`sro stats`: the query options, and the report as a table, CSV or JSON."""

from __future__ import annotations

import calendar
import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from admin import messages
from admin.runtime import Context, console, fail, run
from casework.stats.cube import ALL_INTENTS, COUNT, URGENT
from casework.stats.disclosure import Status
from casework.stats.periods import Granularity, Period, month_end, month_start
from casework.stats.report import Cell, InvalidStatsQuery, StatsQuery, StatsReport, build_report
from nlu.taxonomy import label

SYMBOLS = {Status.SMALL: "<5", Status.WITHHELD: "x"}


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


_DAY_SHAPE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD day, or a message saying what is wrong with it and what to type instead."""
    shape = _DAY_SHAPE.fullmatch(value.strip())
    if shape is None:
        fail(messages.STATS_BAD_DATE.format(value=value, option=option))
    year, month, day = (int(part) for part in shape.groups())
    if not 1 <= month <= 12:
        fail(messages.STATS_NO_SUCH_MONTH.format(value=value, month=month, option=option))
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        name = calendar.month_name[month] + (f" {year}" if month == 2 else "")
        fail(messages.STATS_NO_SUCH_DAY.format(value=value, month=name, days=length, option=option))
    return date(year, month, day)


def _date(value: str | None, option: str) -> date | None:
    return None if value is None else parse_day(value, option)


def shown(cell: Cell) -> int | str:
    """The number as published: exact, or its symbol."""
    return cell.value.value if cell.value.status == Status.EXACT else SYMBOLS[cell.value.status]


def stats(
    first: Annotated[
        str | None, typer.Option("--from", help=messages.STATS_FROM_HELP, metavar="YYYY-MM-DD")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help=messages.STATS_TO_HELP, metavar="YYYY-MM-DD")
    ] = None,
    school: Annotated[str | None, typer.Option(help="Only this school's numbers (its code).")] = None,
    by: Annotated[Granularity, typer.Option(help="Period length.")] = Granularity.MONTH,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    query = StatsQuery(_date(first, "--from"), _date(last, "--to"), school, by)

    async def command(ctx: Context) -> None:
        today = datetime.now(ctx.policy.timezone).date()
        try:
            report = await build_report(ctx.db, query, today, now=ctx.now)
        except InvalidStatsQuery as error:
            fail(str(error))
        zone = ctx.settings.sro_timezone
        if output == OutputFormat.JSON:
            typer.echo(json.dumps(as_json(report, zone), indent=2))
        elif output == OutputFormat.CSV:
            typer.echo(as_csv(report), nl=False)
        else:
            print_tables(report, zone)

    run(command)


def _header(report: StatsReport, zone: str) -> list[str]:
    """What is shown and why, in words: the range, which periods are complete, what is left out."""
    complete = report.complete_until
    if report.first is None or report.last is None:
        lines = [messages.STATS_NOTHING.format(complete=complete)]
    else:
        lines = [
            messages.STATS_RANGE.format(by=report.by, first=report.first, last=report.last, zone=zone),
            messages.STATS_COMPLETE.format(complete=complete),
        ]
        running = sorted({month_start(p.start) for p in report.periods if p.end > report.settled_until})
        if running:
            lines.append(
                messages.STATS_RUNNING_MONTH.format(
                    months=", ".join(f"{m:%Y-%m}" for m in running),
                    when=month_end(running[-1]) + timedelta(days=2),
                )
            )
    if report.incomplete:
        lines.append(
            messages.STATS_NOT_OVER.format(
                periods=_listed([p.label for p in report.incomplete]),
                when=report.incomplete[0].end + timedelta(days=2),
            )
        )
        if report.by != Granularity.DAY and report.incomplete[0].start <= complete:
            lines.append(messages.STATS_SEE_DAYS.format(by=report.by))
    return lines


def _listed(labels: list[str]) -> str:
    return ", ".join(labels) if len(labels) <= 4 else f"{labels[0]} ... {labels[-1]} ({len(labels)} periods)"


def as_json(report: StatsReport, zone: str) -> dict[str, Any]:
    return {
        "from": report.first.isoformat() if report.first else None,
        "to": report.last.isoformat() if report.last else None,
        "by": str(report.by),
        "time_zone": zone,
        "settled_until": report.settled_until.isoformat(),
        "complete_until": report.complete_until.isoformat(),
        "notes": _header(report, zone),
        "periods": [{"period": p.label, "complete": True} for p in report.periods]
        + [{"period": p.label, "complete": False} for p in report.incomplete],
        "symbols": {"<5": "a count from 1 to 4", "x": "withheld so that small counts cannot be worked out"},
        "counts": [
            {
                "school": cell.school,
                "period": cell.period.label if cell.period else "total",
                "intent": cell.intent,
                "measure": cell.measure,
                "value": shown(cell),
            }
            for cell in report.cells
        ],
        "response_times_minutes": [
            {
                "school": t.school,
                "period": t.period.label,
                "measure": t.measure,
                "median": t.median_minutes,
                "p90": t.p90_minutes,
            }
            for t in report.response_times
        ],
    }


def as_csv(report: StatsReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # `complete`: yes for every number shown; a period asked for but not over yet has one row per
    # school with no value and "no", so that nothing is left out without a word.
    writer.writerow(["school", "period", "intent", "measure", "value", "complete"])
    for cell in report.cells:
        writer.writerow(
            [
                cell.school,
                cell.period.label if cell.period else "total",
                cell.intent,
                cell.measure,
                shown(cell),
                "yes",
            ]
        )
    for school in report.schools or ["ALL"]:
        for period in report.incomplete:
            writer.writerow([school, period.label, ALL_INTENTS, COUNT, "", "no"])
    for t in report.response_times:
        writer.writerow(
            [t.school, t.period.label, ALL_INTENTS, f"{t.measure}_median_minutes", t.median_minutes, "yes"]
        )
        writer.writerow(
            [t.school, t.period.label, ALL_INTENTS, f"{t.measure}_p90_minutes", t.p90_minutes, "yes"]
        )
    return out.getvalue()


def _column(period: Period, report: StatsReport) -> str:
    """A period's heading; `*` marks a complete period of the month still running."""
    return period.label + ("*" if period.end > report.settled_until else "")


def print_tables(report: StatsReport, zone: str) -> None:
    out = console()
    for line in _header(report, zone):
        out.print(line)
    if report.first is None:
        return
    out.print(messages.STATS_LEGEND)
    columns = [_column(p, report) for p in report.periods] + [messages.STATS_TOTAL]
    for school in report.schools:
        table = Table("", *columns, title=school)
        cells = [c for c in report.cells if c.school == school]
        for measure, intent in dict.fromkeys((c.measure, c.intent) for c in cells):
            name = (
                messages.STATS_URGENT
                if measure == URGENT
                else messages.STATS_ALL_INTENTS
                if intent == ALL_INTENTS
                else label(intent)
            )
            table.add_row(name, *(str(shown(c)) for c in cells if (c.measure, c.intent) == (measure, intent)))
        out.print(table)
    if report.response_times:
        times = Table("school", "period", "measure", "median", "p90", title=messages.STATS_TIMES_TITLE)
        for t in report.response_times:
            times.add_row(t.school, t.period.label, t.measure, str(t.median_minutes), str(t.p90_minutes))
        out.print(times)
