"""The schema: migrations create exactly what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


def test_migrations_match_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from unleak.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_times_come_back_aware_utc(store):
    from unleak.store.models import Case

    with store.session() as s:
        case = store.case(s, "tz", create=True)
        case_id = case.id
    with store.session() as s:
        created = s.get(Case, case_id).created_at
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_naive_datetimes_refused(store):
    from sqlalchemy.exc import StatementError

    from unleak.store.models import Case

    with pytest.raises(StatementError):
        with store.session() as s:
            s.add(Case(name="naive", created_at=datetime(2026, 1, 1)))


def test_unreachable_database_is_a_clear_error(monkeypatch):
    from unleak.errors import UnleakError
    from unleak.store import open_store

    with pytest.raises(UnleakError, match="cannot open the database"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
