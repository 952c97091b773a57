"""The SQLModel mirror (ledger/store/schema_models.py) agrees with the migrated schema.

A column or table added in ``sql/`` without its model, or a model without its table, or
a type or nullability that differs, fails here with a line naming it (and, for a table
with no model, the model to paste). ``init`` makes the same comparison after migrating
and warns when a database was changed outside fundledger's migrations."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from ledger.store import schema_models
from tests.conftest import LedgerDB, Server


def _sa(url: str) -> Iterator[Connection]:
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=NullPool)
    try:
        with engine.connect() as c:
            yield c
    finally:
        engine.dispose()


@pytest.fixture
def sa_conn(ledger_db: LedgerDB) -> Iterator[Connection]:
    yield from _sa(ledger_db.url())


def test_the_models_mirror_every_table_and_column(pg_server: Server, template_db: str) -> None:
    for c in _sa(pg_server.url(template_db)):
        differs = schema_models.drift(c)
        hints = [schema_models.model_source(c, line.split(":")[0].removeprefix("fl."))
                 for line in differs if line.endswith("a table in the database, no model")]
        assert differs == [], "\n".join([*differs, "", "models to add to ledger/store/schema_models.py:", *hints])


def test_a_change_outside_the_migrations_is_named(sa_conn: Connection) -> None:
    sa_conn.exec_driver_sql("ALTER TABLE fl.unit ADD COLUMN note text")
    sa_conn.exec_driver_sql("ALTER TABLE fl.unit ALTER COLUMN name_en DROP NOT NULL")
    sa_conn.exec_driver_sql("ALTER TABLE fl.setting ALTER COLUMN value TYPE text")
    sa_conn.exec_driver_sql("CREATE TABLE fl.shadow_payments (id bigint PRIMARY KEY, amount bigint)")
    sa_conn.exec_driver_sql("ALTER TABLE fl.monitor_ack DROP COLUMN decision CASCADE")
    differs = schema_models.drift(sa_conn)
    assert "fl.unit.note: in the database, not in the model" in differs
    assert "fl.shadow_payments: a table in the database, no model" in differs
    assert "fl.monitor_ack.decision: in the model, not in the database" in differs
    assert any(d.startswith("fl.setting.value: type is") for d in differs), differs
    assert any(d.startswith("fl.unit.name_en: nullable is True in the database") for d in differs), differs
    source = schema_models.model_source(sa_conn, "shadow_payments")
    assert "class ShadowPayments(SQLModel, table=True):" in source
    assert 'amount: int | None = Field(sa_column=Column("amount", BigInteger, nullable=True))' in source


def test_init_warns_of_a_schema_changed_outside_the_migrations(ledger_db: LedgerDB) -> None:
    with ledger_db.admin() as c:
        c.execute("ALTER TABLE fl.unit ADD COLUMN note text")
    r = ledger_db.cli("--lang", "en", "init", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert '"schema_drift": [\n    "fl.unit.note: in the database, not in the model"\n  ]' in r.stdout
    r = ledger_db.cli("--lang", "zh", "init")
    assert r.exit_code == 0 and "fl.unit.note" in r.stdout
