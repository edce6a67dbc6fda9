"""Officers: invitation (a key pair and a one-time code), enrollment by Telegram, assignments.

An officer's X25519 key pair is made at invitation, before they enroll, so
cases can be sealed for them at once; the private half is sealed with the
master key. An enrollment code has 60 random bits plus a check character
(see `crockford`), is stored only as a keyed hash of its data symbols (so
one issued with the old mod-37 check still works), expires after 72 hours,
and issuing a new one revokes the officer's unused ones (a lost phone, a
new phone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casework import audit, crockford
from casework.delivery import alerts, routing
from casework.errors import (
    BadCheckCharacter,
    ChatAlreadyEnrolled,
    EnrollmentCodeExpired,
    EnrollmentCodeRejected,
    InactiveOfficer,
    InvalidOfficerData,
    UnknownOfficer,
)
from casework.policy import CasePolicy
from casework.schools import find_school
from casework.vault import access, crypto, directory_auth
from casework.vault.keys import KeyRing, bound_or_none
from storage.models import (
    AlertKind,
    Assignment,
    AssignmentKind,
    Case,
    CaseStatus,
    EnrollmentCode,
    Officer,
    OfficerLanguage,
    Role,
    School,
)

ENROLLMENT_BITS = 60
ENROLLMENT_SYMBOLS = ENROLLMENT_BITS // 5
ENROLLMENT_TTL = timedelta(hours=72)
_ENROLLMENT_DOMAIN = b"sro-connect enrollment:"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class OfficerInfo:
    id: int
    display_name: str
    role: Role
    active: bool
    enrolled: bool
    unreachable: bool
    assignments: tuple[tuple[str, AssignmentKind], ...]  # (school code, kind)
    authentic: bool | None = None  # False: fails its MAC (written without the master key); None: not checked
    forged_assignments: tuple[tuple[str, AssignmentKind], ...] = ()  # current assignments that fail their MAC


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 120 or _CONTROL.search(cleaned):
        raise InvalidOfficerData("an officer's name is 1 to 120 printable characters")
    return cleaned


async def _get(session: AsyncSession, officer_id: int) -> Officer:
    officer = await session.get(Officer, officer_id)
    if officer is None:
        raise UnknownOfficer(f"no officer {officer_id}")
    return officer


async def create_officer(
    session: AsyncSession, keys: KeyRing, *, display_name: str, role: Role, now: datetime
) -> int:
    """A new officer with a fresh key pair (private half sealed with the master key)."""
    private_key = crypto.new_private_key()
    officer = Officer(
        display_name=_clean_name(display_name),
        role=role,
        active=True,
        public_key=crypto.public_bytes(private_key),
        sealed_private_key=b"",  # sealed below, once the row has the id the seal is bound to
        created_at=now,
    )
    session.add(officer)
    await session.flush()
    officer.sealed_private_key = keys.seal_officer_key(officer.id, private_key)
    directory_auth.sign(session, officer)
    await audit.record_event(
        session,
        actor="admin",
        action="officer.created",
        now=now,
        detail=f"officer {officer.id} ({role.value})",
    )
    return officer.id


def _code_hash(keys: KeyRing, data: str) -> bytes:
    return crypto.keyed_hash(keys.enrollment_key, _ENROLLMENT_DOMAIN, data.encode("ascii"))


async def issue_enrollment_code(session: AsyncSession, keys: KeyRing, officer_id: int, now: datetime) -> str:
    """A one-time code (grouped for reading), valid 72 hours; the officer's unused codes are revoked."""
    officer = await _get(session, officer_id)
    if not officer.active:
        raise InactiveOfficer(f"officer {officer_id} is deactivated")
    await session.execute(
        delete(EnrollmentCode).where(
            EnrollmentCode.officer_id == officer_id, EnrollmentCode.used_at.is_(None)
        )
    )
    code = crockford.new_code(ENROLLMENT_BITS)
    session.add(
        EnrollmentCode(
            officer_id=officer_id,
            code_hash=_code_hash(keys, code[:-1]),
            created_at=now,
            expires_at=now + ENROLLMENT_TTL,
        )
    )
    await audit.record_event(
        session, actor="admin", action="officer.invited", now=now, detail=f"officer {officer_id}"
    )
    return crockford.display(code)


