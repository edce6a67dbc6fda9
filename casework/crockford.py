"""Crockford base32 with its mod-37 check symbol: codes people read aloud and type on phones.

Input is forgiving: case-insensitive, hyphens and spaces optional, O read as
0 and I or L as 1. U is not a data symbol (it only appears as a check
symbol), so a typed U in the data part is an error, not a guess.
"""

from __future__ import annotations

import re
import secrets

from casework.errors import BadCheckCharacter, MalformedCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-]+")
GROUP = 4


def check_symbol(value: int) -> str:
    return CHECK_ALPHABET[value % len(CHECK_ALPHABET)]


def encode(value: int, symbols: int) -> str:
    out = []
    for _ in range(symbols):
        out.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def decode(data: str) -> int:
    value = 0
    for char in data:
        value = value * 32 + ALPHABET.index(char)
    return value


def new_code(bits: int) -> str:
    """A fresh random code of `bits` bits (a multiple of 5): data symbols + check symbol, ungrouped."""
    if bits % 5:
        raise ValueError("bits must be a multiple of 5")
    value = secrets.randbits(bits)
    return encode(value, bits // 5) + check_symbol(value)


def display(code: str) -> str:
    """Groups of four for reading: `K7QF-2MZX-9PHA-R3TD-4`."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def parse(text: str, data_symbols: int) -> str:
    """The normalised data symbols of a typed code, after checking its check symbol.

    Raises `MalformedCode` for the wrong length or characters and
    `BadCheckCharacter` when the check symbol disagrees (a typo).
    """
    compact = _SEPARATORS.sub("", text).upper().translate(_CONFUSABLE)
    if len(compact) != data_symbols + 1:
        raise MalformedCode(f"a code has {data_symbols + 1} characters, this one has {len(compact)}")
    data, check = compact[:-1], compact[-1]
    if any(char not in ALPHABET for char in data) or check not in CHECK_ALPHABET:
        raise MalformedCode("the code contains characters that codes never use")
    if check_symbol(decode(data)) != check:
        raise BadCheckCharacter("the code has a typo: its check character does not match")
    return data
