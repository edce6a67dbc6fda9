"""`sro feedback`: students' "Did this help?" answers per school and settled month, protected."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from admin import messages
from admin.runtime import Context, console, run
from admin.stats_command import SYMBOLS, OutputFormat, parse_day
from casework import schools
from casework.stats import feedback
from casework.stats.cube import ALL_SCHOOLS, NO_SCHOOL, Published
from casework.stats.disclosure import Status
from storage.models import FeedbackAnswer

ANSWER_ORDER = (FeedbackAnswer.HELPED, FeedbackAnswer.NOT_HELPED, FeedbackAnswer.UNSURE)


def shown(value: Published) -> int | str:
    """A number as published: exact, or its symbol (`<5`, `x`)."""
    return value.value if value.status == Status.EXACT else SYMBOLS[value.status]


def feedback_command(
    first: Annotated[
        str | None, typer.Option("--from", help=messages.FEEDBACK_FROM_HELP, metavar="YYYY-MM-DD")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help=messages.FEEDBACK_TO_HELP, metavar="YYYY-MM-DD")
    ] = None,
    school: Annotated[str | None, typer.Option(help="Only this school's answers (its code).")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    first_day = parse_day(first, "--from") if first is not None else None
    last_day = parse_day(last, "--to") if last is not None else None

    async def command(ctx: Context) -> None:
        today = datetime.now(ctx.policy.timezone).date()
        async with ctx.db.transaction() as session:
            codes = {s.id: s.code for s in await schools.list_schools(session)}
            only = None
            if school is not None:  # an unknown code is a CaseworkError: `run` says so plainly
                only = [(await schools.find_school(session, school)).id]
            table = await feedback.feedback_table(
                session, today=today, first=first_day, last=last_day, schools=only
            )
        rows = [_row(r, codes) for r in table.rows]
        if output == OutputFormat.JSON:
            typer.echo(json.dumps({"months": [f"{m:%Y-%m}" for m in table.months], "rows": rows}, indent=2))
        elif output == OutputFormat.CSV:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["school", "month"])
            writer.writeheader()
            writer.writerows(rows)
            typer.echo(out.getvalue(), nl=False)
        elif table.first is None or table.last is None:
            typer.echo(messages.FEEDBACK_NOTHING)
        else:
            shown_table = Table(
                *messages.FEEDBACK_COLUMNS,
                title=messages.FEEDBACK_TITLE.format(first=table.first, last=table.last),
            )
            for row in rows:
                shown_table.add_row(*(str(value) for value in row.values()))
            console().print(shown_table)
            console().print(messages.STATS_LEGEND)

    run(command)


def _row(row: feedback.FeedbackMonth, codes: dict[int, str]) -> dict[str, Any]:
    name = (
        messages.FEEDBACK_ALL
        if row.school == ALL_SCHOOLS
        else messages.FEEDBACK_NO_SCHOOL
        if row.school == NO_SCHOOL
        else codes.get(row.school, str(row.school))
    )
    answers = {answer.value: shown(row.answers[answer]) for answer in ANSWER_ORDER}
    return {"school": name, "month": f"{row.month:%Y-%m}", **answers, "total": shown(row.total)}
