"""The dashboard's accounts, their schools, setup links, sessions and failed logins: staff data only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, one_of
from storage.types import UTCDateTime, enum_values


class WebRole(StrEnum):
    COORDINATOR = "coordinator"  # every school
    SCHOOL = "school"  # its own schools (a principal, a vice-principal)


class ThrottleScope(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


class WebAccount(Base):
    """A person who signs in to the dashboard; no password or second factor until the setup link is used."""

    __tablename__ = "web_accounts"
    __table_args__ = (one_of("role", WebRole),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[WebRole] = mapped_column(enum_values(WebRole, 16))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id, with its parameters
    # The TOTP secret sealed to this account with the web key (web/web_key.py): a database reader
    # cannot clone the second factor, a writer cannot move one to another account.
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(96))
    # The newest TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A MAC with the web key of id, email, role, active and schools: a row that does not verify
    # (added, promoted, re-enabled or given schools by a database writer) cannot sign in.
    binding: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAccountSchool(Base):
    """A school account's schools (a coordinator has none: it sees every school)."""

    __tablename__ = "web_account_schools"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("web_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)


class WebSetupToken(Base):
    """A one-time setup link, stored only as a hash; it expires and works once."""

    __tablename__ = "web_setup_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("web_accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser: the cookie's token is stored only as a hash; deleting the row signs it out."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("web_accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebLoginFailure(Base):
    """One failed login, by account and by address (both keyed hashes): what throttling counts."""

    __tablename__ = "web_login_failures"
    __table_args__ = (
        one_of("scope", ThrottleScope),
        Index("ix_web_login_failures_scope_key_at", "scope", "key_hash", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[ThrottleScope] = mapped_column(enum_values(ThrottleScope, 16))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
