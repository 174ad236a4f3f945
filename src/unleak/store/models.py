"""Tables. Times are UTC, always timezone-aware in Python.

Schema changes go with an Alembic revision in store/migrations/versions (tests check they agree).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always gives back aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store; use UTC-aware times")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class Case(Base):
    """Everything about one person or incident."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list["BankItem"]] = relationship(back_populates="case", cascade="all, delete-orphan")


class BankItem(Base):
    """One protected photo or video: where it lies and its SHA-256. Never a copy of it."""

    __tablename__ = "bank_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(10))  # image | video | hash (imported, no media)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source: Mapped[str] = mapped_column(String(40), default="protect")  # protect | import
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    case: Mapped[Case] = relationship(back_populates="items")
    signals: Mapped[list["BankSignal"]] = relationship(back_populates="item", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_bank_items_case_sha256", "case_id", "sha256"),)


class BankSignal(Base):
    """A fingerprint of a bank item. `variant` names derived hashes (e.g. a crop), '' for the item itself.

    A removed item's signals stay, flagged removed, so that re-importing the same value is refused.
    """

    __tablename__ = "bank_signals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("bank_items.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    variant: Mapped[str] = mapped_column(String(60), default="")
    removed: Mapped[bool] = mapped_column(Boolean, default=False)

    item: Mapped[BankItem] = relationship(back_populates="signals")

    __table_args__ = (
        Index("ix_bank_signals_lookup", "case_id", "type", "value"),
        UniqueConstraint("item_id", "type", "variant", name="uq_bank_signal_item_type_variant"),
    )
