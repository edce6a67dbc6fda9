"""The `sro` console script: one typer app with a sub-app per area."""

from __future__ import annotations

from typing import Annotated

import typer

from admin import (
    account_commands,
    alert_commands,
    feedback_command,
    maintenance_commands,
    messages,
    officer_commands,
    school_commands,
    stats_command,
)
from admin.runtime import App, use_demo

app = App(help=messages.APP_HELP, no_args_is_help=True, add_completion=False)
app.add_typer(maintenance_commands.db_app, name="db")
app.add_typer(school_commands.app, name="school")
app.add_typer(account_commands.app, name="admin")
app.add_typer(officer_commands.app, name="officer")
app.command("stats", help=messages.STATS_HELP)(stats_command.stats)
app.command("feedback", help=messages.FEEDBACK_HELP)(feedback_command.feedback_command)
app.command("purge", help=messages.PURGE_HELP)(maintenance_commands.purge)
app.add_typer(maintenance_commands.keys_app, name="keys")
app.command("audit", help=messages.AUDIT_HELP)(maintenance_commands.audit)
app.command("alerts", help=messages.ALERTS_HELP)(alert_commands.list_alerts)


@app.callback()
def options(
    demo: Annotated[bool, typer.Option("--demo", help=messages.DEMO_HELP)] = False,
) -> None:
    # Set on every invocation (tests run many in one process), before the command runs.
    use_demo(demo)


def main() -> None:
    app()
