"""Schools' deep-link tokens and students' "Did this help?" counts (issue 13).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Every school already in the database gets its random start token here, so
every school has a poster link from the upgrade on; new schools get theirs
from casework.schools. Feedback is counted per school and month
(`feedback_counts`, no case, no time) and a case keeps only that its student
was asked (`feedback_asked`). Downgrading drops the tokens (printed posters
then open the plain welcome) and the counts.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN_BYTES = 12  # as casework.links: 16 URL-safe characters


def upgrade() -> None:
    links = op.create_table(
        "school_links",
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name="fk_school_links_school_id_schools", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("school_id", name="pk_school_links"),
        sa.UniqueConstraint("token", name="uq_school_links_token"),
    )
    op.create_table(
        "feedback_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("answer IN ('helped', 'not_helped', 'unsure')", name="ck_feedback_counts_answer"),
        sa.PrimaryKeyConstraint("month", "school_id", "answer", name="pk_feedback_counts"),
    )
    op.create_table(
        "feedback_asked",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_feedback_asked_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_feedback_asked"),
    )
    schools = sa.table("schools", sa.column("id", sa.Integer()))
    ids = [row[0] for row in op.get_bind().execute(sa.select(schools.c.id))]
    if ids:
        op.bulk_insert(links, [{"school_id": i, "token": secrets.token_urlsafe(TOKEN_BYTES)} for i in ids])


def downgrade() -> None:
    op.drop_table("feedback_asked")
    op.drop_table("feedback_counts")
    op.drop_table("school_links")
