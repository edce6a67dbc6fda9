"""Crockford base32 codes whose check character is one of the same 32 letters and digits: typed on phones.

Input is forgiving: case-insensitive, hyphens and spaces optional, O read as
0 and I or L as 1. U is not a data symbol, so a typed U in the data part is
an error, not a guess.

The check character (since issue 9) is a Damm-style check over the field
GF(32): the quasigroup x∘y = αx + y, folded over the data, with α a
primitive element (a root of x⁵ + x² + 1). Written out, a code d₁…dₙc is
valid when α^n·d₁ + … + α·dₙ + c = 0 in GF(32), so the check is linear
(XOR-linear on the 5-bit values): whether an error is caught depends only
on the error, never on the code. What that proves (tests/casework/
test_codes_and_keys.py exhausts each class):
- every single wrong character is caught (its weight α^k is never 0);
- every swap of two different characters is caught, at any distance up to
  30 apart (α^i ≠ α^j while i ≢ j mod 31), so every swap in a 17- or
  13-character code: neighbours, and jumps such as abc → cba;
- every twin error aa → bb and jump twin aca → bcb (α+1 and α²+1 are never 0).
Any other error (two unrelated typos, say) slips through 1 time in 32.
Luhn mod 32, the obvious alternative, misses the swap of 0 and Z.

Codes issued before issue 9 end in the old check: the value mod 37, written
with 0-9, A-Z less I L O U, then * ~ $ = U. The stored keyed hashes cover the
data characters only, so an old code still opens its case if the old check
is accepted on input; see `parse` for what that costs.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from casework.errors import BadCheckCharacter, MalformedCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LEGACY_SYMBOLS = "*~$=U"  # the old mod-37 check's extra five values, never issued since
LEGACY_CHECK_ALPHABET = ALPHABET + LEGACY_SYMBOLS
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-]+")
GROUP = 4
_FIELD_POLYNOMIAL = 0b100101  # x^5 + x^2 + 1: irreducible and primitive, so α = x has order 31


def _times_alpha(value: int) -> int:
    """α·value in GF(32): a shift, reduced by the field polynomial."""
    value <<= 1
    return value ^ _FIELD_POLYNOMIAL if value & 0b100000 else value


def check_character(data: str) -> str:
    """The check character of normalised data symbols: always one of the 32 data symbols."""
    state = 0
    for char in data:
        state = _times_alpha(state) ^ ALPHABET.index(char)  # x∘y = αx + y
    # The check c makes state∘c = 0, and in characteristic 2, c = α·state.
    return ALPHABET[_times_alpha(state)]


def legacy_check_character(value: int) -> str:
    """The check of codes issued before issue 9: value mod 37, five of whose values are symbols."""
    return LEGACY_CHECK_ALPHABET[value % len(LEGACY_CHECK_ALPHABET)]


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
    """A fresh random code of `bits` bits (a multiple of 5): data symbols + check character, ungrouped."""
    if bits % 5:
        raise ValueError("bits must be a multiple of 5")
    data = encode(secrets.randbits(bits), bits // 5)
    return data + check_character(data)


def display(code: str) -> str:
    """Groups of four for reading: `K7QF-2MZX-9PHA-R3TD-4`."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


@dataclass(frozen=True, slots=True)
class ParsedCode:
    """The normalised data symbols of a typed code, and which check let it through.

    `old_check_only` is true when the last character is a letter or digit
    that only the old mod-37 check accepts. Such input is either an old code
    or a typo of a new one (about 1 typo in 37 lands there by chance), so if
    it opens nothing the caller reports a typo (`BadCheckCharacter`) rather
    than an unknown code: a new code's typos are always called typos.
    """

    data: str
    old_check_only: bool


def parse(text: str, data_symbols: int) -> ParsedCode:
    """The normalised data symbols of a typed code, after checking its check character.

    The current check is tried first; the old mod-37 check is the fallback,
    so codes issued before issue 9 keep working. Raises `MalformedCode` for
    the wrong length or characters and `BadCheckCharacter` when neither
    check agrees (a typo).
    """
    compact = _SEPARATORS.sub("", text).upper().translate(_CONFUSABLE)
    if len(compact) != data_symbols + 1:
        raise MalformedCode(f"a code has {data_symbols + 1} characters, this one has {len(compact)}")
    data, check = compact[:-1], compact[-1]
    if any(char not in ALPHABET for char in data) or check not in LEGACY_CHECK_ALPHABET:
        raise MalformedCode("the code contains characters that codes never use")
    if check in ALPHABET and check_character(data) == check:
        return ParsedCode(data, old_check_only=False)
    if legacy_check_character(decode(data)) == check:
        # A symbol can only end an old code (new codes never have one), so only
        # a letter or digit leaves the doubt that the caller resolves.
        return ParsedCode(data, old_check_only=check in ALPHABET)
    raise BadCheckCharacter("the code has a typo: its check character does not match")
