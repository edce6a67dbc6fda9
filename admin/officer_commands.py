"""`sro officer invite|list|deactivate|assign|unassign|reads`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from admin import messages
from admin.runtime import App, Context, console, fail, run
from casework import officers
from casework.schools import find_school
from storage.models import AssignmentKind, Role

app = App(help=messages.OFFICER_HELP, no_args_is_help=True)


@app.command("invite", help=messages.OFFICER_INVITE_HELP)
def invite(
    name: Annotated[str | None, typer.Option(help="The officer's name, as colleagues know it.")] = None,
    school: Annotated[str | None, typer.Option(help="The code of the school they serve.")] = None,
    backup: Annotated[
        bool, typer.Option("--backup", help="Serve the school as backup, not primary.")
    ] = False,
    supervisor: Annotated[
        bool, typer.Option("--supervisor", help="A program-wide supervisor (receives escalations).")
    ] = False,
    officer: Annotated[
        int | None, typer.Option("--officer", help="Re-issue a code for this officer id.")
    ] = None,
) -> None:
    if officer is not None and (name or school or backup or supervisor):
        fail(messages.OFFICER_INVITE_CONFLICT)
    if officer is None and (not name or (school is None and not supervisor)):
        fail(messages.OFFICER_INVITE_NEEDS)

    async def command(ctx: Context) -> None:
        keys = await ctx.keys()
        async with ctx.db.transaction() as session:
            officer_id = officer
            if officer_id is None:
                assert name is not None
                if school is not None:
                    await find_school(session, school)  # fail before creating anyone
                role = Role.SUPERVISOR if supervisor else Role.OFFICER
                officer_id = await officers.create_officer(
                    session, keys, display_name=name, role=role, now=ctx.now
                )
                if school is not None:
                    kind = AssignmentKind.BACKUP if backup else AssignmentKind.PRIMARY
                    await officers.assign(session, keys, officer_id, school, kind=kind, now=ctx.now)
            code = await officers.issue_enrollment_code(session, keys, officer_id, ctx.now)
            info = next(o for o in await officers.list_officers(session, ctx.now) if o.id == officer_id)
        where = "".join(f", {kind} at {code_}" for code_, kind in info.assignments)
        expires = (ctx.now + officers.ENROLLMENT_TTL).strftime("%Y-%m-%d %H:%M")
        typer.echo(
            messages.OFFICER_INVITED.format(
                officer_id=officer_id, name=info.display_name, role=info.role, school=where, expires=expires
            )
        )
        typer.echo(code)  # the last line: the code alone, for scripts

    run(command)


@app.command("list", help=messages.OFFICER_LIST_HELP)
def list_() -> None:
    async def command(ctx: Context) -> None:
        await ctx.keys()  # records are verified against the directory key (casework.vault.directory_auth)
        async with ctx.db.transaction() as session:
            found = await officers.list_officers(session, ctx.now)
            languages = await officers.languages_read(session)
        if not found:
            typer.echo(messages.NO_OFFICERS)
            return
        table = Table("id", "name", "role", "schools", "reads", "enrolled", "reachable", "active")
        for o in found:
            schools = [f"{code} ({kind})" for code, kind in o.assignments]
            schools += [
                messages.OFFICER_ASSIGNMENT_FORGED.format(code=c, kind=k) for c, k in o.forged_assignments
            ]
            table.add_row(
                str(o.id),
                messages.OFFICER_RECORD_FORGED.format(name=o.display_name)
                if o.authentic is False
                else o.display_name,
                o.role,
                ", ".join(schools) or "-",
                ", ".join(["en", *languages.get(o.id, ())]),
                "yes" if o.enrolled else "no",
                "no (blocked the bot)" if o.unreachable else "yes" if o.enrolled else "not enrolled",
                "yes" if o.active else "deactivated",
            )
        console().print(table)

    run(command)


@app.command("deactivate", help=messages.OFFICER_DEACTIVATE_HELP)
def deactivate(
    officer_id: Annotated[int, typer.Argument(help="The officer's id (see `sro officer list`).")],
) -> None:
    async def command(ctx: Context) -> None:
        await ctx.keys()  # the change is authenticated with the directory key (casework.vault.directory_auth)
        async with ctx.db.transaction() as session:
            revoked = await officers.deactivate_officer(session, officer_id, ctx.now)
        typer.echo(messages.OFFICER_DEACTIVATED.format(officer_id=officer_id, cases=revoked))

    run(command)


@app.command("assign", help=messages.OFFICER_ASSIGN_HELP)
def assign(
    officer_id: Annotated[int, typer.Argument(help="The officer's id.")],
    school: Annotated[str, typer.Option(help="The school's code.")],
    backup: Annotated[bool, typer.Option("--backup", help="As backup, not primary.")] = False,
    with_history: Annotated[
        bool, typer.Option("--with-history", help="Re-seal the school's open cases for them (audit-logged).")
    ] = False,
) -> None:
    kind = AssignmentKind.BACKUP if backup else AssignmentKind.PRIMARY

    async def command(ctx: Context) -> None:
        keys = await ctx.keys()
        async with ctx.db.transaction() as session:
            resealed = await officers.assign(
                session, keys, officer_id, school, kind=kind, now=ctx.now, with_history=with_history
            )
        typer.echo(
            messages.OFFICER_ASSIGNED.format(
                officer_id=officer_id, code=school.upper(), kind=kind, resealed=resealed
            )
        )

    run(command)


@app.command("unassign", help=messages.OFFICER_UNASSIGN_HELP)
def unassign(
    officer_id: Annotated[int, typer.Argument(help="The officer's id.")],
    school: Annotated[str, typer.Option(help="The school's code.")],
) -> None:
    async def command(ctx: Context) -> None:
        await ctx.keys()  # the change is authenticated with the directory key (casework.vault.directory_auth)
        async with ctx.db.transaction() as session:
            revoked = await officers.unassign(session, officer_id, school, ctx.now)
        typer.echo(
            messages.OFFICER_UNASSIGNED.format(officer_id=officer_id, code=school.upper(), cases=revoked)
        )

    run(command)


@app.command("reads", help=messages.OFFICER_READS_HELP)
def reads(
    officer_id: Annotated[int, typer.Argument(help="The officer's id (see `sro officer list`).")],
    french: Annotated[bool, typer.Option("--french/--no-french", help="Reads French, or no longer.")],
) -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            await officers.set_reads(session, officer_id, "fr", reads=french, now=ctx.now)
        languages = messages.OFFICER_READS_FRENCH if french else messages.OFFICER_READS_ENGLISH
        typer.echo(messages.OFFICER_READS.format(officer_id=officer_id, languages=languages))

    run(command)
