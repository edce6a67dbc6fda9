"""The `sro` console script: one typer app with a sub-app per area."""

from __future__ import annotations

import typer

from admin import maintenance_commands, messages, officer_commands, school_commands, stats_command

app = typer.Typer(help=messages.APP_HELP, no_args_is_help=True, add_completion=False)
app.add_typer(maintenance_commands.db_app, name="db")
app.add_typer(school_commands.app, name="school")
app.add_typer(officer_commands.app, name="officer")
app.command("stats", help=messages.STATS_HELP)(stats_command.stats)
app.command("purge", help=messages.PURGE_HELP)(maintenance_commands.purge)
app.add_typer(maintenance_commands.keys_app, name="keys")
app.command("audit", help=messages.AUDIT_HELP)(maintenance_commands.audit)


def main() -> None:
    app()