async def enroll(
    session: AsyncSession, keys: KeyRing, policy: CasePolicy, code_text: str, chat_id: int, now: datetime
) -> Officer:
    """Bind an officer to the Telegram chat that sent a valid code; hands over waiting tips.

    Raises `MalformedCode`/`BadCheckCharacter` (a typo), `EnrollmentCodeRejected`
    (unknown, used or replaced), `EnrollmentCodeExpired`, `ChatAlreadyEnrolled`.
    """
    parsed = crockford.parse(code_text, ENROLLMENT_SYMBOLS)
    found = await session.scalar(
        select(EnrollmentCode)
        .where(EnrollmentCode.code_hash == _code_hash(keys, parsed.data))
        .with_for_update()
    )
    if found is None and parsed.old_check_only:
        # Only the old mod-37 check let it through and it opens nothing: far more
        # likely a typo of a new code than an old code (see crockford.ParsedCode).
        raise BadCheckCharacter("the code has a typo: its check character does not match")
    if found is None or found.used_at is not None:
        raise EnrollmentCodeRejected(
            "this enrollment code is unknown, already used, or was replaced by a newer one"
        )
    if found.expires_at <= now:
        raise EnrollmentCodeExpired(
            "this enrollment code has expired: ask the program coordinator for a new one"
        )
    officer = await _get(session, found.officer_id)
    if not officer.active:
        raise InactiveOfficer(f"officer {officer.id} is deactivated")
    if not await directory_auth.officer_ok(session, officer, now):
        # Signing it now would launder whatever a database writer changed (a public key).
        raise EnrollmentCodeRejected("this officer's record failed its authentication")
    holder = await session.scalar(
        select(Officer.id).where(Officer.telegram_chat_id == chat_id, Officer.id != officer.id)
    )
    if holder is not None:
        raise ChatAlreadyEnrolled(f"this Telegram account is already enrolled as officer {holder}")
    # One-time even under concurrency: only one UPDATE finds used_at still NULL.
    claimed = await session.execute(
        update(EnrollmentCode)
        .where(EnrollmentCode.id == found.id, EnrollmentCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrollmentCodeRejected("this enrollment code was just used")
    officer.telegram_chat_id, officer.enrolled_at, officer.unreachable_at = chat_id, now, None
    directory_auth.sign(session, officer)
    await session.flush()
    await audit.record_event(
        session, actor=audit.officer_actor(officer.id), action="officer.enrolled", now=now
    )
    await routing.release_waiting(session, policy, now)
    return officer


async def enrolled_chat(session: AsyncSession, chat_id: int) -> bool:
    """Whether an active officer's record names this chat (not verified: `officer_for_chat` does that)."""
    found = await session.scalar(
        select(Officer.id).where(Officer.telegram_chat_id == chat_id, Officer.active).limit(1)
    )
    return found is not None


async def enrolled_chats(session: AsyncSession, chat_ids: Iterable[int]) -> set[int]:
    """Which of these chats an active officer's record names, in one query (not verified, as above)."""
    wanted = sorted(set(chat_ids))
    if not wanted:
        return set()
    found = await session.scalars(
        select(Officer.telegram_chat_id).where(Officer.telegram_chat_id.in_(wanted), Officer.active)
    )
    return {chat_id for chat_id in found if chat_id is not None}


async def officer_for_chat(session: AsyncSession, chat_id: int) -> Officer | None:
    """The active officer enrolled from this chat, if any and if the record verifies ("is this staff?")."""
    officer = await session.scalar(select(Officer).where(Officer.telegram_chat_id == chat_id, Officer.active))
    if officer is None or not await directory_auth.officer_ok(session, officer):
        return None
    return officer


async def chat_of(session: AsyncSession, officer_id: int) -> int | None:
    """The chat to deliver to: None unless the officer is active, enrolled, reachable and verified.

    Checked before every send: a record whose chat id a database writer
    swapped fails its MAC here, receives nothing and raises an alert.
    """
    officer = await session.get(Officer, officer_id)
    if officer is None or not officer.active or officer.unreachable_at is not None:
        return None
    if not await directory_auth.officer_ok(session, officer):
        return None
    return officer.telegram_chat_id


async def display_name(session: AsyncSession, officer_id: int | None) -> str | None:
    """The officer's name, if their record verifies (a writer must not rename who acknowledged)."""
    if officer_id is None:
        return None
    officer = await session.get(Officer, officer_id)
    if officer is None or not await directory_auth.officer_ok(session, officer):
        return None
    return officer.display_name


async def display_names(session: AsyncSession, officer_ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the officers whose records verify; the others are left out."""
    wanted = sorted({i for i in officer_ids if i is not None})
    if not wanted:
        return {}
    rows = await session.scalars(select(Officer).where(Officer.id.in_(wanted)))
    return {o.id: o.display_name for o in await directory_auth.verified_officers(session, list(rows.all()))}


async def mark_unreachable(session: AsyncSession, officer_id: int, now: datetime) -> None:
    """Telegram answered 403: stop routing to this officer until they enroll again."""
    officer = await _get(session, officer_id)
    officer.unreachable_at = now
    await audit.record_event(
        session, actor="system", action="officer.unreachable", now=now, detail=f"officer {officer_id}"
    )


async def deactivate_officer(session: AsyncSession, officer_id: int, now: datetime) -> int:
    """End the officer's assignments, forget their chat, revoke their access; returns cases revoked."""
    officer = await _get(session, officer_id)
    officer.active, officer.telegram_chat_id = False, None
    directory_auth.sign(session, officer)
    current = await session.scalars(
        select(Assignment).where(Assignment.officer_id == officer_id, Assignment.ends_at.is_(None))
    )
    for assignment in current:
        assignment.ends_at = now
        directory_auth.sign(session, assignment)
    await session.execute(
        delete(EnrollmentCode).where(
            EnrollmentCode.officer_id == officer_id, EnrollmentCode.used_at.is_(None)
        )
    )
    case_ids = await session.scalars(select(Case.id))
    revoked = await access.revoke_access(session, case_ids.all(), officer_id, actor="admin", now=now)
    await audit.record_event(
        session, actor="admin", action="officer.deactivated", now=now, detail=f"officer {officer_id}"
    )
    return revoked


async def assign(
    session: AsyncSession,
    keys: KeyRing,
    officer_id: int,
    school_code: str,
    *,
    kind: AssignmentKind,
    now: datetime,
    with_history: bool = False,
) -> int:
    """Assign (or re-assign as another kind) an officer to a school; returns how many cases were re-sealed.

    Without `with_history` the officer sees only cases opened from now on.
    """
    officer = await _get(session, officer_id)
    if not officer.active:
        raise InactiveOfficer(f"officer {officer_id} is deactivated")
    school = await find_school(session, school_code)
    if not await directory_auth.officer_ok(session, officer, now):
        raise InvalidOfficerData(f"officer {officer_id}'s record failed its authentication")
    await _end_assignment(session, officer_id, school, now)
    assignment = Assignment(officer_id=officer_id, school_id=school.id, kind=kind, starts_at=now)
    session.add(assignment)
    await session.flush()
    directory_auth.sign(session, assignment)
    await audit.record_event(
        session,
        actor="admin",
        action="officer.assigned",
        now=now,
        detail=f"officer {officer_id} to {school.code} ({kind.value})",
    )
    if not with_history:
        return 0
    open_cases = await session.scalars(
        select(Case.id).where(Case.school_id == school.id, Case.status != CaseStatus.CLOSED).order_by(Case.id)
    )
    resealed = 0
    for case_id in open_cases.all():
        resealed += await access.grant_access(session, keys, case_id, officer_id, actor="admin", now=now)
    if resealed:
        # Adding a reader is the operator's most sensitive act: audited per case, and announced.
        await alerts.raise_alert(session, AlertKind.READER_ADDED, now, officer_id=officer_id)
    return resealed


async def unassign(session: AsyncSession, officer_id: int, school_code: str, now: datetime) -> int:
    """End an assignment and revoke access to that school's cases (a supervisor keeps theirs)."""
    officer = await _get(session, officer_id)
    school = await find_school(session, school_code)
    if not await _end_assignment(session, officer_id, school, now):
        raise InvalidOfficerData(f"officer {officer_id} is not assigned to {school.code}")
    await audit.record_event(
        session,
        actor="admin",
        action="officer.unassigned",
        now=now,
        detail=f"officer {officer_id} from {school.code}",
    )
    if officer.role == Role.SUPERVISOR:
        return 0
    case_ids = await session.scalars(select(Case.id).where(Case.school_id == school.id))
    return await access.revoke_access(session, case_ids.all(), officer_id, actor="admin", now=now)


# Languages an officer can be named as reading besides English (tips in them prefer these officers).
READABLE_LANGUAGES = ("fr",)


async def set_reads(
    session: AsyncSession, officer_id: int, language: str, *, reads: bool, now: datetime
) -> None:
    """Name an officer as reading `language` (or no longer): French tips prefer its readers (routing)."""
    await _get(session, officer_id)
    if language not in READABLE_LANGUAGES:
        raise InvalidOfficerData(f"officers can be named as reading {', '.join(READABLE_LANGUAGES)} only")
    row = await session.get(OfficerLanguage, (officer_id, language))
    if reads and row is None:
        session.add(OfficerLanguage(officer_id=officer_id, language=language))
    elif not reads and row is not None:
        await session.delete(row)
    else:
        return
    action = "officer.reads_language" if reads else "officer.reads_language_no_more"
    await audit.record_event(
        session, actor="admin", action=action, now=now, detail=f"officer {officer_id}: {language}"
    )


async def languages_read(session: AsyncSession) -> dict[int, tuple[str, ...]]:
    """Each officer's languages besides English, for `sro officer list` (officers with none are absent)."""
    found: dict[int, list[str]] = {}
    rows = await session.execute(
        select(OfficerLanguage.officer_id, OfficerLanguage.language).order_by(
            OfficerLanguage.officer_id, OfficerLanguage.language
        )
    )
    for officer_id, language in rows.all():
        found.setdefault(officer_id, []).append(language)
    return {officer_id: tuple(languages) for officer_id, languages in found.items()}


async def _end_assignment(session: AsyncSession, officer_id: int, school: School, now: datetime) -> bool:
    ended = list(
        await session.scalars(
            select(Assignment).where(
                Assignment.officer_id == officer_id,
                Assignment.school_id == school.id,
                Assignment.ends_at.is_(None),
            )
        )
    )
    for assignment in ended:
        assignment.ends_at = now
        directory_auth.sign(session, assignment)
    return bool(ended)


async def list_officers(session: AsyncSession, now: datetime) -> list[OfficerInfo]:
    """Every officer, with their current assignments; records and assignments that fail their MAC
    are flagged (never hidden: whoever reviews the directory must see what a writer planted).

    Checked only when keys are loaded for this database (`sro officer list` loads them); a caller
    that only wants names (`sro audit`) gets `authentic` None and every assignment as stored.
    """
    checking = bound_or_none(session) is not None
    officers = list(await session.scalars(select(Officer).order_by(Officer.id)))
    rows = await session.execute(
        select(Assignment, School.code)
        .join(School, School.id == Assignment.school_id)
        .where(Assignment.starts_at <= now, or_(Assignment.ends_at.is_(None), Assignment.ends_at > now))
        .order_by(School.code)
    )
    assigned: dict[int, list[tuple[str, AssignmentKind]]] = {}
    forged: dict[int, list[tuple[str, AssignmentKind]]] = {}
    for assignment, code in rows.all():
        genuine = not checking or await directory_auth.verify(session, assignment, now)
        (assigned if genuine else forged).setdefault(assignment.officer_id, []).append(
            (code, assignment.kind)
        )
    authentic = {o.id: await directory_auth.verify(session, o, now) if checking else None for o in officers}
    return [
        OfficerInfo(
            o.id,
            o.display_name,
            o.role,
            o.active,
            o.enrolled_at is not None and o.telegram_chat_id is not None,
            o.unreachable_at is not None,
            tuple(assigned.get(o.id, ())),
            authentic[o.id],
            tuple(forged.get(o.id, ())),
        )
        for o in officers
    ]
