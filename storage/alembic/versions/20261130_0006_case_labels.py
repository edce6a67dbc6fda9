"""Case labels: a sealed "🦊 fox" per case, named by the discreet notice (issue 9, "Too many codes").

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Written against plain SQLAlchemy types, like 0001. Existing cases get no label (NULL): their notice
keeps the old wording.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("label_sealed", sa.LargeBinary(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("label_sealed")
