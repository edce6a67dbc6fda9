"""`sro school add|list|remove|import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from admin import messages
from admin.runtime import App, Context, console, fail, run
from casework import links, schools

app = App(help=messages.SCHOOL_HELP, no_args_is_help=True)


@app.command("add", help=messages.SCHOOL_ADD_HELP)
def add(
    name: Annotated[str, typer.Option(help="The school's full name.")],
    code: Annotated[str, typer.Option(help="A short code, 2 to 16 letters or digits (stored upper-case).")],
    board: Annotated[str | None, typer.Option(help="The school board, e.g. TDSB.")] = None,
) -> None:
    async def command(ctx: Context) -> None:
        new = schools.NewSchool.checked(name, code, board)
        async with ctx.db.transaction() as session:
            await schools.add_school(session, new, ctx.now)
        typer.echo(messages.SCHOOL_ADDED.format(code=new.code, name=new.name))

    run(command)


@app.command("list", help=messages.SCHOOL_LIST_HELP)
def list_() -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            found = await schools.list_schools(session)
        if not found:
            typer.echo(messages.NO_SCHOOLS)
            return
        table = Table("id", "code", "name", "board", "active")
        for school in found:
            table.add_row(
                str(school.id),
                school.code,
                school.name,
                school.board or "",
                "yes" if school.active else "removed",
            )
        console().print(table)

    run(command)


@app.command("remove", help=messages.SCHOOL_REMOVE_HELP)
def remove(code: Annotated[str, typer.Argument(help="The school's code.")]) -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            school = await schools.remove_school(session, code, ctx.now)
        typer.echo(messages.SCHOOL_REMOVED.format(code=school.code))

    run(command)


@app.command("import", help=messages.SCHOOL_IMPORT_HELP)
def import_(
    file: Annotated[Path, typer.Argument(help="A CSV file: name,code[,board].")],
    update: Annotated[bool, typer.Option("--update", help=messages.SCHOOL_IMPORT_UPDATE_HELP)] = False,
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing", help=messages.SCHOOL_IMPORT_SKIP_HELP)
    ] = False,
) -> None:
    if update and skip_existing:
        fail(messages.SCHOOL_IMPORT_BOTH_MODES)
    mode = (
        schools.ImportMode.UPDATE
        if update
        else schools.ImportMode.SKIP_EXISTING
        if skip_existing
        else schools.ImportMode.REFUSE
    )
    text = read_text_file(file)

    async def command(ctx: Context) -> None:
        rows = schools.parse_schools_csv(text)
        async with ctx.db.transaction() as session:
            result = await schools.import_schools(session, rows, ctx.now, mode)
        typer.echo(
            messages.SCHOOL_IMPORTED.format(
                added=_count(result.added, "new school"),
                updated=result.updated,
                unchanged=result.skipped,
                file=file,
            )
        )

    run(command)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def read_text_file(file: Path) -> str:
    """A UTF-8 text file's contents, or a message saying what is wrong and what to do."""
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(messages.FILE_MISSING.format(file=file))
    except IsADirectoryError:
        fail(messages.FILE_IS_DIRECTORY.format(file=file))
    except PermissionError:
        fail(messages.FILE_NOT_ALLOWED.format(file=file))
    except UnicodeDecodeError:
        fail(messages.FILE_NOT_UTF8.format(file=file))
    except OSError:
        fail(messages.FILE_UNREADABLE.format(file=file))


@app.command("link", help=messages.SCHOOL_LINK_HELP)
def link(
    code: Annotated[str, typer.Argument(help="The school's code.")],
    new: Annotated[bool, typer.Option("--new", help=messages.SCHOOL_LINK_NEW_HELP)] = False,
) -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            school = await schools.find_school(session, code)
            found = await (
                links.replace_token(session, school, ctx.now) if new else links.ensure_link(session, school)
            )
            token, school_code = found.token, school.code
        username = ctx.settings.telegram_bot_username
        if username:
            typer.echo(messages.SCHOOL_LINK.format(code=school_code, link=links.deep_link(username, token)))
        else:
            typer.echo(messages.SCHOOL_LINK_NO_BOT.format(code=school_code, token=token))
        if new:
            typer.echo(messages.SCHOOL_LINK_REPLACED.format(code=school_code))

    run(command)
