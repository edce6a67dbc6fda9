"""`sro db upgrade`, `sro purge`, `sro keys generate|rotate`, `sro audit`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from admin import messages
from admin.runtime import App, Context, console, run
from casework import audit as audit_trail
from casework import officers
from casework.cases import lifecycle
from casework.vault import rewrap, rotation
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey
from storage import migrations

db_app = App(help=messages.DB_HELP, no_args_is_help=True)
keys_app = App(help=messages.KEYS_HELP, no_args_is_help=True)


@db_app.command("upgrade", help=messages.DB_UPGRADE_HELP)
def upgrade() -> None:
    async def command(ctx: Context) -> None:
        await migrations.upgrade(ctx.settings.database_url)
        typer.echo(
            messages.DB_UPGRADED.format(revision=await migrations.current_revision(ctx.settings.database_url))
        )

    run(command)


def purge() -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            count = await lifecycle.purge_expired(session, ctx.now)
        typer.echo(messages.PURGED.format(count=count))

    run(command)


@keys_app.command("generate", help=messages.KEYS_GENERATE_HELP)
def generate() -> None:
    typer.echo(MasterKey.generate().encoded())


@keys_app.command("rotate", help=messages.KEYS_ROTATE_HELP)
def rotate(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    batch_size: Annotated[int, typer.Option(help="Messages re-wrapped per transaction.", min=1)] = (
        rewrap.BATCH_SIZE
    ),
) -> None:
    if not yes and not typer.confirm(messages.KEYS_ROTATE_CONFIRM):
        raise typer.Exit(1)

    async def command(ctx: Context) -> None:
        keys = await ctx.keys()  # proves the current key opens this database before anything changes
        async with ctx.db.transaction() as session:
            resuming = await rotation.unfinished(session) is not None
        if resuming:
            typer.echo(messages.KEYS_ROTATE_RESUMING)
        else:
            await _begin(ctx, keys)
        done = 0
        while True:
            async with ctx.db.transaction() as session:
                count = await rewrap.reseal_batch(session, keys, ctx.now, batch_size=batch_size)
            if not count:
                break
            done += count
        async with ctx.db.transaction() as session:
            stale = await rotation.finish(session, keys, ctx.now)
        keys.replace(rotation.without_previous(keys.current))
        if stale:
            typer.echo(messages.KEYS_STALE_MESSAGES.format(count=stale))
        path = keys.master.source.path
        if path is not None:
            typer.echo(messages.KEYS_ROTATED_FILE.format(version=keys.version, messages=done, file=path))
        else:
            typer.echo(messages.KEYS_ROTATED_ENV.format(version=keys.version, messages=done))

    run(command)


async def _begin(ctx: Context, keys: KeyRing) -> None:
    """Step 1 in one transaction, with the key file's crash-safe handover around its commit."""
    old = keys.master
    path = old.source.path
    new = MasterKey.generate(KeySource(old.source.kind, path))
    if path is not None:
        rotation.stage_key_file(path, new)
    else:
        typer.echo(messages.KEYS_NEW_ENV)
        typer.echo(new.encoded())
    try:
        async with ctx.db.transaction() as session:
            summary, generation = await rotation.begin(session, keys, new, ctx.now)
    except BaseException:
        if path is None:
            typer.echo(messages.KEYS_ROTATE_FAILED_ENV, err=True)
        else:
            rotation.pending_file(path).unlink(missing_ok=True)
        raise
    if path is not None:
        rotation.finish_key_file(path)
    keys.replace(generation)
    typer.echo(
        messages.KEYS_ROTATE_BEGUN.format(
            version=summary.version,
            officer_keys=summary.officer_keys,
            server_keys=summary.server_keys,
            addresses=summary.addresses,
            drafts=summary.drafts_dropped,
            rate_limits=summary.rate_limits_dropped,
            codes=summary.enrollment_codes_dropped,
        )
    )


def audit(
    case: Annotated[str | None, typer.Option("--case", help=messages.AUDIT_CASE_HELP)] = None,
    by: Annotated[audit_trail.Period, typer.Option(help=messages.AUDIT_BY_HELP)] = audit_trail.Period.MONTH,
    program: Annotated[bool, typer.Option("--program", help=messages.AUDIT_PROGRAM_HELP)] = False,
    limit: Annotated[int, typer.Option(help=messages.AUDIT_LIMIT_HELP, min=1)] = 200,
) -> None:
    async def command(ctx: Context) -> None:
        if program and case is None:
            async with ctx.db.transaction() as session:
                events = await audit_trail.program_events(session, limit=limit)
                names = {o.id: o.display_name for o in await officers.list_officers(session, ctx.now)}
            if not events:
                typer.echo(messages.NO_EVENTS)
                return
            table = Table("at (UTC)", "who", "action", "detail")
            for event in events:
                table.add_row(
                    event.at.strftime("%Y-%m-%d %H:%M:%S"),
                    _who(event.actor, names),
                    event.action,
                    event.detail or "",
                )
            console().print(table)
            return
        if case is None:
            async with ctx.db.transaction() as session:
                tally = await audit_trail.counts(session, period=by)
            if not tally:
                typer.echo(messages.NO_EVENTS)
                return
            table = Table(messages.AUDIT_PERIOD.format(by=by), "action", "count")
            for (period, action), count in tally.items():
                table.add_row(period, action, str(count))
            console().print(table)
            typer.echo(messages.AUDIT_COUNTS_ONLY)
            return
        async with ctx.db.transaction() as session:  # the look is recorded in the same transaction
            case_id = await audit_trail.find_case(session, case)
            entries = (
                None
                if case_id is None
                else await audit_trail.timeline(session, case_id, viewer="admin", now=ctx.now)
            )
        if entries is None:
            typer.echo(messages.NO_EVENTS)
            return
        table = Table(
            "at (UTC)", "who", "action", "detail", title=messages.AUDIT_TIMELINE_TITLE.format(case=case)
        )
        for entry in entries:
            table.add_row(
                entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.actor, entry.action, entry.detail or ""
            )
        console().print(table)
        typer.echo(messages.AUDIT_VIEW_RECORDED)

    run(command)


def _who(actor: str, names: dict[int, str]) -> str:
    """An officer actor (`officer:7`) by name, as in a case's timeline; other actors as recorded."""
    number = actor.removeprefix(audit_trail.OFFICER_PREFIX)
    if actor.startswith(audit_trail.OFFICER_PREFIX) and number.isdigit():
        return f"{names.get(int(number), 'officer')} (officer {number})"
    return actor
