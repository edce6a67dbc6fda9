"""A small program to test with: two schools, their officers (enrolled), a supervisor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casework import officers, schools
from casework.cases import intake
from casework.cases.intake import OpenedCase
from casework.policy import CasePolicy
from casework.schools import NewSchool
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import AssignmentKind, CaseKind, Direction, Role


@dataclass
class World:
    north: int  # school ids
    south: int
    north_officer: int  # officer ids
    north_backup: int
    south_officer: int
    supervisor: int


async def build_world(
    db: Database, keys: KeyRing, policy: CasePolicy, now: datetime, *, enroll: bool = True
) -> World:
    async with db.transaction() as session:
        north = await schools.add_school(session, NewSchool.checked("North Collegiate", "NTH"), now)
        south = await schools.add_school(session, NewSchool.checked("South Secondary", "STH"), now)
        ids = {}
        for name, role, school, kind in (
            ("north_officer", Role.OFFICER, "NTH", AssignmentKind.PRIMARY),
            ("north_backup", Role.OFFICER, "NTH", AssignmentKind.BACKUP),
            ("south_officer", Role.OFFICER, "STH", AssignmentKind.PRIMARY),
            ("supervisor", Role.SUPERVISOR, None, None),
        ):
            ids[name] = await officers.create_officer(session, keys, display_name=name, role=role, now=now)
            if school is not None:
                await officers.assign(
                    session, keys, ids[name], school, kind=kind or AssignmentKind.PRIMARY, now=now
                )
        codes = {name: await officers.issue_enrollment_code(session, keys, i, now) for name, i in ids.items()}
    if enroll:
        for chat, name in enumerate(ids, start=9_000_001):
            async with db.transaction() as session:
                await officers.enroll(session, keys, policy, codes[name], chat, now)
    return World(north.id, south.id, **ids)


async def open_report(
    db: Database,
    keys: KeyRing,
    policy: CasePolicy,
    now: datetime,
    school_id: int | None,
    text: str,
    *,
    urgent: bool = False,
    notify_chat_id: int | None = None,
) -> OpenedCase:
    async with db.transaction() as session:
        return await intake.open_case(
            session,
            keys,
            policy,
            school_id=school_id,
            kind=CaseKind.REPORT,
            intent="report_weapon" if urgent else "report_bullying",
            urgent=urgent,
            body={"text": text, "where": "the east stairwell"},
            notify_chat_id=notify_chat_id,
            now=now,
        )


async def officer_reply(
    db: Database, keys: KeyRing, policy: CasePolicy, now: datetime, case_id: int, officer_id: int, text: str
) -> None:
    """An officer's answer added to a case, in its own transaction."""
    async with db.transaction() as session:
        await intake.add_message(
            session, keys, policy, case_id, direction=Direction.OFFICER, body={"text": text}, now=now,
            author_officer_id=officer_id,
        )  # fmt: skip
