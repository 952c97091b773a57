-- fundledger migration 0003: the tables of the Jiamusi fund cycle (佳政办发〔2021〕2号).
-- Functions that write them come in later migrations; app roles only read these.

-- ---------------------------------------------------------------------------
-- Row-level idempotency for file imports: each row's reference is its key.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.import_batch (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text NOT NULL,        -- collections | payments | opening | budget | statement
  file_name    text NOT NULL,
  file_sha256  text NOT NULL,
  rows_total   int  NOT NULL DEFAULT 0,
  rows_posted  int  NOT NULL DEFAULT 0,
  rows_skipped int  NOT NULL DEFAULT 0,
  entries      int  NOT NULL DEFAULT 0,
  imported_by  text NOT NULL DEFAULT session_user,
  imported_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fl.import_line (
  namespace    text   NOT NULL,      -- collections | payments | opening | ...
  reference    text   NOT NULL,
  content_hash bytea  NOT NULL,
  entry_id     bigint REFERENCES fl.entry (id),
  batch_id     bigint NOT NULL REFERENCES fl.import_batch (id),
  row_no       int    NOT NULL,
  PRIMARY KEY (namespace, reference)
);

-- ---------------------------------------------------------------------------
-- Memo registers (备查簿): obligations that are not cash, tracked until settled.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.register_item (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('fiscal_arrears','employer_arrears','unpaid_claims','government_share')),
  unit        text NOT NULL REFERENCES fl.unit (code),
  book        text NOT NULL REFERENCES fl.book (code),
  component   text NOT NULL DEFAULT '',
  amount      bigint NOT NULL CHECK (amount > 0),
  cleared     bigint NOT NULL DEFAULT 0,
  opened_on   date NOT NULL,
  fiscal_year int,                    -- for government shares: the year whose gap it covers
  reference   text NOT NULL UNIQUE,   -- idempotency key of the item
  note        text NOT NULL DEFAULT '',
  created_by  text NOT NULL DEFAULT session_user,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT register_not_overcleared CHECK (cleared >= 0 AND cleared <= amount)
);

CREATE TABLE fl.register_clearing (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  item_id         bigint NOT NULL REFERENCES fl.register_item (id),
  amount          bigint NOT NULL CHECK (amount > 0),
  cleared_on      date NOT NULL,
  entry_id        bigint NOT NULL REFERENCES fl.entry (id),
  idempotency_key text NOT NULL UNIQUE,
  created_by      text NOT NULL DEFAULT session_user,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------
-- Budgets (以收定支、收支平衡、略有结余): one per (year, unit, book), versioned.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.budget (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year         int  NOT NULL,
  unit         text NOT NULL REFERENCES fl.unit (code),
  book         text NOT NULL REFERENCES fl.book (code),
  version      int  NOT NULL DEFAULT 1,
  content_hash bytea NOT NULL,
  imported_by  text NOT NULL DEFAULT session_user,
  imported_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (year, unit, book, version)
);

CREATE TABLE fl.budget_line (
  budget_id bigint NOT NULL REFERENCES fl.budget (id),
  component text   NOT NULL DEFAULT '',
  line      text   NOT NULL REFERENCES fl.chart (code),   -- a chart code (4001, 4101, 5001, 5101, …)
  amount    bigint NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (budget_id, component, line)
);

-- The budget in force: the latest version per (year, unit, book).
CREATE VIEW fl.budget_current AS
SELECT b.year, b.unit, b.book, b.version, l.component, l.line, c.kind, l.amount
  FROM fl.budget b
  JOIN fl.budget_line l ON l.budget_id = b.id
  JOIN fl.chart c ON c.code = l.line
 WHERE b.version = (SELECT max(b2.version) FROM fl.budget b2
                     WHERE b2.year = b.year AND b2.unit = b.unit AND b2.book = b.book);

-- ---------------------------------------------------------------------------
-- Quarterly fund requests (按季提报用款申请) and their append-only history.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.fund_request (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  unit             text NOT NULL REFERENCES fl.unit (code),
  book             text NOT NULL REFERENCES fl.book (code),
  component        text NOT NULL DEFAULT '',
  year             int  NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  quarter          int  NOT NULL CHECK (quarter BETWEEN 1 AND 4),
  amount_requested bigint NOT NULL CHECK (amount_requested > 0),
  amount_approved  bigint CHECK (amount_approved > 0 AND amount_approved <= amount_requested),
  state            text NOT NULL DEFAULT 'submitted'
                   CHECK (state IN ('submitted','approved','rejected','disbursed','settled','voided')),
  note             text NOT NULL DEFAULT '',
  justification    jsonb NOT NULL DEFAULT '{}',
  idempotency_key  text NOT NULL UNIQUE,
  submitted_by     text NOT NULL DEFAULT session_user,
  submitted_at     timestamptz NOT NULL DEFAULT now(),
  approved_by      text,
  disburse_entry   bigint REFERENCES fl.entry (id),
  settle_entry     bigint REFERENCES fl.entry (id),
  CONSTRAINT approver_is_not_submitter CHECK (approved_by IS NULL OR approved_by <> submitted_by)
);

CREATE TABLE fl.request_event (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id  bigint NOT NULL REFERENCES fl.fund_request (id),
  action      text NOT NULL CHECK (action IN ('submit','approve','reject','disburse','settle','void')),
  from_state  text,
  to_state    text NOT NULL,
  amount      bigint,
  reason      text NOT NULL DEFAULT '',
  entry_id    bigint REFERENCES fl.entry (id),
  actor       text NOT NULL DEFAULT session_user,
  at          timestamptz NOT NULL DEFAULT now(),
  client_addr inet DEFAULT inet_client_addr()
);
CREATE INDEX request_event_request ON fl.request_event (request_id);

-- ---------------------------------------------------------------------------
-- Year-end close (年终结转) per (year, book): once only.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.year_close (
  year       int  NOT NULL,
  book       text NOT NULL REFERENCES fl.book (code),
  closed_on  date NOT NULL,
  result     jsonb NOT NULL,          -- the shortfall table as computed at close
  closed_by  text NOT NULL DEFAULT session_user,
  closed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (year, book)
);

-- History is append-only; workflow rows change only through the API functions.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['import_line','register_clearing','request_event','year_close','budget_line'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.refuse_change()',
                   t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_truncate', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['import_batch','register_item','budget','fund_request'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_delete', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_truncate', t);
  END LOOP;
END $$;

REVOKE ALL ON fl.import_batch, fl.import_line, fl.register_item, fl.register_clearing, fl.budget, fl.budget_line,
  fl.budget_current, fl.fund_request, fl.request_event, fl.year_close FROM PUBLIC;
GRANT SELECT ON fl.import_batch, fl.import_line, fl.register_item, fl.register_clearing, fl.budget, fl.budget_line,
  fl.budget_current, fl.fund_request, fl.request_event, fl.year_close
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

-- Officers read only their own unit's workflow rows.
ALTER TABLE fl.register_item ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.fund_request ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.budget ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.register_item FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
CREATE POLICY unit_rows ON fl.fund_request FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
CREATE POLICY unit_rows ON fl.budget FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
