"""Tables. Times are UTC, always timezone-aware in Python.

Schema changes go with an Alembic revision in store/migrations/versions (tests check they agree).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always gives back aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store; use UTC-aware times")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
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
    # A minor's case: notices go to NCMEC's Take It Down and the IWF first, never under the DMCA,
    # and captures keep no media bytes (hashes, URLs and page text only).
    minor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    items: Mapped[list[BankItem]] = relationship(back_populates="case", cascade="all, delete-orphan")


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
    signals: Mapped[list[BankSignal]] = relationship(back_populates="item", cascade="all, delete-orphan")

    # One item per file and case, so that protects running at once cannot double it. Items
    # imported from hash lists have no digest; NULLs never collide.
    __table_args__ = (Index("uq_bank_items_case_sha256", "case_id", "sha256", unique=True),)


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
        Index("ix_bank_signals_case_type", "case_id", "type"),
        # Lookups by value. A hash index on PostgreSQL: a B-tree row may not exceed ~2.7 kB, and
        # the vPDQ value of a minute of video is larger (SQLite has no such limit).
        Index("ix_bank_signals_value", "value", postgresql_using="hash"),
        UniqueConstraint("item_id", "type", "variant", name="uq_bank_signal_item_type_variant"),
    )


# ============================================================================================
# --- find & document: sources, scans, sightings, captures, the evidence log -------
# Owned by the monitor/evidence work; other stages add their own marked sections below.
# ============================================================================================


class Source(Base):
    """A place to watch: a folder, a URL list, a site crawl, a feed, a sitemap, or a plug-in's kind.

    `config` is the plug-in's JSON settings; `allow_networks` (JSON list of CIDRs) lifts the SSRF
    guard for those networks only, e.g. ["127.0.0.1/32"] for a test site.
    """

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(500), default="")
    config: Mapped[str] = mapped_column(Text, default="{}")
    allow_networks: Mapped[str] = mapped_column(Text, default="[]")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    every_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # its own watch schedule


class ScanRun(Base):
    """One scan of one source. A run left 'running' by a killed process is resumed, not restarted."""

    __tablename__ = "scan_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stats: Mapped[str] = mapped_column(Text, default="{}")


class ScanItem(Base):
    """The frontier of a scan: one URL (or file) to visit. Done items are never visited twice in a run."""

    __tablename__ = "scan_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id", ondelete="CASCADE"))
    url_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the URL: long URLs stay indexable
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # page | media | feed | sitemap | file | plug-in kinds
    depth: Mapped[int] = mapped_column(Integer, default=0)
    parent_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    hints: Mapped[str] = mapped_column(Text, default="{}")  # e.g. uploader and post time from a feed
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | done | failed | blocked | skipped
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        UniqueConstraint("scan_id", "url_key", name="uq_scan_items_scan_url"),
        Index("ix_scan_items_scan_status", "scan_id", "status", "id"),
    )


class Sighting(Base):
    """One place where protected media was found: one per (media URL, protected item) in a case."""

    __tablename__ = "sightings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    bank_item_id: Mapped[int] = mapped_column(ForeignKey("bank_items.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), nullable=True)
    url_key: Mapped[str] = mapped_column(String(64))
    media_url: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str] = mapped_column(String(255), default="", index=True)
    signal: Mapped[str] = mapped_column(String(20))
    distance: Mapped[int] = mapped_column(Integer)
    match: Mapped[str] = mapped_column(Text, default="{}")
    media_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    uploader: Mapped[str | None] = mapped_column(String(500), nullable=True)
    posted_at: Mapped[str | None] = mapped_column(String(100), nullable=True)  # as the page shows it
    status: Mapped[str] = mapped_column(String(20), default="up")  # up | removed
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reupload: Mapped[bool] = mapped_column(Boolean, default=False)
    reupload_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("case_id", "url_key", "bank_item_id", name="uq_sightings_url_item"),)


class Capture(Base):
    """The evidence of a sighting: a WARC file (encrypted at rest), its SHA-256, the IP, UTC time."""

    __tablename__ = "captures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sighting_id: Mapped[int] = mapped_column(ForeignKey("sightings.id", ondelete="CASCADE"), index=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    warc_name: Mapped[str] = mapped_column(String(200))  # file name inside the case's capture folder
    warc_sha256: Mapped[str] = mapped_column(String(64))  # of the plain WARC, as exported
    page_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    media_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    screenshot_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str] = mapped_column(Text, default="{}")  # headers, record ids, notes


class LogRecord(Base):
    """One entry of a case's append-only, hash-chained evidence and action log.

    `body` is the canonical JSON that was hashed (seq, time, action, data, prev); `hash` is its
    SHA-256; `signature` the case signing key's Ed25519 signature of the hash's 32 bytes (hex; None
    for records written before the case had a key). Never updated or deleted.
    """

    __tablename__ = "log_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128), nullable=True, default=None)

    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_log_records_case_seq"),)


# --- end of find & document section ---------------------------------------------------------


# ==================================================================================================
# Take-down: claimants, notices, their URLs, events and removal checks.
# Owned by unleak.takedown; keep this section at the end of the file.
# ==================================================================================================

from sqlalchemy import JSON  # noqa: E402  (kept with the section that uses it)


class Claimant(Base):
    """Who signs a case's notices: identity, contact, and in what capacity they act.

    `roles` is a comma-separated set of: depicted_person, authorised_representative,
    copyright_owner, agent. Passwords and other secrets never live here.
    """

    __tablename__ = "claimants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    postal_address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    roles: Mapped[str] = mapped_column(String(200), default="")
    on_behalf_of: Mapped[str] = mapped_column(String(300), default="")  # the depicted person / rights owner
    signature: Mapped[str] = mapped_column(String(300), default="")  # typed electronic signature
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A separate contact for notices (an agent, a lawyer, a helpline, a fresh email address):
    # notices carry it instead of the claimant's own address where the law allows.
    notice_contact: Mapped[str] = mapped_column(Text, default="", server_default="")
    country: Mapped[str] = mapped_column(String(60), default="", server_default="")  # for delisting forms


class Notice(Base):
    """A take-down request to one host or search engine, under one legal basis.

    status: draft | confirmed | sent | acknowledged | removed | partially_removed | refused |
    no_answer | escalated. `confirmed_sha256` is the hash of the exact text the person confirmed;
    sending refuses any text that differs from it.
    """

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    host_name: Mapped[str] = mapped_column(String(255), default="")
    host_kind: Mapped[str] = mapped_column(String(20), default="host")  # host | search
    basis: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default="email")  # email | webform
    recipient: Mapped[str] = mapped_column(Text, default="")  # address or form URL
    status: Mapped[str] = mapped_column(String(30), default="draft")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    confirmed_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"), nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    message_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deadline_kind: Mapped[str] = mapped_column(String(20), default="none")  # statutory | policy | none
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    items: Mapped[list[NoticeItem]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="NoticeItem.id"
    )
    events: Mapped[list[NoticeEvent]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="NoticeEvent.id"
    )

    __table_args__ = (Index("ix_notices_case_status", "case_id", "status"),)


class NoticeItem(Base):
    """One reported URL of a notice, and what the removal checks found there."""

    __tablename__ = "notice_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    sighting_id: Mapped[int | None] = mapped_column(
        ForeignKey("sightings.id", ondelete="SET NULL"), nullable=True, index=True
    )
    bank_item_id: Mapped[int | None] = mapped_column(ForeignKey("bank_items.id", ondelete="SET NULL"), nullable=True)
    url: Mapped[str] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="reported")  # reported | up | gone
    removal_reason: Mapped[str] = mapped_column(String(200), default="")
    last_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    notice: Mapped[Notice] = relationship(back_populates="items")


class NoticeEvent(Base):
    """Something that happened to a notice: drafted, confirmed, sent, a reply, a status change."""

    __tablename__ = "notice_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    notice: Mapped[Notice] = relationship(back_populates="events")


class RemovalCheck(Base):
    """One re-fetch of a reported URL: still up, gone (and why), or could not tell."""

    __tablename__ = "removal_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("notice_items.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20))  # up | gone | error
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(300), default="")


# ---------------------------------------------------------------------------------------------
# Watermark: recipients of per-recipient marked copies, and which copy went to whom.
# No codeword is stored: each is derived from the case's secret key (a 0600 key file in the
# data folder, see unleak.watermark.keys) and the recipient's random `code_id`.
# ---------------------------------------------------------------------------------------------


class Recipient(Base):
    """Someone who receives marked copies: a name or handle, how to reach them, a note."""

    __tablename__ = "wm_recipients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "name", name="uq_wm_recipient_case_name"),)


class MarkedCopy(Base):
    """One marked copy made for one recipient from one original."""

    __tablename__ = "wm_marked_copies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("wm_recipients.id", ondelete="CASCADE"), index=True)
    bank_item_id: Mapped[int | None] = mapped_column(ForeignKey("bank_items.id", ondelete="SET NULL"), nullable=True)
    original_path: Mapped[str] = mapped_column(Text)
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)
    copy_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The marking scheme (unleak.watermark.spread.SCHEME) the copy was made with; NULL for
    # copies made before it was recorded, which were all scheme 1.
    scheme: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PlatformBank(Base):
    """A named platform-side hash bank that `unleak serve` answers from (HMA's "bank").

    Kept apart from cases on purpose: nothing done to a platform bank can touch a case's items,
    sightings or evidence. A case reaches a platform bank only when its owner publishes it.
    """

    __tablename__ = "platform_banks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Safety settings (unleak's, not HMA's): a negative bank's matches veto the others'; a bank's
    # own PDQ threshold (stricter than 31); flood protection (None: off).
    negative: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    pdq_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    flood_max_distinct: Mapped[int | None] = mapped_column(Integer, nullable=True)
    flood_window_s: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PlatformContent(Base):
    """One item of a platform bank: HMA's bank content, whose id is the `bank_content_id`."""

    __tablename__ = "platform_content"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused, as in HMA (clients keep them)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("platform_banks.id", ondelete="CASCADE"), index=True)
    disable_until_ts: Mapped[int] = mapped_column(BigInteger, default=1)  # 1 enabled, 0 disabled, else a time
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    original_media_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: content_id, content_uri, json
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformSignal(Base):
    """One signal (HMA type name and value) of one platform bank content item."""

    __tablename__ = "platform_signals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("platform_content.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)


