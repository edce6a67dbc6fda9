"""Schools: added one by one or from a CSV file, listed, and removed (deactivated, never deleted).

A removed school takes no new reports; its cases and statistics stay.
An import is all or nothing: the first bad row is reported with its line
number and no school is added. A code already in the database is refused,
unless the import is told to update such schools (`ImportMode.UPDATE`) or to
leave them as they are (`ImportMode.SKIP_EXISTING`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit, links
from casework.errors import DuplicateSchoolCode, InvalidSchoolData, SchoolImportError, UnknownSchool
from storage.models import School

_CODE = re.compile(r"^[A-Z0-9]{2,16}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
REQUIRED_COLUMNS = ("name", "code")
OPTIONAL_COLUMNS = ("board",)
DELIMITERS = ",;\t|"  # spreadsheets in many locales save "CSV" with semicolons


class ImportMode(StrEnum):
    REFUSE = "refuse"  # a code already in the database stops the import
    UPDATE = "update"  # ... has its name and board replaced
    SKIP_EXISTING = "skip-existing"  # ... is left as it is


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    skipped: int


@dataclass(frozen=True, slots=True)
class NewSchool:
    name: str
    code: str
    board: str | None = None

    @classmethod
    def checked(cls, name: str, code: str, board: str | None = None) -> NewSchool:
        """Normalised (code upper-cased, spaces collapsed) or `InvalidSchoolData` saying what is wrong."""
        name = " ".join(name.split())
        code = code.strip().upper()
        board = " ".join(board.split()) if board else None
        if not name or len(name) > 200 or _CONTROL.search(name):
            raise InvalidSchoolData("a school's name is 1 to 200 printable characters")
        if not _CODE.match(code):
            raise InvalidSchoolData(f"a school code is 2 to 16 letters or digits, not {code!r}")
        if board is not None and (len(board) > 100 or _CONTROL.search(board)):
            raise InvalidSchoolData("a board is at most 100 printable characters")
        return cls(name, code, board)


async def find_school(session: AsyncSession, code: str) -> School:
    school = await session.scalar(select(School).where(School.code == code.strip().upper()))
    if school is None:
        raise UnknownSchool(f"no school with code {code.strip().upper()!r} (see `sro school list`)")
    return school


async def add_school(session: AsyncSession, new: NewSchool, now: datetime) -> School:
    if await session.scalar(select(School.id).where(School.code == new.code)) is not None:
        raise DuplicateSchoolCode(f"a school with code {new.code!r} already exists")
    school = School(name=new.name, code=new.code, board=new.board, active=True, created_at=now)
    session.add(school)
    await session.flush()
    await links.ensure_link(session, school)  # its poster's deep link
    await audit.record_event(session, actor="admin", action="school.added", now=now, detail=new.code)
    return school


async def list_schools(session: AsyncSession, *, include_removed: bool = True) -> Sequence[School]:
    query = select(School).order_by(School.code)
    if not include_removed:
        query = query.where(School.active)
    return (await session.scalars(query)).all()


async def remove_school(session: AsyncSession, code: str, now: datetime) -> School:
    """Deactivate: no new reports; existing cases, assignments' history and statistics stay."""
    school = await find_school(session, code)
    school.active = False
    await audit.record_event(session, actor="admin", action="school.removed", now=now, detail=school.code)
    return school


def _delimiter(text: str) -> str:
    """The file's delimiter, from its header line (a comma when nothing else fits)."""
    header = text.partition("\n")[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def parse_schools_csv(text: str) -> list[tuple[int, NewSchool]]:
    """Rows of a `name,code[,board]` CSV with their line numbers; `SchoolImportError` at the first bad one.

    The delimiter (comma, semicolon, tab or bar) is read from the header line.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text), skipinitialspace=True)
    header = [column.strip().lower() for column in reader.fieldnames or []]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        problem = f"missing column {missing[0]!r}" if missing else f"unknown column {unknown[0]!r}"
        found = ", ".join(repr(column) for column in header) or "nothing"
        raise SchoolImportError(
            1,
            f"{problem} (the header has {found}): make the first line name,code or name,code,board, "
            "separated by commas or semicolons",
        )
    reader.fieldnames = header
    rows: list[tuple[int, NewSchool]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row or any(value is None for value in row.values()):
            raise SchoolImportError(line, f"expected {len(header)} fields")
        try:
            school = NewSchool.checked(row["name"], row["code"], row.get("board"))
        except InvalidSchoolData as error:
            raise SchoolImportError(line, str(error)) from error
        if school.code in seen:
            raise SchoolImportError(line, f"code {school.code!r} already appears on line {seen[school.code]}")
        seen[school.code] = line
        rows.append((line, school))
    if not rows:
        raise SchoolImportError(1, "the file has no schools")
    return rows


async def import_schools(
    session: AsyncSession,
    rows: Sequence[tuple[int, NewSchool]],
    now: datetime,
    mode: ImportMode = ImportMode.REFUSE,
) -> ImportResult:
    """Add every parsed row, or none; a code already in the database is refused (with its line),
    updated (name and board; a removed school stays removed) or skipped, as `mode` says."""
    existing = {
        school.code: school
        for school in await session.scalars(select(School).where(School.code.in_([s.code for _, s in rows])))
    }
    if mode == ImportMode.REFUSE:
        for line, school in rows:
            if school.code in existing:
                raise SchoolImportError(
                    line,
                    f"a school with code {school.code!r} already exists: to import the file anyway, "
                    "add --update (replace those schools' names and boards) or --skip-existing "
                    "(leave them as they are)",
                )
    added = updated = skipped = 0
    new_schools: list[School] = []
    for _, school in rows:
        old = existing.get(school.code)
        if old is None:
            new_schools.append(
                School(name=school.name, code=school.code, board=school.board, active=True, created_at=now)
            )
            session.add(new_schools[-1])
            added += 1
        elif mode == ImportMode.UPDATE and (old.name, old.board) != (school.name, school.board):
            old.name, old.board = school.name, school.board
            updated += 1
        else:
            skipped += 1  # skip-existing, or an update that changes nothing
    if new_schools:
        await session.flush()
        await links.school_links(session, new_schools)  # each new school's poster deep link
    await audit.record_event(
        session,
        actor="admin",
        action="school.imported",
        now=now,
        detail=f"{added} added, {updated} updated, {skipped} unchanged",
    )
    return ImportResult(added, updated, skipped)
