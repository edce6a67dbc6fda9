"""`make bench-fuzz`: 100,000 generated updates fed to the real bot; writes its section of docs/benchmarks.md.

The same strategies and rules as tests/bot/test_update_fuzz.py (which runs a derandomized
2,000 in `make test`), in rounds of fresh examples (a new seed, bot and database each round, so
that the scan for secrets stays one pass over a database of bounded size).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from devtools.benchdoc import git_revision, machine, write_section
from tests.bot.update_fuzz import Report, run_fuzz

HEADING = "Update fuzz"


def merge(total: Report, part: Report) -> None:
    for name in (
        "examples",
        "answered",
        "quiet",
        "groups",
        "malformed",
        "unparsed",
        "needles",
        "short_texts",
    ):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.seconds += part.seconds
    total.database_bytes = max(total.database_bytes, part.database_bytes)
    for source, target in ((part.kinds, total.kinds), (part.malformed_problems, total.malformed_problems)):
        for key, count in source.items():
            target[key] = target.get(key, 0) + count


def body(total: Report, rounds: int, wall: float, found: list[str]) -> str:
    rate = total.examples / total.seconds if total.seconds else 0.0
    problems = sorted(total.malformed_problems.items(), key=lambda item: -item[1])[:8]
    problem_lines = "\n".join(f"| {name[:90]} | {count:,} |" for name, count in problems) or "| none | 0 |"
    return f"""
`make bench-fuzz` ({total.examples:,} examples in {rounds} rounds; revision {git_revision()}; {machine()}).
The bot as `bot.app.build_application` builds it, the Bot API emulator over HTTP, the real fallback
classifier without a Rasa server, a fresh SQLite database per round.

| | |
|---|---|
| updates fed | {total.examples:,} in {total.seconds:,.0f} s ({rate:,.0f}/s), {wall:,.0f} s in all |
| private texts, commands, media, button presses: answered | {total.answered:,} (every one) |
| updates the bot must not answer: unanswered | {total.quiet:,} (every one) |
| group and channel updates: the "private chats only" notice, then it left | {total.groups:,} |
| malformed updates (a field missing or of a wrong type) | {total.malformed:,} |
| of which python-telegram-bot could not parse (logged raw at CRITICAL) | {total.unparsed:,} |
| forms of texts, names and ids searched for in the database and WAL | {total.needles:,} |
| texts under 6 bytes, too short to search for | {total.short_texts:,} |
| found stored in the clear | {len(found)} |
| largest database | {total.database_bytes / 2**20:,.1f} MiB |

Unhandled errors, refused Bot API calls and error logs: none on well-formed updates (the run stops
at the first). On malformed updates, which Telegram does not send, what happened (counted, not failed):

| on malformed updates | count |
|---|---|
{problem_lines}
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    total, found, section = Report(), [], ""
    started = time.perf_counter()
    per_round = -(-args.examples // args.rounds)
    for round_number in range(args.rounds):
        count = min(per_round, args.examples - total.examples)
        if count <= 0:
            break
        with tempfile.TemporaryDirectory(prefix="sro-fuzz-") as directory:
            part, round_found = run_fuzz(Path(directory), count, seed=round_number + 1)
        merge(total, part)
        found += round_found
        print(f"bench-fuzz: round {round_number + 1}: {part.examples:,} in {part.seconds:.0f} s", flush=True)  # noqa: T201
        if round_found:
            print(f"bench-fuzz: stored in the clear: {round_found[:5]}", flush=True)  # noqa: T201
        # Written after every round, so that an interrupted run still leaves true figures.
        section = body(total, round_number + 1, time.perf_counter() - started, found)
        if not args.no_write:
            write_section(HEADING, section)
    if args.no_write:
        print(section)  # noqa: T201
    else:
        print(f"bench-fuzz: wrote docs/benchmarks.md (section {HEADING})")  # noqa: T201
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
