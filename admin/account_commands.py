"""`sro admin add|list|disable|reset`: the dashboard's accounts (web/accounts.py does the work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from admin import messages
from admin.runtime import App, Context, console, fail, run
from storage.models import WebRole
from web import accounts
from web.web_key import WebKey, write_web_key_file

app = App(help=messages.ADMIN_HELP, no_args_is_help=True)
HOURS = int(accounts.SETUP_LINK_LIFETIME.total_seconds() // 3600)
T = TypeVar("T")


async def _in_transaction(ctx: Context, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One transaction; an `AccountError` becomes the command's error message, nothing written."""
    try:
        async with ctx.db.transaction() as session:
            return await work(session)
    except accounts.AccountError as error:
        fail(str(error))


@app.command("add", help=messages.ADMIN_ADD_HELP.format(hours=HOURS))
def add(
    name: Annotated[str, typer.Option(help=messages.ADMIN_NAME_HELP)],
    email: Annotated[str, typer.Option(help=messages.ADMIN_EMAIL_HELP)],
    role: Annotated[WebRole, typer.Option(help=messages.ADMIN_ROLE_HELP)],
    school: Annotated[list[str] | None, typer.Option(help=messages.ADMIN_SCHOOL_HELP)] = None,
) -> None:
    async def command(ctx: Context) -> None:
        key = ctx.web_key()

        async def work(session: AsyncSession) -> str:
            account = await accounts.create_account(
                session, key, name=name, email=email, role=role, school_codes=school or [], now=ctx.now
            )
            return await accounts.issue_setup_token(session, key, account, ctx.now)

        token = await _in_transaction(ctx, work)
        link = accounts.setup_link(ctx.settings.web_base_url, token)
        typer.echo(
            messages.ADMIN_ADDED.format(role=role, email=accounts.normal_email(email), hours=HOURS, link=link)
        )

    run(command)


@app.command("list", help=messages.ADMIN_LIST_HELP)
def list_() -> None:
    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            found = await accounts.list_accounts(session, ctx.web_key())
        if not found:
            typer.echo(messages.ADMIN_NO_ACCOUNTS)
            return
        table = Table(
            "email", "name", "role", "schools", "set up", "second factor", "active", "last login", "verified"
        )
        for info in found:
            a = info.account
            table.add_row(
                a.email,
                a.name,
                str(a.role),
                ", ".join(info.school_codes) or ("all" if a.role == WebRole.COORDINATOR else ""),
                "yes" if a.password_hash else "no (link sent)",
                "TOTP" if a.totp_sealed else "none",
                "yes" if a.active else "disabled",
                f"{a.last_login_at:%Y-%m-%d %H:%M} UTC" if a.last_login_at else "never",
                "yes" if info.verified else messages.ADMIN_UNVERIFIED,
            )
        console().print(table)

    run(command)


@app.command("disable", help=messages.ADMIN_DISABLE_HELP)
def disable(email: Annotated[str, typer.Argument(help=messages.ADMIN_EMAIL_HELP)]) -> None:
    async def command(ctx: Context) -> None:
        async def work(session: AsyncSession) -> str:
            return (await accounts.disable_account(session, ctx.web_key(), email, ctx.now)).email

        typer.echo(messages.ADMIN_DISABLED.format(email=await _in_transaction(ctx, work)))

    run(command)


@app.command("reset", help=messages.ADMIN_RESET_HELP)
def reset(email: Annotated[str, typer.Argument(help=messages.ADMIN_EMAIL_HELP)]) -> None:
    async def command(ctx: Context) -> None:
        async def work(session: AsyncSession) -> str:
            return await accounts.reset_account(session, ctx.web_key(), email, ctx.now)

        token = await _in_transaction(ctx, work)
        link = accounts.setup_link(ctx.settings.web_base_url, token)
        typer.echo(
            messages.ADMIN_RESET_DONE.format(email=accounts.normal_email(email), hours=HOURS, link=link)
        )

    run(command)


@app.command("web-key", help=messages.ADMIN_WEB_KEY_HELP)
def web_key(path: Annotated[Path, typer.Argument(help=messages.ADMIN_WEB_KEY_PATH_HELP)]) -> None:
    try:
        write_web_key_file(path, WebKey.generate())
    except FileExistsError:
        fail(messages.ADMIN_WEB_KEY_EXISTS.format(path=path))
    typer.echo(messages.ADMIN_WEB_KEY_DONE.format(path=path))
