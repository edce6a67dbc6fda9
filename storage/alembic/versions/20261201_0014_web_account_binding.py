"""Dashboard accounts bound by the web key: TOTP secrets sealed, account rows authenticated (issue 13).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

`totp_secret` (stored as it was) gives way to `totp_sealed` (sealed to its account with the web key,
web/web_key.py), and each account gets `binding`, a MAC of its id, email, role, active flag and
schools. Neither can be computed here (the key is not the database's), so accounts set up before
this revision have no binding and cannot sign in until `sro admin reset` gives them a new setup link;
their sessions and setup links (stored under unkeyed hashes) are deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM web_sessions")
    op.execute("DELETE FROM web_setup_tokens")
    with op.batch_alter_table("web_accounts") as batch:
        batch.drop_column("totp_secret")
        batch.add_column(sa.Column("totp_sealed", sa.LargeBinary(96), nullable=True))
        batch.add_column(sa.Column("binding", sa.LargeBinary(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_accounts") as batch:
        batch.drop_column("binding")
        batch.drop_column("totp_sealed")
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
