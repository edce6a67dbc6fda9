"""Case and enrollment codes, and the master key's sources. No database needed."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import Settings
from casework import crockford
from casework.case_codes import CaseCode
from casework.errors import BadCheckCharacter, MalformedCode, MasterKeyError
from casework.keys import KeySource, MasterKey, load_master_key
from casework.officers import ENROLLMENT_BITS


def test_case_code_shape_and_forgiving_input() -> None:
    code = CaseCode.new()
    shown = code.display()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z*~$=U]", shown)
    compact = shown.replace("-", "")
    for typed in (
        shown,
        compact,
        shown.lower(),
        " ".join(compact),
        compact.replace("0", "o").replace("1", "I"),
    ):
        assert CaseCode.parse(typed) == code
    assert "hidden" in repr(code)
    assert code.data not in repr(code)


def test_every_single_character_typo_is_caught() -> None:
    compact = CaseCode.new().display().replace("-", "")
    for position in range(len(compact)):
        for replacement in crockford.ALPHABET:
            if replacement == compact[position]:
                continue
            typo = compact[:position] + replacement + compact[position + 1 :]
            with pytest.raises((BadCheckCharacter, MalformedCode)):
                CaseCode.parse(typo)


def test_malformed_codes() -> None:
    compact = CaseCode.new().display().replace("-", "")
    for bad in ("", "ABC", compact + "0", compact[:-2] + "U" + compact[-1], compact[:5] + "!" + compact[6:]):
        with pytest.raises(MalformedCode):
            CaseCode.parse(bad)


def test_codes_carry_enough_randomness() -> None:
    assert len({CaseCode.new().data for _ in range(2000)}) == 2000
    assert ENROLLMENT_BITS >= 60
    assert len(crockford.new_code(ENROLLMENT_BITS)) == 13


def test_master_key_from_environment_and_file(tmp_path: Path) -> None:
    key = MasterKey.generate()
    from_env = load_master_key(
        Settings(sro_master_key=SecretStr(key.encoded()), database_url="postgresql://x/y")
    )
    assert from_env.encoded() == key.encoded()
    path = tmp_path / "k"
    path.write_text(key.encoded() + "\n", encoding="ascii")
    path.chmod(0o600)
    from_file = load_master_key(Settings(sro_master_key_file=path, database_url="postgresql://x/y"))
    assert from_file.encoded() == key.encoded()
    assert from_file.source == KeySource("file", path)
    for bad in ("too-short", "!!!!"):
        with pytest.raises(MasterKeyError):
            load_master_key(Settings(sro_master_key=SecretStr(bad)))
    with pytest.raises(MasterKeyError, match="not both"):
        load_master_key(Settings(sro_master_key=SecretStr(key.encoded()), sro_master_key_file=path))
    with pytest.raises(MasterKeyError, match="does not exist"):
        load_master_key(Settings(sro_master_key_file=tmp_path / "missing"))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    path.write_text(MasterKey.generate().encoded() + "\n", encoding="ascii")
    path.chmod(0o600)
    settings = Settings(sro_master_key_file=path, database_url="postgresql://x/y")
    assert load_master_key(settings).encoded()  # positive control: private, it is accepted
    path.chmod(mode)
    with pytest.raises(MasterKeyError, match=f"chmod 600 {path}"):
        load_master_key(settings)


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
