"""Charts as server-rendered SVG: grouped bars told apart by pattern and label, not by colour alone.

Built here rather than with a charting library: a few dozen lines give exactly what a strict CSP
allows (no script, no style element or attribute: only SVG presentation attributes), a text
alternative (title, description, and the table beside every chart), and value labels on every bar,
so a chart printed in black and white, or read by a screen reader, says the same as on screen.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 40, 56
# Fills, in order: solid, diagonal hatching, dots, cross-hatching; dark enough on white, printable.
PATTERNS = ("solid", "hatch", "dots", "cross")
_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Bar:
    value: int | None  # None: not published (shown as its symbol, no bar)
    text: str  # what is written on the bar: the number, "≥12", "<5", "x"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    bars: Sequence[Bar]


def _defs(prefix: str) -> str:
    return (
        "<defs>"
        f'<pattern id="{prefix}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#1b4965" stroke-width="3"/></pattern>'
        f'<pattern id="{prefix}-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        '<rect width="5" height="5" fill="#ffffff"/>'
        '<circle cx="2.5" cy="2.5" r="1.5" fill="#7a3e00"/></pattern>'
        f'<pattern id="{prefix}-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#ffffff"/>'
        '<path d="M0 0L6 6M6 0L0 6" stroke="#3d3d3d" stroke-width="1"/></pattern>'
        "</defs>"
    )


def _fill(prefix: str, index: int) -> str:
    pattern = PATTERNS[index % len(PATTERNS)]
    return "#1b4965" if pattern == "solid" else f"url(#{prefix}-{pattern})"


def bar_chart(title: str, description: str, categories: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped bars, one group per category; every bar labelled with its published value."""
    prefix = f"c{next(_counter)}"
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([b.value or 0 for s in series for b in s.bars] + [1])
    group_w = plot_w / max(1, len(categories))
    bar_w = max(2.0, min(40.0, (group_w - 8) / max(1, len(series))))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{prefix}-t {prefix}-d" class="chart">',
        f'<title id="{prefix}-t">{escape(title)}</title>',
        f'<desc id="{prefix}-d">{escape(description)}</desc>',
        _defs(prefix),
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#000000"/>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top}</text>',
    ]
    for g, category in enumerate(categories):
        x0 = LEFT + g * group_w + (group_w - bar_w * len(series)) / 2
        for s, one in enumerate(series):
            bar = one.bars[g] if g < len(one.bars) else Bar(None, "")
            x = x0 + s * bar_w
            h = 0 if bar.value is None else plot_h * bar.value / top
            y = TOP + plot_h - h
            if bar.value is not None and h > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                    f'fill="{_fill(prefix, s)}" stroke="#000000" stroke-width="0.8"/>'
                )
            parts.append(
                f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{escape(bar.text)}</text>'
            )
        parts.append(
            f'<text x="{LEFT + g * group_w + group_w / 2:.1f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle" font-size="11">{escape(category)}</text>'
        )
    for s, one in enumerate(series):  # the legend: a swatch with the same pattern, and the name
        lx = LEFT + s * 170
        parts.append(
            f'<rect x="{lx}" y="{HEIGHT - 24}" width="14" height="14" fill="{_fill(prefix, s)}" '
            'stroke="#000000" stroke-width="0.8"/>'
            f'<text x="{lx + 20}" y="{HEIGHT - 13}" font-size="12">{escape(one.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
