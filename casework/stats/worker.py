"""A helper process of `stats_pool`: `python -m casework.stats.worker`, started by `pool.Helpers`.

Reads units of school-months from its standard input and writes each one's encoded cells to its
standard output (`pool.serve`). Imports protection's modules only. Its standard output is the
channel to the parent, so anything else printed goes to standard error.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints cannot corrupt the channel
    from casework.stats import pool  # after the redirection: nothing it imports can write to it

    with replies:
        pool.serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