class PlatformChange(Base):
    """Append-only log of index changes: every server process replays it to stay consistent."""

    __tablename__ = "platform_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    op: Mapped[str] = mapped_column(String(10))  # add | remove | reset
    content_id: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(40), default="")
    value: Mapped[str] = mapped_column(Text, default="")


class FetchValidator(Base):
    """What the last fetch of a URL answered (ETag, Last-Modified), so the next scan asks
    "changed since?" and an unchanged page costs one short request. A page's body is kept
    (compressed) to be read again on a 304; a media file's is not: an unchanged file was matched
    already, against the bank as it was (`bank_mark`)."""

    __tablename__ = "fetch_validators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    url_key: Mapped[str] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # zlib; pages only
    nbytes: Mapped[int] = mapped_column(Integer, default=0)  # the body's size as it came over the wire
    bank_mark: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "url_key", name="uq_fetch_validators_case_url"),)


class HostRequests(Base):
    """Requests sent to one host on one UTC day, for `watch --daily-cap`."""

    __tablename__ = "host_requests"
    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    requests: Mapped[int] = mapped_column(Integer, default=0)


class ServeKey(Base):
    """An API key of `unleak serve`: a role (hasher, matcher, curator), optionally one bank.

    Only the argon2id hash of the key's secret is kept (`unleak.auth`); the key itself is shown
    once, when it is made. A revoked key stays, so the audit log keeps naming it.
    """

    __tablename__ = "serve_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    bank: Mapped[str | None] = mapped_column(String(200), nullable=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    rate_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: the server's default
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ServeAudit(Base):
    """One curator action of `unleak serve` (append-only): who, what, on which bank, the outcome."""

    __tablename__ = "serve_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: an open (keyless) server
    key_name: Mapped[str] = mapped_column(String(100), default="")
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    bank: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str] = mapped_column(String(64), default="")


