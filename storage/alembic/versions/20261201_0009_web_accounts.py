"""The dashboard's accounts, sessions and login attempts (issue 13).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("role IN ('coordinator', 'school')", name="ck_web_accounts_role"),
        sa.PrimaryKeyConstraint("id", name="pk_web_accounts"),
        sa.UniqueConstraint("email", name="uq_web_accounts_email"),
    )
    op.create_table(
        "web_account_schools",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["web_accounts.id"],
            name="fk_web_account_schools_account_id_web_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name="fk_web_account_schools_school_id_schools", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "school_id", name="pk_web_account_schools"),
    )
    op.create_table(
        "web_setup_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["web_accounts.id"],
            name="fk_web_setup_tokens_account_id_web_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_web_setup_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_web_setup_tokens_token_hash"),
    )
    op.create_index("ix_web_setup_tokens_account_id", "web_setup_tokens", ["account_id"])
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["web_accounts.id"],
            name="fk_web_sessions_account_id_web_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])
    op.create_table(
        "web_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("scope IN ('account', 'address')", name="ck_web_login_failures_scope"),
        sa.PrimaryKeyConstraint("id", name="pk_web_login_failures"),
    )
    op.create_index("ix_web_login_failures_scope_key_at", "web_login_failures", ["scope", "key_hash", "at"])


def downgrade() -> None:
    # Dashboard accounts only: nothing else refers to them. Everyone sets up again after an upgrade.
    op.drop_index("ix_web_login_failures_scope_key_at", table_name="web_login_failures")
    op.drop_table("web_login_failures")
    op.drop_index("ix_web_sessions_account_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_web_setup_tokens_account_id", table_name="web_setup_tokens")
    op.drop_table("web_setup_tokens")
    op.drop_table("web_account_schools")
    op.drop_table("web_accounts")
