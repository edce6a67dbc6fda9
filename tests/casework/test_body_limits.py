"""Limits follow what Telegram allows (UTF-16 code units), not UTF-8 bytes of JSON."""

from __future__ import annotations

import json

import pytest

from casework.vault import sealing

FIELDS = ("what", "where", "when", "danger", "more")
# The most Telegram lets a student type in one message, in scripts of every width.
FULL_MESSAGES = {
    "emoji": "😀" * 2048,  # 2 UTF-16 units and 4 UTF-8 bytes each
    "cjk": "中" * 4096,  # 1 unit, 3 bytes
    "markup": "<&>" * 1365 + "a",  # escaped later, never counted here
    "mixed": "é😀中 <b>&" * 455 + "a",  # 9 units a round: 4,096
}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("script", FULL_MESSAGES)
def test_a_full_interview_of_full_messages_is_accepted_whole(script: str) -> None:
    text = FULL_MESSAGES[script]
    assert units(text) <= 4096
    body = dict.fromkeys(FIELDS, text)
    sealed = sealing.encode_body(body)
    assert sealing.decode_body(sealed) == body


def test_positive_control_the_old_byte_limit_refused_one_interview_of_emoji() -> None:
    body = dict.fromkeys(FIELDS, FULL_MESSAGES["emoji"])
    assert len(json.dumps(body, ensure_ascii=False).encode("utf-8")) > 16_384  # the old MAX_BODY_BYTES
    assert sealing.body_units(body) == 5 * 4096 <= sealing.MAX_BODY_UNITS


def test_beyond_the_stated_total_is_refused_clearly() -> None:
    body = {"what": "中" * sealing.MAX_BODY_UNITS}
    assert sealing.decode_body(sealing.encode_body(body)) == body  # exactly the limit: kept
    with pytest.raises(sealing.BodyTooLong):
        sealing.encode_body({"what": "中" * sealing.MAX_BODY_UNITS, "more": "x"})
    with pytest.raises(sealing.BodyTooLong):  # an emoji counts 2, as Telegram counts it
        sealing.encode_body({"what": "😀" * (sealing.MAX_BODY_UNITS // 2) + "x"})
