"""A directory nobody can forge without the master key, and versioned keys (issue 8, items 3-4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

A MAC column (key version + HMAC-SHA256) on officers, assignments, case
recipients and case messages; the officer's previous private key, kept only
while a rotation re-wraps; a version on server keys; the rotations table.
The migration cannot compute MACs (the master key never reaches alembic):
rows that exist now keep a NULL MAC and are authenticated once, by the first
start of the application that holds the key (`casework.vault.directory_auth`).
Written against plain SQLAlchemy types, like 0001; batch mode for SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
MAC = sa.LargeBinary(34)
MAC_TABLES = ("officers", "assignments", "case_recipients", "case_messages")


def upgrade() -> None:
    for table in MAC_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("mac", MAC))
    with op.batch_alter_table("officers") as batch:
        batch.add_column(sa.Column("previous_sealed_private_key", sa.LargeBinary(128)))
    with op.batch_alter_table("server_keys") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "key_rotations",
        sa.Column("id", sa.Integer()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("boundary_message_id", sa.Integer(), nullable=False),
        sa.Column("done_through", sa.Integer(), nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_key_rotations"),
        sa.UniqueConstraint("version", name="uq_key_rotations_version"),
    )


def downgrade() -> None:
    op.drop_table("key_rotations")
    with op.batch_alter_table("server_keys") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("previous_sealed_private_key")
    for table in reversed(MAC_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("mac")
