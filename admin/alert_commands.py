"""`sro alerts`: what went wrong that a supervisor must look at (kinds and case references, no content)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from admin import messages
from admin.runtime import Context, console, run
from casework.cases import reading
from casework.delivery import alerts
from casework.errors import CaseworkError
from storage.models import AlertKind


def list_alerts(
    kind: Annotated[AlertKind | None, typer.Option(help=messages.ALERTS_KIND_HELP)] = None,
    limit: Annotated[int, typer.Option(help=messages.ALERTS_LIMIT_HELP, min=1)] = 200,
) -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            found = await alerts.list_alerts(session, kind=kind, limit=limit)
            references: dict[int, str] = {}
            for alert in found:
                if alert.case_id is not None and alert.case_id not in references:
                    try:
                        summary = await reading.case_summary(session, alert.case_id)
                    except CaseworkError:
                        continue
                    references[alert.case_id] = summary.reference
        if not found:
            typer.echo(messages.NO_ALERTS)
            return
        table = Table("at (UTC)", "alert", "case", "officer id")
        for alert in found:
            case = "" if alert.case_id is None else references.get(alert.case_id, f"#{alert.case_id}")
            officer = "" if alert.officer_id is None else str(alert.officer_id)
            table.add_row(alert.created_at.strftime("%Y-%m-%d %H:%M:%S"), alert.kind, case, officer)
        console().print(table)
        typer.echo(messages.ALERTS_NO_CONTENT)

    run(command)
