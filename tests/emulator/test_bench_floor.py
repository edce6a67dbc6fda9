"""`make bench-load`'s Bot API floor: the bot that does a report's Telegram traffic and nothing else.

The floor is only a fair measure if it really sends as many messages per update as a report costs,
and if the CPU it is charged with is the CPU it used: both checked here, through the real emulator
process and the real floor bot process.
"""

from __future__ import annotations

import os
from pathlib import Path

from devtools.bench import load


async def test_the_floor_bot_answers_each_message_with_as_many_sends_as_asked(tmp_path: Path) -> None:
    result = await load.run_echo(12, tmp_path, sends=3)
    assert result.delivered == 12
    log = (tmp_path / "echo-12-3.log").read_text()
    assert "Traceback" not in log
    assert result.api_calls == 3  # three sends per message, the echo last (its arrival is timed)
    assert set(result.cpu_ms) == {"bot", "emulator"}
    assert result.cpu_ms["bot"] > 0


async def test_the_bare_echo_bot_answers_once(tmp_path: Path) -> None:
    result = await load.run_echo(5, tmp_path)
    assert result.delivered == 5
    assert result.api_calls == 1


def test_cpu_seconds_counts_this_process_work() -> None:
    before = load.cpu_seconds(os.getpid())
    total = 0
    while load.cpu_seconds(os.getpid()) - before < 0.05:  # at least five clock ticks of work
        total += sum(range(10_000))
    assert total > 0
    assert load.cpu_seconds(2**22 + 7) != load.cpu_seconds(2**22 + 7)  # no such process: NaN


def test_the_cost_table_states_the_budget_at_0_8_of_the_parse_rate() -> None:
    report = load.Result(
        1, 1, 1, 1, 1, 1, 1, cpu_ms={"bot": 60.0, "emulator": 9.0, "nlu": 7.0}, api_calls=4.0, by_rasa=0.75
    )
    floor = load.Result(1, 1, 1, 1, 63.0, 1, 1, cpu_ms={"bot": 5.0, "emulator": 2.0})
    table = load.cost_table([(200, report, floor, 125.0, 6.0)])
    cores = os.cpu_count() or 1
    budget = cores * 1000 / (0.8 * 125.0)
    row = table.splitlines()[-1]
    assert row == f"| 200 | 75% | 4.0 | 60.0 | 9.0 | 7.0 | 6.0 | 7.0 | 63 | {budget:.1f} | 13.0 |"
