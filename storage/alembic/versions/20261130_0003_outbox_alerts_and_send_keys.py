"""Delivery that content cannot break: alerts, urgent-first outbox, idempotent send (issue 8, item 2).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Alerts (no content), the outbox's priority, alert link and new kind 'alert',
the parts of a delivery split over several Telegram messages, and on cases
the hashed send key (unique) and the "nobody reached" flag. Written against
plain SQLAlchemy types, like 0001; batch mode so SQLite can alter tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
OLD_KINDS = ("tip", "escalation", "reminder", "ack_notice", "student_reply", "notify_student")
NEW_KINDS = (*OLD_KINDS, "alert")
ALERT_KINDS = (
    "rendering_failed",
    "tampered_message",
    "directory_forged",
    "nobody_reachable",
    "alert_failed",
    "reader_added",
)


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer()),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("case_id", sa.Integer()),
        sa.Column("officer_id", sa.Integer()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.CheckConstraint(_in("kind", *ALERT_KINDS), name="ck_alerts_kind"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], ondelete="CASCADE", name="fk_alerts_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], ondelete="SET NULL", name="fk_alerts_officer_id_officers"
        ),
    )
    op.create_index("ix_alerts_case_id", "alerts", ["case_id"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("alert_id", sa.Integer()))
        batch.drop_constraint("ck_outbox_kind", type_="check")
        batch.create_check_constraint("ck_outbox_kind", sa.text(_in("kind", *NEW_KINDS)))
        batch.create_foreign_key(
            "fk_outbox_alert_id_alerts", "alerts", ["alert_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_outbox_alert_id", ["alert_id"])
        batch.create_index("ix_outbox_claim", ["status", "priority", "next_attempt_at"])

    op.create_table(
        "delivery_parts",
        sa.Column("id", sa.Integer()),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_parts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["outbox.id"], ondelete="CASCADE", name="fk_delivery_parts_delivery_id_outbox"
        ),
    )
    op.create_index("ix_delivery_parts_delivery_id", "delivery_parts", ["delivery_id"])
    op.create_index("ix_delivery_parts_telegram_message_id", "delivery_parts", ["telegram_message_id"])

    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("send_key_hash", sa.LargeBinary(32)))
        batch.add_column(sa.Column("nobody_reached", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_unique_constraint("uq_cases_send_key_hash", ["send_key_hash"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("uq_cases_send_key_hash", type_="unique")
        batch.drop_column("nobody_reached")
        batch.drop_column("send_key_hash")

    op.drop_index("ix_delivery_parts_telegram_message_id", table_name="delivery_parts")
    op.drop_index("ix_delivery_parts_delivery_id", table_name="delivery_parts")
    op.drop_table("delivery_parts")

    op.execute(sa.text("DELETE FROM outbox WHERE kind = 'alert'"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_claim")
        batch.drop_index("ix_outbox_alert_id")
        batch.drop_constraint("fk_outbox_alert_id_alerts", type_="foreignkey")
        batch.drop_constraint("ck_outbox_kind", type_="check")
        batch.create_check_constraint("ck_outbox_kind", sa.text(_in("kind", *OLD_KINDS)))
        batch.drop_column("alert_id")
        batch.drop_column("priority")

    op.drop_index("ix_alerts_created_at", table_name="alerts")
    op.drop_index("ix_alerts_case_id", table_name="alerts")
    op.drop_table("alerts")
