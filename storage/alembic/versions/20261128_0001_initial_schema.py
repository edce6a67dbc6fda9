"""The initial case store.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Written against plain SQLAlchemy types (not the application's models), so
this revision keeps meaning the same schema whatever the models become.
Timestamps are `timestamptz` on PostgreSQL; SQLite stores UTC text and the
application's `UTCDateTime` type reads it back aware.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer()),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("board", sa.String(100)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schools"),
        sa.UniqueConstraint("code", name="uq_schools_code"),
    )
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer()),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger()),
        sa.Column("enrolled_at", TIMESTAMP),
        sa.Column("unreachable_at", TIMESTAMP),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_officers"),
        sa.UniqueConstraint("telegram_chat_id", name="uq_officers_telegram_chat_id"),
        sa.CheckConstraint(_in("role", "officer", "supervisor"), name="ck_officers_role"),
    )
    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.Integer()),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_enrollment_codes"),
        sa.UniqueConstraint("code_hash", name="uq_enrollment_codes_code_hash"),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            ondelete="CASCADE",
            name="fk_enrollment_codes_officer_id_officers",
        ),
    )
    op.create_index("ix_enrollment_codes_officer_id", "enrollment_codes", ["officer_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer()),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.CheckConstraint(_in("kind", "primary", "backup"), name="ck_assignments_kind"),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], ondelete="CASCADE", name="fk_assignments_officer_id_officers"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], ondelete="CASCADE", name="fk_assignments_school_id_schools"
        ),
    )
    op.create_index("ix_assignments_officer_id", "assignments", ["officer_id"])
    op.create_index("ix_assignments_school_id", "assignments", ["school_id"])

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer()),
        sa.Column("school_id", sa.Integer()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP),
        sa.Column("acknowledged_by", sa.Integer()),
        sa.Column("first_reply_at", TIMESTAMP),
        sa.Column("closed_at", TIMESTAMP),
        sa.Column("code_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("student_key_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("student_public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("notify_address_sealed", sa.LargeBinary(64)),
        sa.Column("retain_until", TIMESTAMP),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", TIMESTAMP),
        sa.Column("reminded_at", TIMESTAMP),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("code_hash", name="uq_cases_code_hash"),
        sa.CheckConstraint(_in("kind", "report", "question"), name="ck_cases_kind"),
        sa.CheckConstraint(
            _in("status", "new", "acknowledged", "in_progress", "closed"), name="ck_cases_status"
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR " + _in("outcome", "resolved", "referred", "unfounded", "duplicate", "other"),
            name="ck_cases_outcome",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], ondelete="RESTRICT", name="fk_cases_school_id_schools"
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["officers.id"],
            ondelete="SET NULL",
            name="fk_cases_acknowledged_by_officers",
        ),
    )
    op.create_index("ix_cases_school_id", "cases", ["school_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_retain_until", "cases", ["retain_until"])
    op.create_index("ix_cases_next_escalation_at", "cases", ["next_escalation_at"])

    op.create_table(
        "case_recipients",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", TIMESTAMP, nullable=False),
        sa.Column("granted_by", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "officer_id", name="pk_case_recipients"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], ondelete="CASCADE", name="fk_case_recipients_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], ondelete="CASCADE", name="fk_case_recipients_officer_id_officers"
        ),
    )
    op.create_index("ix_case_recipients_officer_id", "case_recipients", ["officer_id"])

    op.create_table(
        "case_messages",
        sa.Column("id", sa.Integer()),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("author_officer_id", sa.Integer()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_messages"),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_messages_case_id_seq"),
        sa.CheckConstraint(
            _in("direction", "student", "officer", "system"), name="ck_case_messages_direction"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], ondelete="CASCADE", name="fk_case_messages_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["author_officer_id"],
            ["officers.id"],
            ondelete="SET NULL",
            name="fk_case_messages_author_officer_id_officers",
        ),
    )
    op.create_table(
        "key_envelopes",
        sa.Column("id", sa.Integer()),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("recipient_kind", sa.String(16), nullable=False),
        sa.Column("officer_id", sa.Integer()),
        sa.Column("ephemeral_public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(48), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_key_envelopes"),
        sa.UniqueConstraint("message_id", "officer_id", name="uq_key_envelopes_message_id_officer_id"),
        sa.CheckConstraint(
            _in("recipient_kind", "student", "officer"), name="ck_key_envelopes_recipient_kind"
        ),
        sa.CheckConstraint(
            "(recipient_kind = 'student' AND officer_id IS NULL)"
            " OR (recipient_kind = 'officer' AND officer_id IS NOT NULL)",
            name="ck_key_envelopes_recipient",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["case_messages.id"],
            ondelete="CASCADE",
            name="fk_key_envelopes_message_id_case_messages",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], ondelete="CASCADE", name="fk_key_envelopes_officer_id_officers"
        ),
    )
    op.create_index("ix_key_envelopes_message_id", "key_envelopes", ["message_id"])
    op.create_index("ix_key_envelopes_officer_id", "key_envelopes", ["officer_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer()),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("case_id", sa.Integer()),
        sa.Column("message_id", sa.Integer()),
        sa.Column("officer_id", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP),
        sa.Column("telegram_message_id", sa.BigInteger()),
        sa.Column("last_error", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.CheckConstraint(
            _in("kind", "tip", "escalation", "reminder", "ack_notice", "student_reply", "notify_student"),
            name="ck_outbox_kind",
        ),
        sa.CheckConstraint(
            _in("status", "pending", "sending", "sent", "failed", "waiting"), name="ck_outbox_status"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], ondelete="CASCADE", name="fk_outbox_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["case_messages.id"],
            ondelete="CASCADE",
            name="fk_outbox_message_id_case_messages",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], ondelete="CASCADE", name="fk_outbox_officer_id_officers"
        ),
    )
    op.create_index("ix_outbox_case_id", "outbox", ["case_id"])
    op.create_index("ix_outbox_officer_id", "outbox", ["officer_id"])
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])

    op.create_table(
        "drafts",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_drafts"),
    )
    op.create_index("ix_drafts_expires_at", "drafts", ["expires_at"])
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("window_start", TIMESTAMP, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("blocked_until", TIMESTAMP),
        sa.PrimaryKeyConstraint("key", "bucket", name="pk_rate_limits"),
    )

    op.create_table(
        "intent_stats",
        sa.Column("id", sa.Integer()),
        sa.Column("school_id", sa.Integer()),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_intent_stats"),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], ondelete="RESTRICT", name="fk_intent_stats_school_id_schools"
        ),
    )
    op.create_index("ix_intent_stats_day", "intent_stats", ["day"])
    # A NULL school ("none chosen yet") must collide with itself: a plain UNIQUE would not.
    op.create_index(
        "uq_intent_stats_cell",
        "intent_stats",
        [sa.text("coalesce(school_id, 0)"), "intent", "day", "urgent"],
        unique=True,
    )
    op.create_table(
        "response_times",
        sa.Column("id", sa.Integer()),
        sa.Column("school_id", sa.Integer()),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_response_times"),
        sa.CheckConstraint(
            _in("measure", "acknowledgement", "first_reply"), name="ck_response_times_measure"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], ondelete="RESTRICT", name="fk_response_times_school_id_schools"
        ),
    )
    op.create_index("ix_response_times_day", "response_times", ["day"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer()),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("case_id", sa.Integer()),
        sa.Column("detail", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_case_id", "audit_events", ["case_id"])
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_keys"),
    )


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "server_keys",
        "audit_events",
        "response_times",
        "intent_stats",
        "rate_limits",
        "drafts",
        "outbox",
        "key_envelopes",
        "case_messages",
        "case_recipients",
        "cases",
        "assignments",
        "enrollment_codes",
        "officers",
        "schools",
    ):
        op.drop_table(table)
