"""Generated Telegram updates of every kind, fed to the real bot: no crash, right answers, nothing in clear.

The bot runs as `bot.app.build_application` builds it, against the Bot API emulator (which refuses
what Telegram refuses), with the real fallback classifier and no Rasa server. `tests/bot/update_fuzz.py`
holds the strategies and the rules; `make bench-fuzz` runs 100,000 examples of the same.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.bot.update_fuzz import find_in, id_forms, needle_forms, run_fuzz

EXAMPLES = int(os.environ.get("SRO_FUZZ_EXAMPLES", "2000"))


@pytest.mark.slow  # 2,000 updates through the real bot: a long run (`make test` only)
# Through the durable intake each update waits for the worker's claim (about 20 ms more each): a
# loaded machine took over 300 s, the suite's default limit.
@pytest.mark.timeout(900)
def test_generated_updates_are_answered_as_the_product_promises(tmp_path: Path) -> None:
    report, found = run_fuzz(tmp_path, EXAMPLES)
    assert report.examples == EXAMPLES
    assert not found, f"stored in the clear: {found[:5]}"
    # The rules were exercised, not skipped: each kind of expectation was met many times.
    assert report.answered > EXAMPLES // 10
    assert report.quiet > EXAMPLES // 50
    assert report.groups > EXAMPLES // 50
    # Malformed updates came to 195 of 2,000 in one fresh clone's CI run and 269 here, for the same
    # code and the same derandomized examples: the bar is well under both, and still many.
    assert report.malformed > EXAMPLES // 20
    assert report.needles > EXAMPLES, "the scan had texts, names and ids to look for"
    kinds = {label.split(":")[-1].strip() for label in report.kinds}
    for kind in ("text", "command", "photo", "sticker", "voice", "document", "location", "contact"):
        assert any(kind in k for k in kinds), f"no {kind} generated: {sorted(kinds)}"
    assert any("callback_query" in k for k in report.kinds)
    assert any("edited_message" in k for k in report.kinds)
    assert any("channel_post" in k for k in report.kinds)
    assert any("unknown kind" in k for k in report.kinds)


def test_the_scan_finds_what_is_stored_in_the_clear(tmp_path: Path) -> None:
    """Positive control: texts, UTF-16 texts and ids written plainly to SQLite (file and WAL) are found."""
    path = tmp_path / "plain.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (a TEXT, b BLOB, c INTEGER)")
    text, utf16, name = "he hides a knife in the piano", "Wiadomość 🚨 ktoś", "Jo"
    user_id, big_id = 2**47 + 5_987_654_321, 2**51 + 12_345  # 48-52 bits, as the fuzz's ids
    connection.execute("INSERT INTO t VALUES (?, ?, ?)", (text, utf16.encode("utf-16-le"), user_id))
    connection.execute("INSERT INTO t VALUES (?, ?, ?)", (json.dumps({"n": name}), None, big_id))
    connection.commit()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("plain.db"))
    connection.close()
    absent = needle_forms("a text nobody stored") + id_forms(7_777_777_777)
    present = needle_forms(text) + needle_forms(utf16)
    found = find_in(stored, [*present, *absent, *id_forms(user_id), *id_forms(big_id)])
    assert text.encode() in found
    assert utf16.encode("utf-16-le") in found
    assert user_id.to_bytes(8, "big") in found  # SQLite keeps such ids in 8 bytes
    assert big_id.to_bytes(8, "big") in found
    assert not set(found) & set(absent)
    assert needle_forms(name) == []  # too short to search for: the fuzz counts such texts apart
