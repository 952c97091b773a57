"""The schema's mirror: one SQLModel ``table=True`` model per table of schema ``fl``.

The schema itself is made by the SQL in ``sql/`` (migrations): PostgreSQL enforces the
ledger's invariants, and the hot paths are SQL functions and COPY (docs/architecture.md,
*Rows with names*). These models say, in Python, what each table holds — a reader sees
a fund request's or a posting's columns without reading SQL — and they are used where
SQLAlchemy is loaded anyway: ``init`` checks the migrated schema against them
(:func:`drift`), and a test does the same on every migrated database, so a column added
in ``sql/`` without its model here, or the reverse, fails.

Only columns, their types, nullability and primary keys are mirrored; constraints,
indexes, triggers and policies live in the SQL and are fingerprinted by the auditor's
catalogue check (ledger/store/verify_catalogue.py). Importing this module loads
SQLAlchemy (~0.4 s): never import it from a read path.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    TIMESTAMP,
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, INET, JSONB
from sqlalchemy.types import UserDefinedType
from sqlmodel import Field, SQLModel


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``xid8``), which SQLAlchemy does not know."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "xid8"


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", Integer, primary_key=True, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    chart_code: str = Field(sa_column=Column("chart_code", Text, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    holder: str = Field(sa_column=Column("holder", Text, nullable=False))
    component: str = Field(sa_column=Column("component", Text, nullable=False))
    bank_account_id: int | None = Field(sa_column=Column("bank_account_id", Integer, nullable=True))
    balance: int = Field(sa_column=Column("balance", BigInteger, nullable=False))
    debits: int = Field(sa_column=Column("debits", BigInteger, nullable=False))
    credits: int = Field(sa_column=Column("credits", BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", TIMESTAMP(timezone=True), nullable=False))


class AccountDay(SQLModel, table=True):
    __tablename__ = "account_day"
    __table_args__ = {"schema": "fl"}

    account_id: int = Field(sa_column=Column("account_id", Integer, primary_key=True, nullable=False))
    day: date = Field(sa_column=Column("day", Date, primary_key=True, nullable=False))
    debits: int = Field(sa_column=Column("debits", BigInteger, nullable=False))
    credits: int = Field(sa_column=Column("credits", BigInteger, nullable=False))


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = {"schema": "fl"}

    name: str = Field(sa_column=Column("name", Text, primary_key=True, nullable=False))
    role: str = Field(sa_column=Column("role", Text, nullable=False))
    unit: str | None = Field(sa_column=Column("unit", Text, nullable=True))
    created_at: datetime = Field(sa_column=Column("created_at", TIMESTAMP(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column("created_by", Text, nullable=False))


class BankAccount(SQLModel, table=True):
    __tablename__ = "bank_account"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", Integer, primary_key=True, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    holder: str = Field(sa_column=Column("holder", Text, nullable=False))
    unit: str | None = Field(sa_column=Column("unit", Text, nullable=True))
    balance: int = Field(sa_column=Column("balance", BigInteger, nullable=False))
    reserved: int = Field(sa_column=Column("reserved", BigInteger, nullable=False))


class BankStatement(SQLModel, table=True):
    __tablename__ = "bank_statement"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    bank_account_id: int = Field(sa_column=Column("bank_account_id", Integer, nullable=False))
    file_name: str = Field(sa_column=Column("file_name", Text, nullable=False))
    file_sha256: str = Field(sa_column=Column("file_sha256", Text, nullable=False))
    lines_total: int = Field(sa_column=Column("lines_total", Integer, nullable=False))
    imported_by: str = Field(sa_column=Column("imported_by", Text, nullable=False))
    imported_at: datetime = Field(sa_column=Column("imported_at", TIMESTAMP(timezone=True), nullable=False))
    client_addr: str | None = Field(sa_column=Column("client_addr", INET, nullable=True))


class Book(SQLModel, table=True):
    __tablename__ = "book"
    __table_args__ = {"schema": "fl"}

    code: str = Field(sa_column=Column("code", Text, primary_key=True, nullable=False))
    name_zh: str = Field(sa_column=Column("name_zh", Text, nullable=False))
    name_en: str = Field(sa_column=Column("name_en", Text, nullable=False))
    components: list[str] = Field(sa_column=Column("components", ARRAY(Text), nullable=False))
    pooled_component: str = Field(sa_column=Column("pooled_component", Text, nullable=False))


class Budget(SQLModel, table=True):
    __tablename__ = "budget"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    year: int = Field(sa_column=Column("year", Integer, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    version: int = Field(sa_column=Column("version", Integer, nullable=False))
    content_hash: bytes = Field(sa_column=Column("content_hash", BYTEA, nullable=False))
    imported_by: str = Field(sa_column=Column("imported_by", Text, nullable=False))
    imported_at: datetime = Field(sa_column=Column("imported_at", TIMESTAMP(timezone=True), nullable=False))


class BudgetLine(SQLModel, table=True):
    __tablename__ = "budget_line"
    __table_args__ = {"schema": "fl"}

    budget_id: int = Field(sa_column=Column("budget_id", BigInteger, primary_key=True, nullable=False))
    component: str = Field(sa_column=Column("component", Text, primary_key=True, nullable=False))
    line: str = Field(sa_column=Column("line", Text, primary_key=True, nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))


class BudgetAdjustment(SQLModel, table=True):
    __tablename__ = "budget_adjustment"
    __table_args__ = {"schema": "fl"}

    budget_id: int = Field(sa_column=Column("budget_id", BigInteger, primary_key=True, nullable=False))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    changes: Any = Field(sa_column=Column("changes", JSONB, nullable=False))
    idempotency_key: str = Field(sa_column=Column("idempotency_key", Text, nullable=False))
    adjusted_by: str = Field(sa_column=Column("adjusted_by", Text, nullable=False))
    adjusted_at: datetime = Field(sa_column=Column("adjusted_at", TIMESTAMP(timezone=True), nullable=False))


class BudgetPlan(SQLModel, table=True):
    __tablename__ = "budget_plan"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    year: int = Field(sa_column=Column("year", Integer, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    version: int = Field(sa_column=Column("version", Integer, nullable=False))
    granularity: str = Field(sa_column=Column("granularity", Text, nullable=False))
    content_hash: bytes = Field(sa_column=Column("content_hash", BYTEA, nullable=False))
    imported_by: str = Field(sa_column=Column("imported_by", Text, nullable=False))
    imported_at: datetime = Field(sa_column=Column("imported_at", TIMESTAMP(timezone=True), nullable=False))


class BudgetPlanLine(SQLModel, table=True):
    __tablename__ = "budget_plan_line"
    __table_args__ = {"schema": "fl"}

    plan_id: int = Field(sa_column=Column("plan_id", BigInteger, primary_key=True, nullable=False))
    granularity: str = Field(sa_column=Column("granularity", Text, nullable=False))
    component: str = Field(sa_column=Column("component", Text, primary_key=True, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, primary_key=True, nullable=False))
    period: int = Field(sa_column=Column("period", Integer, primary_key=True, nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))


class ChainHead(SQLModel, table=True):
    __tablename__ = "chain_head"
    __table_args__ = {"schema": "fl"}

    id: bool = Field(sa_column=Column("id", Boolean, primary_key=True, nullable=False))
    seq: int = Field(sa_column=Column("seq", BigInteger, nullable=False))
    hash: bytes = Field(sa_column=Column("hash", BYTEA, nullable=False))


class ChainedTable(SQLModel, table=True):
    __tablename__ = "chained_table"
    __table_args__ = {"schema": "fl"}

    tbl: str = Field(sa_column=Column("tbl", Text, primary_key=True, nullable=False))
    key_cols: list[str] = Field(sa_column=Column("key_cols", ARRAY(Text), nullable=False))


class Chart(SQLModel, table=True):
    __tablename__ = "chart"
    __table_args__ = {"schema": "fl"}

    code: str = Field(sa_column=Column("code", Text, primary_key=True, nullable=False))
    parent: str | None = Field(sa_column=Column("parent", Text, nullable=True))
    name_zh: str = Field(sa_column=Column("name_zh", Text, nullable=False))
    name_en: str = Field(sa_column=Column("name_en", Text, nullable=False))
    identifier: str = Field(sa_column=Column("identifier", Text, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, nullable=False))
    normal_side: str = Field(sa_column=Column("normal_side", CHAR(1), nullable=False))


class ClosedPeriod(SQLModel, table=True):
    __tablename__ = "closed_period"
    __table_args__ = {"schema": "fl"}

    month: date = Field(sa_column=Column("month", Date, primary_key=True, nullable=False))
    closed_by: str = Field(sa_column=Column("closed_by", Text, nullable=False))
    closed_at: datetime = Field(sa_column=Column("closed_at", TIMESTAMP(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))


class Entry(SQLModel, table=True):
    __tablename__ = "entry"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    entry_date: date = Field(sa_column=Column("entry_date", Date, nullable=False))
    memo: str = Field(sa_column=Column("memo", Text, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column("idempotency_key", Text, nullable=False))
    content_hash: bytes = Field(sa_column=Column("content_hash", BYTEA, nullable=False))
    reverses: int | None = Field(sa_column=Column("reverses", BigInteger, nullable=True))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    source: Any | None = Field(sa_column=Column("source", JSONB, nullable=True))
    created_by: str = Field(sa_column=Column("created_by", Text, nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", TIMESTAMP(timezone=True), nullable=False))
    client_addr: str | None = Field(sa_column=Column("client_addr", INET, nullable=True))
    created_xid: int = Field(sa_column=Column("created_xid", Xid8(), nullable=False))


class FundRequest(SQLModel, table=True):
    __tablename__ = "fund_request"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    component: str = Field(sa_column=Column("component", Text, nullable=False))
    year: int = Field(sa_column=Column("year", Integer, nullable=False))
    quarter: int = Field(sa_column=Column("quarter", Integer, nullable=False))
    amount_requested: int = Field(sa_column=Column("amount_requested", BigInteger, nullable=False))
    amount_approved: int | None = Field(sa_column=Column("amount_approved", BigInteger, nullable=True))
    state: str = Field(sa_column=Column("state", Text, nullable=False))
    note: str = Field(sa_column=Column("note", Text, nullable=False))
    justification: Any = Field(sa_column=Column("justification", JSONB, nullable=False))
    idempotency_key: str = Field(sa_column=Column("idempotency_key", Text, nullable=False))
    submitted_by: str = Field(sa_column=Column("submitted_by", Text, nullable=False))
    submitted_at: datetime = Field(sa_column=Column("submitted_at", TIMESTAMP(timezone=True), nullable=False))
    approved_by: str | None = Field(sa_column=Column("approved_by", Text, nullable=True))
    disburse_entry: int | None = Field(sa_column=Column("disburse_entry", BigInteger, nullable=True))
    settle_entry: int | None = Field(sa_column=Column("settle_entry", BigInteger, nullable=True))
    approved_on: date | None = Field(sa_column=Column("approved_on", Date, nullable=True))


class Holder(SQLModel, table=True):
    __tablename__ = "holder"
    __table_args__ = {"schema": "fl"}

    code: str = Field(sa_column=Column("code", Text, primary_key=True, nullable=False))
    chart_code: str = Field(sa_column=Column("chart_code", Text, nullable=False))
    name_zh: str = Field(sa_column=Column("name_zh", Text, nullable=False))
    name_en: str = Field(sa_column=Column("name_en", Text, nullable=False))
    pooled: bool = Field(sa_column=Column("pooled", Boolean, nullable=False))
    counties_only: bool = Field(sa_column=Column("counties_only", Boolean, nullable=False))


class ImportBatch(SQLModel, table=True):
    __tablename__ = "import_batch"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, nullable=False))
    file_name: str = Field(sa_column=Column("file_name", Text, nullable=False))
    file_sha256: str = Field(sa_column=Column("file_sha256", Text, nullable=False))
    rows_total: int = Field(sa_column=Column("rows_total", Integer, nullable=False))
    rows_posted: int = Field(sa_column=Column("rows_posted", Integer, nullable=False))
    rows_skipped: int = Field(sa_column=Column("rows_skipped", Integer, nullable=False))
    entries: int = Field(sa_column=Column("entries", Integer, nullable=False))
    imported_by: str = Field(sa_column=Column("imported_by", Text, nullable=False))
    imported_at: datetime = Field(sa_column=Column("imported_at", TIMESTAMP(timezone=True), nullable=False))


class ImportLine(SQLModel, table=True):
    __tablename__ = "import_line"
    __table_args__ = {"schema": "fl"}

    namespace: str = Field(sa_column=Column("namespace", Text, primary_key=True, nullable=False))
    reference: str = Field(sa_column=Column("reference", Text, primary_key=True, nullable=False))
    content_hash: bytes = Field(sa_column=Column("content_hash", BYTEA, nullable=False))
    entry_id: int | None = Field(sa_column=Column("entry_id", BigInteger, nullable=True))
    batch_id: int = Field(sa_column=Column("batch_id", BigInteger, nullable=False))
    row_no: int = Field(sa_column=Column("row_no", Integer, nullable=False))


class InsuredCount(SQLModel, table=True):
    """参保人数 per year, unit and book; each correction a new version (sql/0025_funding.sql)."""

    __tablename__ = "insured_count"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    year: int = Field(sa_column=Column("year", Integer, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    version: int = Field(sa_column=Column("version", Integer, nullable=False))
    insured: int = Field(sa_column=Column("insured", BigInteger, nullable=False))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    batch_id: int = Field(sa_column=Column("batch_id", BigInteger, nullable=False))
    row_no: int = Field(sa_column=Column("row_no", Integer, nullable=False))
    recorded_by: str = Field(sa_column=Column("recorded_by", Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column("recorded_at", TIMESTAMP(timezone=True), nullable=False))


class MonitorAck(SQLModel, table=True):
    __tablename__ = "monitor_ack"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    level: str = Field(sa_column=Column("level", Text, nullable=False))
    since: date = Field(sa_column=Column("since", Date, nullable=False))
    acknowledged_on: date = Field(sa_column=Column("acknowledged_on", Date, nullable=False))
    decision: str = Field(sa_column=Column("decision", Text, nullable=False))
    acknowledged_by: str = Field(sa_column=Column("acknowledged_by", Text, nullable=False))
    acknowledged_at: datetime = Field(sa_column=Column("acknowledged_at", TIMESTAMP(timezone=True), nullable=False))
    prev_hash: bytes = Field(sa_column=Column("prev_hash", BYTEA, nullable=False))
    hash: bytes = Field(sa_column=Column("hash", BYTEA, nullable=False))
    idempotency_key: str | None = Field(sa_column=Column("idempotency_key", Text, nullable=True))


class OperationLog(SQLModel, table=True):
    __tablename__ = "operation_log"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    at: datetime = Field(sa_column=Column("at", TIMESTAMP(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column("actor", Text, nullable=False))
    client_addr: str | None = Field(sa_column=Column("client_addr", INET, nullable=True))
    action: str = Field(sa_column=Column("action", Text, nullable=False))
    subject: str | None = Field(sa_column=Column("subject", Text, nullable=True))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    detail: Any = Field(sa_column=Column("detail", JSONB, nullable=False))
    prev_hash: bytes = Field(sa_column=Column("prev_hash", BYTEA, nullable=False))
    hash: bytes = Field(sa_column=Column("hash", BYTEA, nullable=False))


class PendingEntry(SQLModel, table=True):
    __tablename__ = "pending_entry"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    entry_date: date = Field(sa_column=Column("entry_date", Date, nullable=False))
    memo: str = Field(sa_column=Column("memo", Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column("idempotency_key", Text, nullable=False))
    content_hash: bytes = Field(sa_column=Column("content_hash", BYTEA, nullable=False))
    reverses: int | None = Field(sa_column=Column("reverses", BigInteger, nullable=True))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    source: Any | None = Field(sa_column=Column("source", JSONB, nullable=True))
    units: list[str] = Field(sa_column=Column("units", ARRAY(Text), nullable=False))
    made_by: str = Field(sa_column=Column("made_by", Text, nullable=False))
    made_at: datetime = Field(sa_column=Column("made_at", TIMESTAMP(timezone=True), nullable=False))
    maker_role: str = Field(sa_column=Column("maker_role", Text, nullable=False))
    maker_unit: str | None = Field(sa_column=Column("maker_unit", Text, nullable=True))
    state: str = Field(sa_column=Column("state", Text, nullable=False))
    decided_by: str | None = Field(sa_column=Column("decided_by", Text, nullable=True))
    decided_at: datetime | None = Field(sa_column=Column("decided_at", TIMESTAMP(timezone=True), nullable=True))
    decision_reason: str = Field(sa_column=Column("decision_reason", Text, nullable=False))
    entry_id: int | None = Field(sa_column=Column("entry_id", BigInteger, nullable=True))


class PendingPosting(SQLModel, table=True):
    __tablename__ = "pending_posting"
    __table_args__ = {"schema": "fl"}

    pending_id: int = Field(sa_column=Column("pending_id", BigInteger, primary_key=True, nullable=False))
    pos: int = Field(sa_column=Column("pos", Integer, primary_key=True, nullable=False))
    account_id: int = Field(sa_column=Column("account_id", Integer, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    side: str = Field(sa_column=Column("side", CHAR(1), nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))
    line_ref: str | None = Field(sa_column=Column("line_ref", Text, nullable=True))
    memo: str | None = Field(sa_column=Column("memo", Text, nullable=True))


class Posting(SQLModel, table=True):
    __tablename__ = "posting"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    entry_id: int = Field(sa_column=Column("entry_id", BigInteger, nullable=False))
    account_id: int = Field(sa_column=Column("account_id", Integer, nullable=False))
    side: str = Field(sa_column=Column("side", CHAR(1), nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))
    entry_date: date = Field(sa_column=Column("entry_date", Date, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    line_ref: str | None = Field(sa_column=Column("line_ref", Text, nullable=True))
    memo: str | None = Field(sa_column=Column("memo", Text, nullable=True))


class ReconMatch(SQLModel, table=True):
    __tablename__ = "recon_match"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    bank_account_id: int = Field(sa_column=Column("bank_account_id", Integer, nullable=False))
    match_group: int = Field(sa_column=Column("match_group", BigInteger, nullable=False))
    method: str = Field(sa_column=Column("method", Text, nullable=False))
    statement_line_id: int | None = Field(sa_column=Column("statement_line_id", BigInteger, nullable=True))
    posting_id: int | None = Field(sa_column=Column("posting_id", BigInteger, nullable=True))
    matched_by: str = Field(sa_column=Column("matched_by", Text, nullable=False))
    matched_at: datetime = Field(sa_column=Column("matched_at", TIMESTAMP(timezone=True), nullable=False))


class RulePoint(SQLModel, table=True):
    """Where a duty rule took effect (sql/0068): entries above after_entry are bound by it."""

    __tablename__ = "rule_point"
    __table_args__ = {"schema": "fl"}

    rule: str = Field(sa_column=Column("rule", Text, primary_key=True, nullable=False))
    revision: str = Field(sa_column=Column("revision", Text, nullable=False))
    after_entry: int = Field(sa_column=Column("after_entry", BigInteger, nullable=False))
    recorded_at: datetime = Field(sa_column=Column("recorded_at", TIMESTAMP(timezone=True), nullable=False))


class UnitFirstDay(SQLModel, table=True):
    """A unit's first day in a book (sql/0130, ATTACK16b D4): recorded by the statement that first
    posted on one of its fund figures (entry_id: the entry that dated it), or frozen by the
    migration (frozen_through: the journal's greatest entry id then); append-only, chained."""

    __tablename__ = "unit_first_day"
    __table_args__ = {"schema": "fl"}

    book: str = Field(sa_column=Column("book", Text, primary_key=True, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, primary_key=True, nullable=False))
    first_day: date = Field(sa_column=Column("first_day", Date, nullable=False))
    entry_id: int = Field(sa_column=Column("entry_id", BigInteger, nullable=False))
    frozen_through: int | None = Field(default=None, sa_column=Column("frozen_through", BigInteger, nullable=True))
    recorded_at: datetime = Field(sa_column=Column("recorded_at", TIMESTAMP(timezone=True), nullable=False))


class UnitJoined(SQLModel, table=True):
    """A unit's joining date (sql/0154, ATTACK17b F1): registered with the unit by ``init`` (the region
    file's ``joined``, or the first year's 1 January), or derived by the migration from the unit's
    earliest posting (source). Nothing is posted on the unit dated before it; append-only, chained."""

    __tablename__ = "unit_joined"
    __table_args__ = {"schema": "fl"}

    unit: str = Field(sa_column=Column("unit", Text, primary_key=True, nullable=False))
    joined_on: date = Field(sa_column=Column("joined_on", Date, nullable=False))
    source: str = Field(sa_column=Column("source", Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column("recorded_at", TIMESTAMP(timezone=True), nullable=False))


class UnitJoinedLater(SQLModel, table=True):
    """A unit's joining date registered after the fact by the city bureau (sql/0167): with its reason,
    the document's reference and an idempotency key; the latest of a unit's is its date in force and its
    months-payable basis. Never after the unit's first posting; append-only, chained like the journal."""

    __tablename__ = "unit_joined_later"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    joined_on: date = Field(sa_column=Column("joined_on", Date, nullable=False))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    document: str = Field(sa_column=Column("document", Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column("idempotency_key", Text, nullable=False))
    was_on: date | None = Field(sa_column=Column("was_on", Date, nullable=True))
    was_source: str | None = Field(sa_column=Column("was_source", Text, nullable=True))
    first_posting: date | None = Field(sa_column=Column("first_posting", Date, nullable=True))
    registered_by: str = Field(sa_column=Column("registered_by", Text, nullable=False))
    registered_at: datetime = Field(sa_column=Column("registered_at", TIMESTAMP(timezone=True), nullable=False))
    prev_hash: bytes = Field(sa_column=Column("prev_hash", BYTEA, nullable=False))
    hash: bytes = Field(sa_column=Column("hash", BYTEA, nullable=False))


class ManualDay(SQLModel, table=True):
    """A user's manual entries and their postings, monitoring acknowledgements, fund requests and
    bank statements (and their new lines) in one region day (sql/0073, 0078, 0085, 0108): the guard
    behind manual_daily_cap, ack_daily_cap, request_daily_cap, statement_daily_cap and import_daily_cap, not an
    auditor's record (the rows themselves are chained)."""

    __tablename__ = "manual_day"
    __table_args__ = {"schema": "fl"}

    user_name: str = Field(sa_column=Column("user_name", Text, primary_key=True, nullable=False))
    day: date = Field(sa_column=Column("day", Date, primary_key=True, nullable=False))
    n: int = Field(sa_column=Column("n", Integer, nullable=False))
    postings: int = Field(sa_column=Column("postings", BigInteger, nullable=False))
    acks: int = Field(sa_column=Column("acks", Integer, nullable=False))
    requests: int = Field(sa_column=Column("requests", Integer, nullable=False))
    statements: int = Field(sa_column=Column("statements", Integer, nullable=False))
    statement_lines: int = Field(sa_column=Column("statement_lines", BigInteger, nullable=False))
    import_rows: int = Field(sa_column=Column("import_rows", BigInteger, nullable=False))  # 0108: import_daily_cap
    reference_rows: int = Field(sa_column=Column("reference_rows", BigInteger, nullable=False))  # 0122: the same, reference data


class RecordHead(SQLModel, table=True):
    __tablename__ = "record_head"
    __table_args__ = {"schema": "fl"}

    id: bool = Field(sa_column=Column("id", Boolean, primary_key=True, nullable=False))
    seq: int = Field(sa_column=Column("seq", BigInteger, nullable=False))
    hash: bytes = Field(sa_column=Column("hash", BYTEA, nullable=False))


class RecordLog(SQLModel, table=True):
    __tablename__ = "record_log"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    seq: int | None = Field(sa_column=Column("seq", BigInteger, nullable=True))
    tbl: str = Field(sa_column=Column("tbl", Text, nullable=False))
    op: str = Field(sa_column=Column("op", Text, nullable=False))
    row_key: Any = Field(sa_column=Column("row_key", JSONB, nullable=False))
    row_data: Any = Field(sa_column=Column("row_data", JSONB, nullable=False))
    actor: str = Field(sa_column=Column("actor", Text, nullable=False))
    at: datetime = Field(sa_column=Column("at", TIMESTAMP(timezone=True), nullable=False))
    prev_hash: bytes | None = Field(sa_column=Column("prev_hash", BYTEA, nullable=True))
    hash: bytes | None = Field(sa_column=Column("hash", BYTEA, nullable=True))
    vxid: int | None = Field(sa_column=Column("vxid", Xid8(), nullable=True))
    vseal: bytes | None = Field(sa_column=Column("vseal", BYTEA, nullable=True))


class RegisterClearing(SQLModel, table=True):
    __tablename__ = "register_clearing"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    item_id: int = Field(sa_column=Column("item_id", BigInteger, nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))
    cleared_on: date = Field(sa_column=Column("cleared_on", Date, nullable=False))
    entry_id: int = Field(sa_column=Column("entry_id", BigInteger, nullable=False))
    idempotency_key: str = Field(sa_column=Column("idempotency_key", Text, nullable=False))
    created_by: str = Field(sa_column=Column("created_by", Text, nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", TIMESTAMP(timezone=True), nullable=False))


class RegisterItem(SQLModel, table=True):
    __tablename__ = "register_item"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, nullable=False))
    unit: str = Field(sa_column=Column("unit", Text, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    component: str = Field(sa_column=Column("component", Text, nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))
    cleared: int = Field(sa_column=Column("cleared", BigInteger, nullable=False))
    opened_on: date = Field(sa_column=Column("opened_on", Date, nullable=False))
    fiscal_year: int | None = Field(sa_column=Column("fiscal_year", Integer, nullable=True))
    reference: str = Field(sa_column=Column("reference", Text, nullable=False))
    note: str = Field(sa_column=Column("note", Text, nullable=False))
    created_by: str = Field(sa_column=Column("created_by", Text, nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", TIMESTAMP(timezone=True), nullable=False))


class RequestEvent(SQLModel, table=True):
    __tablename__ = "request_event"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    request_id: int = Field(sa_column=Column("request_id", BigInteger, nullable=False))
    action: str = Field(sa_column=Column("action", Text, nullable=False))
    from_state: str | None = Field(sa_column=Column("from_state", Text, nullable=True))
    to_state: str = Field(sa_column=Column("to_state", Text, nullable=False))
    amount: int | None = Field(sa_column=Column("amount", BigInteger, nullable=True))
    reason: str = Field(sa_column=Column("reason", Text, nullable=False))
    entry_id: int | None = Field(sa_column=Column("entry_id", BigInteger, nullable=True))
    actor: str = Field(sa_column=Column("actor", Text, nullable=False))
    at: datetime = Field(sa_column=Column("at", TIMESTAMP(timezone=True), nullable=False))
    client_addr: str | None = Field(sa_column=Column("client_addr", INET, nullable=True))


class Seal(SQLModel, table=True):
    __tablename__ = "seal"
    __table_args__ = {"schema": "fl"}

    entry_id: int = Field(sa_column=Column("entry_id", BigInteger, primary_key=True, nullable=False))
    seq: int = Field(sa_column=Column("seq", BigInteger, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    fiscal_year: int = Field(sa_column=Column("fiscal_year", Integer, nullable=False))
    voucher_no: int = Field(sa_column=Column("voucher_no", Integer, nullable=False))
    content_digest: bytes = Field(sa_column=Column("content_digest", BYTEA, nullable=False))
    prev_hash: bytes = Field(sa_column=Column("prev_hash", BYTEA, nullable=False))
    hash: bytes = Field(sa_column=Column("hash", BYTEA, nullable=False))
    sealed_at: datetime = Field(sa_column=Column("sealed_at", TIMESTAMP(timezone=True), nullable=False))


class SealQueue(SQLModel, table=True):
    __tablename__ = "seal_queue"
    __table_args__ = {"schema": "fl"}

    entry_id: int = Field(sa_column=Column("entry_id", BigInteger, primary_key=True, nullable=False))
    book: str = Field(sa_column=Column("book", Text, nullable=False))
    fiscal_year: int = Field(sa_column=Column("fiscal_year", Integer, nullable=False))
    content_digest: bytes = Field(sa_column=Column("content_digest", BYTEA, nullable=False))
    queued_at: datetime = Field(sa_column=Column("queued_at", TIMESTAMP(timezone=True), nullable=False))


class Setting(SQLModel, table=True):
    __tablename__ = "setting"
    __table_args__ = {"schema": "fl"}

    key: str = Field(sa_column=Column("key", Text, primary_key=True, nullable=False))
    value: Any = Field(sa_column=Column("value", JSONB, nullable=False))


class StatementLine(SQLModel, table=True):
    __tablename__ = "statement_line"
    __table_args__ = {"schema": "fl"}

    id: int = Field(sa_column=Column("id", BigInteger, primary_key=True, nullable=False))
    bank_account_id: int = Field(sa_column=Column("bank_account_id", Integer, nullable=False))
    statement_id: int = Field(sa_column=Column("statement_id", BigInteger, nullable=False))
    row_no: int = Field(sa_column=Column("row_no", Integer, nullable=False))
    line_date: date = Field(sa_column=Column("line_date", Date, nullable=False))
    direction: str = Field(sa_column=Column("direction", Text, nullable=False))
    amount: int = Field(sa_column=Column("amount", BigInteger, nullable=False))
    reference: str = Field(sa_column=Column("reference", Text, nullable=False))
    balance: int | None = Field(sa_column=Column("balance", BigInteger, nullable=True))
    twin: int | None = Field(sa_column=Column("twin", Integer, nullable=True))


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    __table_args__ = {"schema": "fl"}

    code: str = Field(sa_column=Column("code", Text, primary_key=True, nullable=False))
    name_zh: str = Field(sa_column=Column("name_zh", Text, nullable=False))
    name_en: str = Field(sa_column=Column("name_en", Text, nullable=False))
    kind: str = Field(sa_column=Column("kind", Text, nullable=False))
    sort: int = Field(sa_column=Column("sort", Integer, nullable=False))


class VoucherCounter(SQLModel, table=True):
    __tablename__ = "voucher_counter"
    __table_args__ = {"schema": "fl"}

    book: str = Field(sa_column=Column("book", Text, primary_key=True, nullable=False))
    fiscal_year: int = Field(sa_column=Column("fiscal_year", Integer, primary_key=True, nullable=False))
    last_no: int = Field(sa_column=Column("last_no", Integer, nullable=False))


class YearClose(SQLModel, table=True):
    __tablename__ = "year_close"
    __table_args__ = {"schema": "fl"}

    year: int = Field(sa_column=Column("year", Integer, primary_key=True, nullable=False))
    book: str = Field(sa_column=Column("book", Text, primary_key=True, nullable=False))
    closed_on: date = Field(sa_column=Column("closed_on", Date, nullable=False))
    result: Any = Field(sa_column=Column("result", JSONB, nullable=False))
    closed_by: str = Field(sa_column=Column("closed_by", Text, nullable=False))
    closed_at: datetime = Field(sa_column=Column("closed_at", TIMESTAMP(timezone=True), nullable=False))


# ---- drift: the models against a migrated database ------------------------------------

_COMPARED = {"table", "column"}


def _include(obj: Any, name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
    if type_ not in _COMPARED:
        return False  # constraints and indexes: the SQL's, fingerprinted by the catalogue check
    if type_ == "table":
        return bool(getattr(obj, "schema", None) == "fl" and name != "alembic_version")
    return True


def _compare_type(_ctx: Any, _inspected: Any, _metadata: Any, inspected_type: Any, metadata_type: Any) -> bool | None:
    if isinstance(metadata_type, Xid8):
        return type(inspected_type).__name__ != "NullType"  # SQLAlchemy reflects xid8 as NullType
    return None  # Alembic's own comparison


_SOURCE_TYPES = {"TEXT()": ("Text", "str"), "BIGINT()": ("BigInteger", "int"), "INTEGER()": ("Integer", "int"),
                 "TIMESTAMP(timezone=True)": ("TIMESTAMP(timezone=True)", "datetime"), "BYTEA()": ("BYTEA", "bytes"),
                 "DATE()": ("Date", "date"), "JSONB(astext_type=Text())": ("JSONB", "Any"), "INET()": ("INET", "str"),
                 "BOOLEAN()": ("Boolean", "bool"), "ARRAY(TEXT())": ("ARRAY(Text)", "list[str]"),
                 "CHAR(length=1)": ("CHAR(1)", "str"), "NullType()": ("Xid8()", "int"),
                 "VARCHAR(length=32)": ("String(32)", "str"), "ARRAY(BIGINT())": ("ARRAY(BigInteger)", "list[int]")}


def model_source(sa_conn: Any, table: str) -> str:
    """The model of a table as the database has it, to paste into this module when a
    migration adds one (the drift test prints it for every table without a model)."""
    import warnings

    from sqlalchemy import exc, inspect

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exc.SAWarning)
        insp = inspect(sa_conn)
        cols = insp.get_columns(table, schema="fl")
        pk = set(insp.get_pk_constraint(table, schema="fl")["constrained_columns"] or [])
    lines = [f"class {''.join(p.capitalize() for p in table.split('_'))}(SQLModel, table=True):",
             f'    __tablename__ = "{table}"', '    __table_args__ = {"schema": "fl"}', ""]
    for c in cols:
        sa_type, py = _SOURCE_TYPES.get(repr(c["type"]), (repr(c["type"]), "Any"))
        key = ", primary_key=True" if c["name"] in pk else ""
        ann = f"{py} | None" if c["nullable"] else py
        lines.append(f'    {c["name"]}: {ann} = Field(sa_column=Column("{c["name"]}", {sa_type}{key}, '
                     f'nullable={bool(c["nullable"])}))')
    return "\n".join(lines)


def drift(sa_conn: Any) -> list[str]:
    """Every difference between these models and the schema ``fl`` the connection sees,
    one line each (empty: they agree)."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import exc

    ctx = MigrationContext.configure(sa_conn, opts={
        "include_schemas": True, "include_object": _include, "compare_type": _compare_type,
        "include_name": lambda name, type_, _parent: type_ != "schema" or name == "fl"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exc.SAWarning)
        diffs = compare_metadata(ctx, SQLModel.metadata)
    out = []
    for diff in diffs:
        for d in diff if isinstance(diff, list) else [diff]:
            kind = d[0]
            if kind == "add_table":
                out.append(f"fl.{d[1].name}: a model, no table in the database")
            elif kind == "remove_table":
                out.append(f"fl.{d[1].name}: a table in the database, no model")
            elif kind == "add_column":
                out.append(f"fl.{d[2]}.{d[3].name}: in the model, not in the database")
            elif kind == "remove_column":
                out.append(f"fl.{d[2]}.{d[3].name}: in the database, not in the model")
            else:
                what = kind.removeprefix("modify_")
                out.append(f"fl.{d[2]}.{d[3]}: {what} is {d[5]!r} in the database, {d[6]!r} in the model")
    return sorted(out)
