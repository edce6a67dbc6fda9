"""`sro stats`: the query options, and the report as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from admin import messages
from admin.runtime import Context, console, fail, run
from casework.disclosure import Status
from casework.periods import Granularity
from casework.stats_report import Cell, InvalidStatsQuery, StatsQuery, StatsReport, build_report
from nlu.taxonomy import label

SYMBOLS = {Status.SMALL: "<5", Status.WITHHELD: "x"}


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(messages.STATS_BAD_DATE.format(value=value))


def shown(cell: Cell) -> int | str:
    """The number as published: exact, or its symbol."""
    return cell.value.value if cell.value.status == Status.EXACT else SYMBOLS[cell.value.status]


def stats(
    first: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: the newest settled month).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: the newest settled day).")
    ] = None,
    school: Annotated[str | None, typer.Option(help="Only this school's numbers (its code).")] = None,
    by: Annotated[Granularity, typer.Option(help="Period length.")] = Granularity.MONTH,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    query = StatsQuery(_date(first), _date(last), school, by)

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
    if report.first is None or report.last is None:
        return [messages.STATS_NOTHING.format(settled=report.settled_until)]
    lines = [messages.STATS_RANGE.format(by=report.by, first=report.first, last=report.last, zone=zone)]
    if report.clipped:
        lines.append(messages.STATS_CLIPPED.format(settled=report.settled_until))
    return lines


def as_json(report: StatsReport, zone: str) -> dict[str, Any]:
    return {
        "from": report.first.isoformat() if report.first else None,
        "to": report.last.isoformat() if report.last else None,
        "by": str(report.by),
        "time_zone": zone,
        "settled_until": report.settled_until.isoformat(),
        "notes": _header(report, zone),
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
    writer.writerow(["school", "period", "intent", "measure", "value"])
    for cell in report.cells:
        writer.writerow(
            [
                cell.school,
                cell.period.label if cell.period else "total",
                cell.intent,
                cell.measure,
                shown(cell),
            ]
        )
    for t in report.response_times:
        writer.writerow([t.school, t.period.label, "*", f"{t.measure}_median_minutes", t.median_minutes])
        writer.writerow([t.school, t.period.label, "*", f"{t.measure}_p90_minutes", t.p90_minutes])
    return out.getvalue()


def print_tables(report: StatsReport, zone: str) -> None:
    out = console()
    for line in _header(report, zone):
        out.print(line)
    if report.first is None:
        return
    out.print(messages.STATS_LEGEND)
    columns = [p.label for p in report.periods] + [messages.STATS_TOTAL]
    for school in report.schools:
        table = Table("", *columns, title=school)
        cells = [c for c in report.cells if c.school == school]
        for measure, intent in dict.fromkeys((c.measure, c.intent) for c in cells):
            name = (
                messages.STATS_URGENT
                if measure == "urgent"
                else messages.STATS_ALL_INTENTS
                if intent == "*"
                else label(intent)
            )
            table.add_row(name, *(str(shown(c)) for c in cells if (c.measure, c.intent) == (measure, intent)))
        out.print(table)
    if report.response_times:
        times = Table("school", "period", "measure", "median", "p90", title=messages.STATS_TIMES_TITLE)
        for t in report.response_times:
            times.add_row(t.school, t.period.label, t.measure, str(t.median_minutes), str(t.p90_minutes))
        out.print(times)