class PlatformSignalType(Base):
    """A signal type's setting in `unleak serve` (HMA's `PUT /c/signal_type/<name>`); absent: 1.0."""

    __tablename__ = "platform_signal_types"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class PlatformMatchSeen(Base):
    """A lookup that matched an item of a flood-protected bank: which item, a digest of what was
    looked up (never the hash itself), when. Counted per item over the bank's window."""

    __tablename__ = "platform_match_seen"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(Integer, index=True)
    query_digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformFlood(Base):
    """An item disabled by flood protection, pending a curator's review (`GET /c/flood`)."""

    __tablename__ = "platform_flood"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(Integer, index=True)
    bank: Mapped[str] = mapped_column(String(200))
    distinct_uploads: Mapped[int] = mapped_column(Integer)
    window_s: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformFeedback(Base):
    """A platform's verdict on one match (`POST /m/feedback`): confirmed or false_positive."""

    __tablename__ = "platform_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(Integer, index=True)
    bank: Mapped[str] = mapped_column(String(200), index=True)
    signal_type: Mapped[str] = mapped_column(String(40))
    signal: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    key_name: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformExchange(Base):
    """A hash-sharing programme a platform bank is filled from (HMA's exchange / collab config)."""

    __tablename__ = "platform_exchanges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # also its bank's name, as in HMA
    api: Mapped[str] = mapped_column(String(40))
    api_json: Mapped[str] = mapped_column(Text, default="{}")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    fetched_items: Mapped[int] = mapped_column(Integer, default=0)
    last_fetch_ts: Mapped[int] = mapped_column(BigInteger, default=-1)
    last_fetch_ok: Mapped[bool] = mapped_column(Boolean, default=False)


