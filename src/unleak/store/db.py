"""Opening the store and keeping its schema current (Alembic migrations run on open)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from unleak import config
from unleak.errors import ConfigError, NotFound
from unleak.store.models import Case

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_CASE = "default"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers don't block the writer; a crash mid-write leaves the last commit intact.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
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

    def case(self, s: Session, name: str | None = None, *, create: bool = True) -> Case:
        """The named case (the default case when None), created on first use if `create`."""
        name = name or DEFAULT_CASE
        case = s.scalar(select(Case).where(Case.name == name))
        if case is None:
            if not create and name != DEFAULT_CASE:
                raise NotFound(f"no case named {name!r}", hint="see `unleak case list`")
            from unleak.text import check_name

            case = Case(name=check_name(name, "case name", max_length=200))
            s.add(case)
            s.flush()
        return case

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    """The store at a SQLAlchemy URL; by default UNLEAK_DB, else SQLite in the data folder."""
    return Store(url or config.database_url())
