"""User accounts and their roles."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.access import Role, duty_conflict
from ..core.pii import Encrypted
from ..core.provinces import keep_or_normalise
from ..db import db, utcnow

USER_SUBJECT = "user"  # the audit log's subject type of an account's history


class User(UserMixin, db.Model):
    __tablename__ = "user"
    # Accounts are audited (MLPS: account and role changes); the password's hash never is, only
    # that it changed; a sign-in time is not a change of the account.
    __audited__ = True
    __audit_skip__ = ("last_login_at",)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    # Trainee profile: who they are in the training programme.
    audience: Mapped[str | None] = mapped_column(String(16))
    organisation: Mapped[str | None] = mapped_column(String(128))
    province: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @validates("province")
    def _canonical_province(self, _key: str, value: str | None) -> str | None:
        """Aliases ("北京", "Beijing") are stored as the canonical name; unknown refused."""
        return keep_or_normalise(value, self.province)

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive accounts
        return self.active

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_any_role(self, roles: object) -> bool:
        return bool(self.roles & set(roles))  # type: ignore[arg-type]

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def grant(self, role: Role) -> None:
        if role in self.roles:
            return
        if duty_conflict(self.roles | {str(role)}):  # operations refuse it with a message first
            raise ValueError(f"{role} cannot be combined with {sorted(self.roles)}")
        self.role_rows.append(UserRole(role=str(role)))

    def revoke(self, role: Role) -> None:
        gone = [row for row in self.role_rows if row.role == role]
        self.role_rows = [row for row in self.role_rows if row.role != role]
        session = object_session(self)
        for row in gone:  # deleted explicitly, so the audit log sees the revocation at flush
            if session is not None and row.id is not None:
                session.delete(row)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (USER_SUBJECT, self.id)

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"


_dummy_hash: list[str] = []


def verify_dummy(password: str) -> bool:
    """Spend one password check on a made-up hash: a sign-in with an unknown name takes as long as
    one with a known name (the hash method and cost are the real ones). Always False."""
    if not _dummy_hash:
        _dummy_hash.append(generate_password_hash(secrets.token_hex(16)))
    check_password_hash(_dummy_hash[0], password)
    return False


class UserRole(db.Model):
    """One role an account holds; a grant is its creation, a revocation its deletion (audited)."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    user: Mapped[User] = relationship(back_populates="role_rows")

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (USER_SUBJECT, self.user_id)


class UserSession(db.Model):
    """A signed-in session, held on the server: the cookie carries only a random token.

    The user loader accepts a request only while its row is live (`sessions.py`), so signing out,
    a password or role change and the idle and absolute limits end a session everywhere, copied
    cookies included. Only a hash of the token is stored.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[dt.datetime | None]
    # Why it ended: logout, signed_out (by the person, from another session), password, roles,
    # deactivated, administrator (signed out by an administrator).
    end_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship()


class LoginEvent(db.Model):
    """One sign-in attempt on a known account, shown to the person as their sign-in history."""

    __tablename__ = "login_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # success | failure | locked
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class LoginThrottle(db.Model):
    """Failed sign-ins of one account (or one unknown login name), shared by every worker.

    `key` is `user:<id>` for an account and `name:<sha256 of the lower-cased name>` for a name
    no account has, so an unknown name is locked exactly like a real one (no enumeration).
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None]
    locks: Mapped[int] = mapped_column(default=0)  # locks since the last success: the back-off


class CorrectionRequest(db.Model):
    """A person's request to correct data about them (PIPL), decided by an administrator.

    For an account's own fields; an expert's technical-file fields go through the experts'
    change requests (`PendingChange`, kind "correction"). The requested value is encrypted (it
    may be an ID number) and logged masked."""

    __tablename__ = "correction_request"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Encrypted())
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def audit_subject(self) -> tuple[str, int]:
        return ("user", self.user_id)