# ==================================================================================================
# `unleak app`: accounts of a helpline's caseworkers, which cases each may open, the app's settings.
# Owned by unleak.accounts.
# ==================================================================================================


class AppUser(Base):
    """An account of `unleak app`: a name, a role (admin | caseworker) and an argon2id password hash."""

    __tablename__ = "app_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="caseworker")
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AppCaseAccess(Base):
    """A caseworker may open this case (admins open every case)."""

    __tablename__ = "app_case_access"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("user_id", "case_id", name="uq_app_case_access"),)


class AppCaseSetting(Base):
    """A per-case setting of the app, e.g. `hide_thumbnails` (never show found copies, even blurred)."""

    __tablename__ = "app_case_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("case_id", "key", name="uq_app_case_setting"),)


class CaseCalibration(Base):
    """A case's own false-match tail (`unleak calibrate`): the PDQ null model fitted on the
    person's unrelated images; `mean`/`sigma` (what matching uses) are never lighter-tailed than
    the reference."""

    __tablename__ = "case_calibrations"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    mean: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)
    fit_mean: Mapped[float] = mapped_column(Float)  # the fit as it came, before the reference floor
    fit_sigma: Mapped[float] = mapped_column(Float)
    images: Mapped[int] = mapped_column(Integer)
    distances: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppSession(Base):
    """A logged-in browser of `unleak app`. Only the SHA-256 of its cookie's token is kept, so a copy
    of the database does not let anyone log in; `state` holds the copies revealed and pending messages."""

    __tablename__ = "app_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    actor: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(Text, default="{}")


class AppLoginFailure(Base):
    """A failed login to `unleak app`, by account name and by client address (for the lockout)."""

    __tablename__ = "app_login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # "account:NAME" or "address:IP"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
