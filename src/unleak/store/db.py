"""Opening the store and keeping its schema current (Alembic migrations run on open)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from unleak import config
from unleak.errors import ConfigError, NotFound
from unleak.store.models import Case

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_CASE = "default"
T = TypeVar("T")
_UPGRADE_LOCK = threading.Lock()
_MIGRATION_LOCK_KEY = 0x756E6C65616B  # "unleak": PostgreSQL advisory lock held while migrating


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Wait for another process's write rather than fail; set first, so that switching to WAL
    # below waits too when several processes open the database at once.
    cursor.execute("PRAGMA busy_timeout=30000")
    # WAL: readers don't block the writer; a crash mid-write leaves the last commit intact.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _is_locked(exc: OperationalError) -> bool:
    """SQLite's "database is locked" / "busy": another process holds the write lock too long."""
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration. Processes opening the same database at once
    migrate it one at a time (a lock in the database), and none when it is current."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with engine.connect() as connection:
        if set(MigrationContext.configure(connection).get_current_heads()) == heads:
            return
    # Alembic keeps its context in module globals: one migration per process at a time.
    with _UPGRADE_LOCK, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, held to the commit
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class Store:
    """A database plus the session factory; use `with store.session() as s:`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            upgrade(self.engine)
        except OperationalError as exc:
            raise ConfigError(
                f"cannot open the database at {self._safe_url()}: {exc.orig}",
                hint="check UNLEAK_DB, or that the disk is not full",
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def write(self, work: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run `work` in a session of its own and commit; on SQLite, run it again when another
        process kept the database locked past the busy timeout. `work` must be safe to repeat:
        nothing of a failed attempt is kept."""
        for attempt in range(attempts):
            try:
                with self.session() as s:
                    return work(s)
            except OperationalError as exc:
                if self.engine.dialect.name != "sqlite" or not _is_locked(exc) or attempt == attempts - 1:
                    raise
                time.sleep(min(0.05 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    def case(self, s: Session, name: str | None = None, *, create: bool = False) -> Case:
        """The named case, or the default case when no name is given (it is made on first use).

        An unknown name is NotFound, listing the cases there are: a typo must not start an empty
        case that then reports nothing found. `create` makes a named case that does not exist
        (for `case new` and `protect --case NAME`, which start a case's work)."""
        name = name or DEFAULT_CASE
        case = s.scalar(select(Case).where(Case.name == name))
        if case is not None:
            return case
        if not create and name != DEFAULT_CASE:
            raise no_such_case(s, name)
        from unleak.text import check_name

        name = check_name(name, "case name", max_length=200)
        insert_or_ignore(s, Case, {"name": name, "description": ""}, ["name"])
        return s.scalars(select(Case).where(Case.name == name)).one()

    def close(self) -> None:
        self.engine.dispose()


def no_such_case(s: Session, name: str) -> NotFound:
    """The error for an unknown case name, with the names there are (the first few)."""
    names = list(s.scalars(select(Case.name).order_by(Case.name).limit(11)))
    if not names:
        hint = "there are no cases yet; `unleak case new NAME` opens one"
    else:
        shown = ", ".join(repr(n[:60]) for n in names[:10]) + (", ..." if len(names) > 10 else "")
        hint = f"existing cases: {shown}; `unleak case new NAME` opens another"
    return NotFound(f"no such case {name[:100]!r}", hint=hint)


def insert_or_ignore(s: Session, model: Any, values: dict[str, Any], keys: list[str]) -> Any:
    """INSERT a row unless one with the same unique `keys` exists, atomically: two processes
    inserting the same row at once both succeed and one row is left. Returns the new primary
    key, or None when the row was there already."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
        return s.scalar(pg.returning(model.id))
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    return s.scalar(lite.returning(model.id))


def open_store(url: str | None = None) -> Store:
    """The store at a SQLAlchemy URL; by default UNLEAK_DB, else SQLite in the data folder."""
    return Store(url or config.database_url())
