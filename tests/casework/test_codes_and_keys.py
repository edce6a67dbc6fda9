"""Case and enrollment codes (the check character; old codes still work), and the master key's sources."""

from __future__ import annotations

import re
import secrets
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from app.settings import Settings
from casework import crockford, officers
from casework.cases import reading
from casework.cases.codes import DATA_SYMBOLS, CaseCode
from casework.errors import BadCheckCharacter, MalformedCode, MasterKeyError, UnknownCaseCode
from casework.officers import ENROLLMENT_BITS, ENROLLMENT_SYMBOLS
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey, load_master_key
from storage.db import Database
from storage.models import Role
from tests.casework.world import build_world, open_report

A = crockford.ALPHABET
LETTERS_AND_DIGITS = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]")
Check = Callable[[str], str]  # data symbols -> check character


def old_new_code(bits: int) -> str:
    """How codes were made before issue 9 (crockford.new_code then): data + value mod 37, maybe a symbol."""
    value = secrets.randbits(bits)
    return crockford.encode(value, bits // 5) + crockford.legacy_check_character(value)


def old_form(code: str) -> str:
    """The same data symbols with the check character the old algorithm gave them."""
    data = code.replace("-", "")[:-1]
    return data + crockford.legacy_check_character(crockford.decode(data))


def luhn_mod_32(data: str) -> str:
    """Luhn mod N with N = 32, the obvious alternative: shown to miss the swap of 0 and Z."""
    total, factor = 0, 2
    for char in reversed(data):
        addend = factor * A.index(char)
        total += addend // 32 + addend % 32
        factor = 3 - factor
    return A[-total % 32]


def plain_sum_mod_32(data: str) -> str:
    """A deliberately weak check: blind to the order of the characters."""
    return A[sum(A.index(char) for char in data) % 32]


def legacy_mod_37(data: str) -> str:
    return crockford.legacy_check_character(crockford.decode(data))


def _valid(check: Check, code: str) -> bool:
    return check(code[:-1]) == code[-1]


def _code_with(check: Check, base: str, fixed: dict[int, str]) -> str | None:
    """A valid code (data of `base` + check character) with `fixed` characters at their positions.

    When the check position (len(base)) is fixed, a data position left free
    is varied until the check agrees; None if no value does.
    """
    chars = list(base)
    for position, char in fixed.items():
        if position < len(base):
            chars[position] = char
    data = "".join(chars)
    wanted = fixed.get(len(base))
    if wanted is None:
        return data + check(data)
    free = next(i for i in range(len(base)) if i not in fixed)
    for char in A:
        candidate = data[:free] + char + data[free + 1 :]
        if check(candidate) == wanted:
            return candidate + wanted
    return None


def substitution_gaps(check: Check, base: str, symbols: str = A) -> set[tuple[int, str, str]]:
    """Every (position, x, y) where a valid code with x at position, y typed instead, is not caught."""
    gaps = set()
    for position in range(len(base) + 1):
        for x in symbols if position == len(base) else A:  # `symbols`: what a check character may be
            code = _code_with(check, base, {position: x})
            if code is None:
                continue
            for y in A:
                if y != x and _valid(check, code[:position] + y + code[position + 1 :]):
                    gaps.add((position, x, y))
    return gaps


def swap_gaps(check: Check, base: str, distance: int = 1) -> set[tuple[int, str, str]]:
    """Every (position, x, y): x at position and y `distance` later, swapped, not caught."""
    gaps = set()
    for position in range(len(base) + 1 - distance):
        other = position + distance
        for x in A:
            for y in A:
                code = _code_with(check, base, {position: x, other: y}) if x != y else None
                if code is None:
                    continue
                swapped = list(code)
                swapped[position], swapped[other] = y, x
                if _valid(check, "".join(swapped)):
                    gaps.add((position, x, y))
    return gaps


def test_case_code_shape_and_forgiving_input() -> None:
    code = CaseCode.new()
    shown = code.display()
    assert LETTERS_AND_DIGITS.fullmatch(shown), shown
    compact = shown.replace("-", "")
    for typed in (
        shown,
        compact,
        shown.lower(),
        " ".join(compact),
        compact.replace("0", "o").replace("1", "I"),
        compact.replace("1", "l"),
    ):
        assert CaseCode.parse(typed) == code
    assert "hidden" in repr(code)
    assert code.data not in repr(code)


def test_the_check_is_linear_so_exhausting_error_patterns_is_a_proof() -> None:
    """check(a XOR b) = check(a) XOR check(b): whether an error is caught depends on the error alone."""
    for _ in range(500):
        a, b = (crockford.encode(secrets.randbits(80), DATA_SYMBOLS) for _ in range(2))
        xored = "".join(A[A.index(x) ^ A.index(y)] for x, y in zip(a, b, strict=True))
        assert A.index(crockford.check_character(xored)) == (
            A.index(crockford.check_character(a)) ^ A.index(crockford.check_character(b))
        )


@pytest.mark.parametrize("data_symbols", [DATA_SYMBOLS, ENROLLMENT_SYMBOLS])
def test_every_single_typo_and_every_swap_is_caught_by_the_new_check(data_symbols: int) -> None:
    # One random code suffices, the check being linear (test above); every position, every pair.
    base = crockford.encode(secrets.randbits(5 * data_symbols), data_symbols)
    assert substitution_gaps(crockford.check_character, base) == set()
    # Every swap of two different characters, neighbours or not (the check character included).
    for distance in range(1, data_symbols + 1):
        assert swap_gaps(crockford.check_character, base, distance) == set(), distance


def test_twin_errors_are_caught() -> None:
    """aa -> bb and aca -> bcb, at every position, for every pair."""
    code = crockford.new_code(80)
    for position in range(len(code) - 1):
        for a in A:
            for b in A:
                if a == b:
                    continue
                for step in (1, 2) if position + 2 < len(code) else (1,):  # aa -> bb, aca -> bcb
                    made = _code_with(crockford.check_character, code[:-1], {position: a, position + step: a})
                    assert made is not None
                    wrong = list(made)
                    wrong[position] = wrong[position + step] = b
                    assert not _valid(crockford.check_character, "".join(wrong))


def test_the_detectors_find_the_gaps_of_weaker_checks() -> None:
    """Positive controls: the same exhaustive search finds what other checks miss."""
    base = crockford.encode(secrets.randbits(80), DATA_SYMBOLS)
    # A plain sum catches single typos but no swap of two data characters at all.
    assert substitution_gaps(plain_sum_mod_32, base) == set()
    all_data_swaps = {(p, x, y) for p in range(15) for x in A for y in A if x != y}
    assert all_data_swaps <= swap_gaps(plain_sum_mod_32, base)
    # Luhn mod 32 misses exactly one pair: 0 and Z (values 0 and 31) swapped, at every position.
    assert substitution_gaps(luhn_mod_32, base) == set()
    assert swap_gaps(luhn_mod_32, base) == {(p, x, y) for p in range(16) for x, y in (("0", "Z"), ("Z", "0"))}
    # The old mod-37 check catches both kinds too, but only by using five symbols.
    assert substitution_gaps(legacy_mod_37, base, crockford.LEGACY_CHECK_ALPHABET) == set()
    assert swap_gaps(legacy_mod_37, base) == set()


@settings(max_examples=300, database=None, deadline=None)
@given(st.integers(min_value=0, max_value=2**80 - 1))
def test_new_codes_never_contain_a_symbol(value: int) -> None:
    data = crockford.encode(value, DATA_SYMBOLS)
    assert set(data + crockford.check_character(data)) <= set(A)


def test_issued_codes_are_letters_and_digits_while_old_ones_had_symbols() -> None:
    assert all(LETTERS_AND_DIGITS.fullmatch(CaseCode.new().display()) for _ in range(2000))
    assert all(set(crockford.new_code(ENROLLMENT_BITS)) <= set(A) for _ in range(2000))
    # Positive control: the old algorithm ended about 1 code in 7 with a symbol.
    old = [old_new_code(80) for _ in range(2000)]
    with_symbol = sum(code[-1] in crockford.LEGACY_SYMBOLS for code in old)
    assert 100 < with_symbol < 500, with_symbol
    assert [crockford.legacy_check_character(v) for v in range(32, 37)] == list("*~$=U")
    assert not LETTERS_AND_DIGITS.fullmatch(crockford.display(crockford.encode(32, 16) + "*"))


def test_typos_in_new_codes_are_always_reported_as_typos() -> None:
    """Through `CaseCode.parse`, where the old check is also accepted: what the student hears."""
    through_old_check = tried = 0
    for _ in range(100):
        code = CaseCode.new().display().replace("-", "")
        typos = [code[:p] + r + code[p + 1 :] for p in range(len(code)) for r in A if r != code[p]]
        typos += [code[:p] + code[p + 1] + code[p] + code[p + 2 :] for p in range(len(code) - 1)]
        for typo in typos:
            if typo == code:  # a swap of two equal characters changes nothing
                continue
            tried += 1
            try:
                parsed = CaseCode.parse(typo)
            except BadCheckCharacter:
                continue
            # Only the old check let it through: opening nothing, it is called a typo.
            assert parsed.old_check_only, typo
            assert isinstance(parsed.not_found(), BadCheckCharacter)
            through_old_check += 1
    # About 1 in 37 typos pass the old check by chance (measured, for the record).
    assert 0 < through_old_check < tried / 20, (through_old_check, tried)


def test_old_codes_parse_with_their_old_check() -> None:
    for _ in range(2000):
        old = old_new_code(80)
        parsed = CaseCode.parse(crockford.display(old).lower())
        assert parsed.data == old[:-1]
        # A symbol can only be an old check; a letter the new check accepts is unambiguous too.
        ambiguous = old[-1] in A and crockford.check_character(old[:-1]) != old[-1]
        assert parsed.old_check_only == ambiguous
    # A typo in an old code ending in a symbol is still caught (only the old check can apply).
    old = crockford.encode(32 * 1000, 16) + "*"
    assert crockford.legacy_check_character(crockford.decode(old[:-1])) == "*"
    assert CaseCode.parse(old).data == old[:-1]
    for position in range(16):
        for r in A:
            if r != old[position]:
                with pytest.raises(BadCheckCharacter):
                    CaseCode.parse(old[:position] + r + old[position + 1 :])


def test_malformed_codes() -> None:
    compact = CaseCode.new().display().replace("-", "")
    for bad in (
        "",
        "ABC",
        compact + "0",
        compact[:-2] + "U" + compact[-1],  # U is never a data symbol
        compact[:5] + "!" + compact[6:],
        compact[:-1] + "#",
    ):
        with pytest.raises(MalformedCode):
            CaseCode.parse(bad)


def test_codes_carry_enough_randomness() -> None:
    assert len({CaseCode.new().data for _ in range(2000)}) == 2000
    assert ENROLLMENT_BITS >= 60
    assert len(crockford.new_code(ENROLLMENT_BITS)) == 13


async def test_an_old_code_still_opens_its_case(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """A case's stored hash covers the data only: its code typed with the old check opens it.

    Reports are opened until one's old check is a symbol and one's is a letter
    only the old check accepts (1 in about 7 each; 60 tries miss with p < 1e-3).
    """
    world = await build_world(database, keys, policy, now)
    routes: set[str] = set()
    for attempt in range(60):
        opened = await open_report(database, keys, policy, now, world.north, f"Report {attempt}")
        typed = crockford.display(old_form(opened.code))
        async with database.transaction() as session:
            view = await reading.read_case_as_student(session, keys, typed)
        assert view.case_id == opened.case_id
        assert view.messages[0].body["text"] == f"Report {attempt}"
        if typed[-1] in crockford.LEGACY_SYMBOLS:
            routes.add("symbol")
        elif CaseCode.parse(typed).old_check_only:
            routes.add("letter, old check only")
        if len(routes) == 2:
            break
    assert routes == {"symbol", "letter, old check only"}


async def test_a_code_only_the_old_check_accepts_that_opens_nothing_is_a_typo(
    database: Database, keys: KeyRing
) -> None:
    def random_old_code(*, letter: bool) -> str:
        while True:
            old = old_new_code(80)
            if old[-1] in A and crockford.check_character(old[:-1]) != old[-1] and letter:
                return old
            if old[-1] in crockford.LEGACY_SYMBOLS and not letter:
                return old

    async with database.transaction() as session:
        with pytest.raises(BadCheckCharacter):
            await reading.read_case_as_student(session, keys, random_old_code(letter=True))
        # Controls: an old code ending in a symbol, or a new code, that opens nothing is "unknown".
        with pytest.raises(UnknownCaseCode):
            await reading.read_case_as_student(session, keys, random_old_code(letter=False))
        with pytest.raises(UnknownCaseCode):
            await reading.read_case_as_student(session, keys, CaseCode.new().display())


async def test_an_old_enrollment_code_still_enrolls(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    async with database.transaction() as session:
        first = await officers.create_officer(
            session, keys, display_name="Old", role=Role.SUPERVISOR, now=now
        )
        second = await officers.create_officer(
            session, keys, display_name="New", role=Role.SUPERVISOR, now=now
        )
        old_code = old_form(await officers.issue_enrollment_code(session, keys, first, now))
        new_code = await officers.issue_enrollment_code(session, keys, second, now)
    assert set(new_code.replace("-", "")) <= set(A)
    async with database.transaction() as session:
        assert (await officers.enroll(session, keys, policy, old_code.lower(), 7_000_001, now)).id == first
        assert (await officers.enroll(session, keys, policy, new_code, 7_000_002, now)).id == second
    async with database.transaction() as session:
        unknown = old_new_code(ENROLLMENT_BITS)
        while not (unknown[-1] in A and crockford.check_character(unknown[:-1]) != unknown[-1]):
            unknown = old_new_code(ENROLLMENT_BITS)
        with pytest.raises(BadCheckCharacter):  # only the old check accepts it, and it is unknown
            await officers.enroll(session, keys, policy, unknown, 7_000_003, now)


def test_master_key_from_environment_and_file(tmp_path: Path) -> None:
    key = MasterKey.generate()
    local = tmp_path / "local.key"
    from_env = load_master_key(
        Settings(sro_master_key=SecretStr(key.encoded()), database_url="postgresql://x/y"),
        local_key_file=local,
    )
    assert from_env.encoded() == key.encoded()
    path = tmp_path / "k"
    path.write_text(key.encoded() + "\n", encoding="ascii")
    path.chmod(0o600)
    from_file = load_master_key(
        Settings(sro_master_key_file=path, database_url="postgresql://x/y"), local_key_file=local
    )
    assert from_file.encoded() == key.encoded()
    assert from_file.source == KeySource("file", path)
    for bad in ("too-short", "!!!!"):
        with pytest.raises(MasterKeyError):
            load_master_key(Settings(sro_master_key=SecretStr(bad)), local_key_file=local)
    with pytest.raises(MasterKeyError, match="not both"):
        load_master_key(
            Settings(sro_master_key=SecretStr(key.encoded()), sro_master_key_file=path), local_key_file=local
        )
    with pytest.raises(MasterKeyError, match="does not exist"):
        load_master_key(Settings(sro_master_key_file=tmp_path / "missing"), local_key_file=local)
    assert not local.exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    path.write_text(MasterKey.generate().encoded() + "\n", encoding="ascii")
    path.chmod(0o600)
    settings = Settings(sro_master_key_file=path, database_url="postgresql://x/y")

    def load() -> MasterKey:
        return load_master_key(settings, local_key_file=tmp_path / "unused")

    assert load().encoded()  # positive control: private, it is accepted
    path.chmod(mode)
    with pytest.raises(MasterKeyError, match=f"chmod 600 {path}"):
        load()


def test_local_key_is_generated_for_sqlite_only(tmp_path: Path) -> None:
    local = tmp_path / "var" / "master.key"
    with pytest.raises(MasterKeyError, match="PostgreSQL"):
        load_master_key(Settings(database_url="postgresql://u@h/db"), local_key_file=local)
    assert not local.exists()
    first = load_master_key(Settings(database_url="sqlite:///x.db"), local_key_file=local)
    again = load_master_key(Settings(database_url="sqlite:///x.db"), local_key_file=local)
    assert first.encoded() == again.encoded()
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert stat.S_IMODE(local.parent.stat().st_mode) == 0o700
    assert list(local.parent.iterdir()) == [local]  # no temporary file left behind
