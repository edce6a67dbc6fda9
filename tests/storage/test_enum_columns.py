"""Domain columns are typed with their StrEnums, yet stored exactly as before: values in plain VARCHARs."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Enum, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError

from storage.db import Database
from storage.models import Base, CaseStatus, Delivery, DeliveryKind, DeliveryStatus
from storage.types import enum_values

POSTGRESQL, SQLITE = (
    make_url(url).get_dialect()() for url in ("postgresql+asyncpg://", "sqlite+aiosqlite://")
)
ENUM_COLUMNS = {
    ("alerts", "kind"),
    ("assignments", "kind"),
    ("case_messages", "direction"),
    ("case_recipients", "granted_by"),
    ("cases", "kind"),
    ("cases", "outcome"),
    ("cases", "status"),
    ("feedback_counts", "answer"),
    ("key_envelopes", "recipient_kind"),
    ("officers", "role"),
    ("outbox", "kind"),
    ("outbox", "status"),
    ("response_times", "measure"),
    ("web_accounts", "role"),
    ("web_login_failures", "scope"),
}


def _enum_columns() -> dict[tuple[str, str], Enum]:
    return {
        (table.name, column.name): column.type
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Enum)
    }


def test_enum_columns_are_plain_varchars_with_no_type_or_constraint_of_their_own() -> None:
    columns = _enum_columns()
    assert set(columns) == ENUM_COLUMNS  # the control: every domain column is checked, none forgotten
    for (table, name), kind in columns.items():
        assert not kind.native_enum, (table, name)
        assert not kind.create_constraint, (table, name)
        assert kind.length is not None
        for dialect in (POSTGRESQL, SQLITE):
            assert kind.compile(dialect=dialect) == f"VARCHAR({kind.length})", (table, name)
    # Control: SQLAlchemy's default Enum would be a type of its own on PostgreSQL.
    assert Enum(CaseStatus).compile(dialect=POSTGRESQL) == "casestatus"


def test_values_are_stored_not_names() -> None:
    assert enum_values(DeliveryKind, 24).enums[3] == "ack_notice"
    # Control: SQLAlchemy's default stores names, which the CHECK constraints would refuse.
    assert Enum(DeliveryKind, native_enum=False).enums[3] == "ACK_NOTICE"


def _delivery(kind: str, now: datetime) -> Delivery:
    return Delivery(kind=kind, status=DeliveryStatus.WAITING, next_attempt_at=now, created_at=now)


async def test_a_member_is_written_as_its_value_and_read_back_as_the_member(
    database: Database, now: datetime
) -> None:
    async with database.transaction() as session:
        session.add(_delivery(DeliveryKind.ACK_NOTICE, now))
    async with database.transaction() as session:
        raw = (await session.execute(text("SELECT kind, status FROM outbox"))).one()
        assert tuple(raw) == ("ack_notice", "waiting")
        assert type(raw.kind) is str
        row = await session.scalar(select(Delivery))
        assert row is not None
        assert row.kind is DeliveryKind.ACK_NOTICE
        assert row.status is DeliveryStatus.WAITING


async def test_a_string_that_is_no_value_is_refused_before_the_database(
    database: Database, now: datetime
) -> None:
    with pytest.raises(StatementError, match="not among the defined enum values"):
        async with database.transaction() as session:
            session.add(_delivery("ACK_NOTICE", now))  # a name, not a value
    async with database.transaction() as session:
        session.add(_delivery("ack_notice", now))  # control: the value itself, as a plain string, is taken
    async with database.transaction() as session:
        assert [d.kind for d in await session.scalars(select(Delivery))] == [DeliveryKind.ACK_NOTICE]
