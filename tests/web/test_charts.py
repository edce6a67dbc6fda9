"""The dashboard's charts read without colour: each series is told apart by a pattern (at most one is a
plain fill), named in a legend with the same swatch, and every bar carries its published value; the
response-time chart and table publish a school only over ten cases, rounded."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from storage.models import ResponseMeasure, ResponseTime, WebRole
from tests.web.conftest import Site
from tests.web.test_http import signed_in
from web import charts
from web.charts import Bar, Series

SWATCH = re.compile(r'<rect x="[\d.]+" y="\d+" width="14" height="14" fill="([^"]+)"')


def test_series_differ_by_pattern_not_colour_alone() -> None:
    svg = str(
        charts.bar_chart(
            "Messages",
            "Messages per month",
            ["2025-02", "2025-03"],
            [
                Series(name, [Bar(v, str(v)), Bar(None, "x")])
                for name, v in (("reports", 7), ("questions", 9), ("urgent", 5))
            ],
        )
    )
    fills = SWATCH.findall(svg)
    assert len(fills) == 3
    assert len(set(fills)) == 3  # three series, three looks
    assert sum(not fill.startswith("url(#") for fill in fills) <= 1  # at most one plain colour
    for fill in fills:
        if fill.startswith("url(#"):
            assert f'<pattern id="{fill[5:-1]}"' in svg  # the pattern is defined in the chart itself
    for name in ("reports", "questions", "urgent"):
        assert f">{name}</text>" in svg  # the legend names each series
    assert ">7</text>" in svg  # every bar labelled with its value
    assert ">x</text>" in svg  # and a withheld one with its marker
    assert "<title" in svg
    assert "<desc" in svg


async def test_every_chart_on_the_pages_uses_patterns(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    found = 0
    for path in ["/", "/schools", "/trends", "/responses"]:
        for svg in re.findall(r"<svg.*?</svg>", (await client.get(path)).text, flags=re.S):
            fills = SWATCH.findall(svg)
            assert len(set(fills)) == len(fills), path
            assert sum(not fill.startswith("url(#") for fill in fills) <= 1, path
            found += 1
    assert found >= 4  # control: the charts were there to check


async def test_response_times_are_shown_only_over_ten_cases(site: Site) -> None:
    # BIG has twelve waits of each kind in March (conftest's seed); MID gets nine: one short of shown.
    async with site.db.transaction() as session:
        for n in range(9):
            for measure in ResponseMeasure:
                session.add(
                    ResponseTime(
                        school_id=site.ids["MID"],
                        day=date(2025, 3, 3 + n),
                        measure=measure,
                        seconds=300 + 60 * n,
                    )
                )
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    rows = list(csv.reader(io.StringIO((await client.get("/responses.csv?section=0")).text)))
    schools = {row[0] for row in rows[1:]}
    assert "BIG" in schools  # control: twelve cases are published
    assert "MID" not in schools  # nine are not, in the table, the CSV or the chart
    page = (await client.get("/responses")).text
    shown = re.sub(r"<select.*?</select>", "", page, flags=re.S)
    assert "BIG" in shown  # control: the page names the school it publishes
    assert "MID" not in shown
    for row in rows[1:]:
        assert int(row[3]) % 5 == 0  # medians rounded to 5 minutes
        assert int(row[4]) % 5 == 0
