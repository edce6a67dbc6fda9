"""Accountable audit rows and per-school case references (issue 8, items 5-7).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Written against plain SQLAlchemy types, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _upgrade_case_references()
    _upgrade_audit_and_pseudonymous_rows()


def downgrade() -> None:
    _downgrade_audit_and_pseudonymous_rows()
    _downgrade_case_references()


# --- case references per school (issue 8, item 7) ----------------------------------------------
# Owned by the "what officers see" change. Each case gets `reference_prefix` (its school's code, or
# NO_SCHOOL_PREFIX for an urgent report sent before a school was chosen) and `reference_number`
# (that prefix's own sequence). Existing cases are numbered per prefix in id order, and the
# counters start after the highest number given, so no reference is ever given twice.

NO_SCHOOL_PREFIX = "U"  # one letter: no school code can be it (codes are 2-16 letters or digits)


def _upgrade_case_references() -> None:
    op.create_table(
        "case_reference_counters",
        sa.Column("prefix", sa.String(16)),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name="pk_case_reference_counters"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reference_prefix", sa.String(16)))
        batch.add_column(sa.Column("reference_number", sa.Integer()))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT cases.id, schools.code FROM cases LEFT JOIN schools ON schools.id = cases.school_id"
            " ORDER BY cases.id"
        )
    ).all()
    last: dict[str, int] = {}
    for case_id, school_code in rows:
        prefix = school_code or NO_SCHOOL_PREFIX
        last[prefix] = last.get(prefix, 0) + 1
        connection.execute(
            sa.text("UPDATE cases SET reference_prefix = :prefix, reference_number = :number WHERE id = :id"),
            {"prefix": prefix, "number": last[prefix], "id": case_id},
        )
    for prefix, number in last.items():
        connection.execute(
            sa.text("INSERT INTO case_reference_counters (prefix, last_number) VALUES (:prefix, :number)"),
            {"prefix": prefix, "number": number},
        )
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("reference_prefix", existing_type=sa.String(16), nullable=False)
        batch.alter_column("reference_number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            "uq_cases_reference_prefix_reference_number", ["reference_prefix", "reference_number"]
        )


def _downgrade_case_references() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("uq_cases_reference_prefix_reference_number", type_="unique")
        batch.drop_column("reference_number")
        batch.drop_column("reference_prefix")
    op.drop_table("case_reference_counters")


# --- end of case references -----------------------------------------------------------------------


# --- audit rows and pseudonymous rows (issue 8, items 5 and 6) -----------------------------------
# Owned by the "audit trail / forgetting and linking" change.
# - audit_events.case_id becomes a foreign key to cases ON DELETE CASCADE: a case's audit rows go
#   with it. Rows of cases purged before this revision (the old 'case.purged' rows kept the id)
#   are deleted first and leave one count-only 'cases.purged' row per purge moment.
# - rate_limits keeps no plain time finer than a quarter hour: the window, count, strikes and
#   block are sealed (nonce, ciphertext) and only a coarse `expires_at` stays in the clear for the
#   purge. Rate limits are disposable, so the table is simply made again (its rows are dropped).
# - On SQLite, drafts and rate_limits are WITHOUT ROWID tables: stored in key order, not write order.

_TIMESTAMP = sa.DateTime(timezone=True)


def _upgrade_audit_and_pseudonymous_rows() -> None:
    connection = op.get_bind()
    orphans = connection.execute(
        sa.text(
            "SELECT at, count(*) FROM audit_events WHERE case_id IS NOT NULL"
            " AND case_id NOT IN (SELECT id FROM cases) AND action = 'case.purged' GROUP BY at"
        )
    ).all()
    connection.execute(
        sa.text(
            "DELETE FROM audit_events WHERE case_id IS NOT NULL AND case_id NOT IN (SELECT id FROM cases)"
        )
    )
    for at, count in orphans:
        connection.execute(
            sa.text(
                "INSERT INTO audit_events (at, actor, action, case_id, detail)"
                " VALUES (:at, 'system', 'cases.purged', NULL, :detail)"
            ),
            {"at": at, "detail": f"count {count}"},
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.create_foreign_key(
            "fk_audit_events_case_id_cases", "cases", ["case_id"], ["id"], ondelete="CASCADE"
        )
    op.drop_table("rate_limits")
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", "bucket", name="pk_rate_limits"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_rate_limits_expires_at", "rate_limits", ["expires_at"])
    _rebuild_drafts_on_sqlite(key_ordered=True)


def _rebuild_drafts_on_sqlite(*, key_ordered: bool) -> None:
    """SQLite: drafts kept in key order (WITHOUT ROWID), so row order says nothing of write order.

    PostgreSQL has no such table kind; its purge job rewrites the heap in key order instead.
    """
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_drafts_expires_at", table_name="drafts")
    op.rename_table("drafts", "drafts_before_0005")
    op.create_table(
        "drafts",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.Column("expires_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_drafts"),
        sqlite_with_rowid=not key_ordered,
    )
    op.execute(
        "INSERT INTO drafts (pseudonym, nonce, ciphertext, updated_at, expires_at)"
        " SELECT pseudonym, nonce, ciphertext, updated_at, expires_at FROM drafts_before_0005"
    )
    op.drop_table("drafts_before_0005")
    op.create_index("ix_drafts_expires_at", "drafts", ["expires_at"])


def _downgrade_audit_and_pseudonymous_rows() -> None:
    _rebuild_drafts_on_sqlite(key_ordered=False)
    op.drop_table("rate_limits")
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("window_start", _TIMESTAMP, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("blocked_until", _TIMESTAMP),
        sa.PrimaryKeyConstraint("key", "bucket", name="pk_rate_limits"),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint("fk_audit_events_case_id_cases", type_="foreignkey")


# --- end of audit rows and pseudonymous rows ------------------------------------------------------
