"""Outbox kind 'escalation_notice': an officer whose case went up the chain is told (issue 9, "Officers").

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Only the outbox's kind CHECK constraint changes. Batch mode so SQLite can alter the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("tip", "escalation", "reminder", "ack_notice", "student_reply", "notify_student", "alert")
NEW_KINDS = (*OLD_KINDS, "escalation_notice")


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("ck_outbox_kind", type_="check")
        batch.create_check_constraint("ck_outbox_kind", sa.text(_in("kind", *NEW_KINDS)))


def downgrade() -> None:
    # Notices not yet sent cannot be kept under the old constraint; they are only courtesy notices.
    op.execute(sa.text("DELETE FROM outbox WHERE kind = 'escalation_notice'"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("ck_outbox_kind", type_="check")
        batch.create_check_constraint("ck_outbox_kind", sa.text(_in("kind", *OLD_KINDS)))
