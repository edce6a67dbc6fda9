"""Schools' deep links: `https://t.me/<bot>?start=<token>`, a random token per school that preselects it.

A token is public by design (printed on the school's posters) and tells
only which school it opens. It is random rather than the school's code so
that it can be replaced without renaming the school, and so that nothing
about the program (codes, numbering) can be read or guessed from it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit
from storage.models import School, SchoolLink

TOKEN_BYTES = 12  # 16 URL-safe characters: well inside Telegram's 64
# Telegram's start parameter: 1-64 characters of A-Za-z0-9_- (anything else never reaches the bot).
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Telegram usernames: 5-32 letters, digits and underscores; bots' end in "bot".
BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


def new_token() -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    assert START_PARAMETER.fullmatch(token)  # token_urlsafe's alphabet is exactly Telegram's
    return token


def is_start_token(text: str) -> bool:
    """Could `text` be a start token at all (so a lookup is worth making)?"""
    return START_PARAMETER.fullmatch(text) is not None


def link_for_token(bot_username: str, token: str) -> str:
    """The deep link for a token; `bot_username` with or without its '@'."""
    username = bot_username.strip().removeprefix("@")
    if not BOT_USERNAME.fullmatch(username):
        raise ValueError(f"not a Telegram bot username: {bot_username!r}")
    if not is_start_token(token):
        raise ValueError("not a Telegram start parameter")
    return f"https://t.me/{username}?start={token}"


def deep_link(bot_username: str, school: SchoolLink | str) -> str:
    """`https://t.me/<bot username>?start=<token>` for a school's link (or its token).

    Get the link with `ensure_link` / `school_links` (or `school_deep_link` in one step): a
    `School` row does not carry its token, and async code makes no lazy loads.
    """
    return link_for_token(bot_username, school.token if isinstance(school, SchoolLink) else school)


async def ensure_link(session: AsyncSession, school: School | int) -> SchoolLink:
    """The school's link, made now if it has none (a school added before links, or just added)."""
    school_id = school if isinstance(school, int) else school.id
    link = await session.get(SchoolLink, school_id)
    if link is None:
        link = SchoolLink(school_id=school_id, token=new_token())
        session.add(link)
        await session.flush()
    return link


async def school_links(session: AsyncSession, schools: Iterable[School | int]) -> dict[int, SchoolLink]:
    """Every given school's link by school id, making the missing ones."""
    ids = sorted({s if isinstance(s, int) else s.id for s in schools})
    found = {
        link.school_id: link
        for link in await session.scalars(select(SchoolLink).where(SchoolLink.school_id.in_(ids)))
    }
    missing = [SchoolLink(school_id=i, token=new_token()) for i in ids if i not in found]
    if missing:
        session.add_all(missing)
        await session.flush()
    return found | {link.school_id: link for link in missing}


async def school_deep_link(session: AsyncSession, bot_username: str, school: School | int) -> str:
    """The school's deep link, its token made if it had none."""
    return deep_link(bot_username, await ensure_link(session, school))


async def school_for_token(session: AsyncSession, token: str) -> School | None:
    """The active school a start token opens; None for anything else (garbage, unknown, removed)."""
    if not is_start_token(token):
        return None
    school = await session.scalar(
        select(School).join(SchoolLink, SchoolLink.school_id == School.id).where(SchoolLink.token == token)
    )
    return school if school is not None and school.active else None


async def replace_token(session: AsyncSession, school: School, now: datetime) -> SchoolLink:
    """A new token for the school (a poster misused, say): posters printed before open the plain
    welcome from now on. Audited, with the school's code only."""
    link = await ensure_link(session, school)
    link.token = new_token()
    await session.flush()
    await audit.record_event(
        session, actor="admin", action="school.link_replaced", now=now, detail=school.code
    )
    return link
