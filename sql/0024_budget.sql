-- fundledger migration 0024: budget adjustments (预算调整) and the annual plan (年度收支计划)
-- (issue 20, 佳政办发〔2021〕2号 §三(三)1).
--
-- 1. A budget is versioned since 0003 (fl.budget.version); a new version could be made by
--    importing a changed file, with nobody saying why. Every version after the first is now
--    an adjustment: fl.budget_adjustment holds who (the login), when and the reason, one row
--    per version, append-only and in the record's history (fl._chain_table, 0010). A
--    deferred constraint trigger refuses, at commit, a version > 1 without its adjustment
--    row, whoever inserts it (raw SQL included). Two ways in, both reviewer:
--      fl.budget_adjust(year, unit, book, lines, reason, key): the version in force with
--        some lines set to new amounts (0 removes a line), idempotent by key;
--      fl.budget_import_reason(reason): after `budget import` of a changed file, records the
--        reason for each version the import just made.
-- 2. The annual plan (年度收支计划): per year, unit and book, the revenue and expenditure
--    planned for each quarter or each month; versioned like the budget (a changed plan is a
--    new version; versions kept, chained). Pre-allocation's budget basis and the request
--    justification use it instead of the annual budget ÷ 4 (or ÷ 12) where one exists.

-- ---------------------------------------------------------------------------
-- 1. Budget adjustments
-- ---------------------------------------------------------------------------
CREATE TABLE fl.budget_adjustment (
  budget_id       bigint PRIMARY KEY REFERENCES fl.budget (id),
  reason          text   NOT NULL CONSTRAINT budget_adjustment_reason CHECK (btrim(reason) <> '' AND length(reason) <= 2000),
  changes         jsonb  NOT NULL DEFAULT '[]',   -- the lines set: [{component, line, amount}] ([] for an import)
  idempotency_key text   NOT NULL UNIQUE CHECK (btrim(idempotency_key) <> '' AND length(idempotency_key) <= 200),
  adjusted_by     text   NOT NULL DEFAULT session_user,
  adjusted_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER budget_adjustment_append_only BEFORE UPDATE OR DELETE ON fl.budget_adjustment
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER budget_adjustment_no_truncate BEFORE TRUNCATE ON fl.budget_adjustment
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

-- Versions made before this migration: their reason was never asked for; said so, once.
INSERT INTO fl.budget_adjustment (budget_id, reason, idempotency_key, adjusted_by, adjusted_at)
SELECT b.id, 'imported before migration 0024, which began asking for a reason; none was recorded',
       'migration-0024:' || b.id, b.imported_by, b.imported_at
  FROM fl.budget b WHERE b.version > 1 ORDER BY b.id;

-- At commit: a budget version after the first carries its reason, and none is made for a
-- closed year (its budget is what the final accounts compare against).
CREATE FUNCTION fl.budget_version_explained() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NEW.version > 1 AND EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = NEW.year AND yc.book = NEW.book) THEN
    PERFORM fl.refuse('budget_year_closed', format(
      'the year %s of book %s is closed: its budget is final and cannot be adjusted', NEW.year, NEW.book));
  END IF;
  IF NEW.version > 1 AND NOT EXISTS (SELECT 1 FROM fl.budget_adjustment a WHERE a.budget_id = NEW.id) THEN
    PERFORM fl.refuse('budget_adjustment_reason', format(
      'budget %s %s %s version %s changes the budget in force: an adjustment needs a reason '
      '(budget import --reason, or budget adjust)', NEW.year, NEW.unit, NEW.book, NEW.version));
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.budget_version_explained() FROM PUBLIC;
CREATE CONSTRAINT TRIGGER budget_version_explained AFTER INSERT ON fl.budget
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fl.budget_version_explained();

-- The content hash of a set of lines, as fl.import_budget computes it (so an import of the
-- same lines after an adjustment is 'unchanged').
CREATE FUNCTION fl._budget_hash(p_lines jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT sha256(convert_to(coalesce(string_agg(
           (l ->> 'component') || ':' || (l ->> 'line') || ':' || (l ->> 'amount'), ','
           ORDER BY l ->> 'component', l ->> 'line'), ''), 'UTF8'))
    FROM jsonb_array_elements(p_lines) l
$$;
REVOKE ALL ON FUNCTION fl._budget_hash(jsonb) FROM PUBLIC;

-- A new version of the budget in force for (year, unit, book): its lines, with those in
-- p_lines ([{component, line, amount}], amount in fen; 0 removes the line) set.
CREATE FUNCTION fl.budget_adjust(p_year int, p_unit text, p_book text, p_lines jsonb, p_reason text, p_key text)
RETURNS TABLE (budget_id bigint, version int, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'adjust budgets');
  cur   fl.budget;
  bk    fl.book;
  a     fl.budget_adjustment;
  chg   jsonb;
  merged jsonb;
  bad   text;
  nid   bigint;
BEGIN
  IF coalesce(btrim(p_key), '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a budget adjustment needs an idempotency key');
  END IF;
  IF coalesce(btrim(p_reason), '') = '' THEN
    PERFORM fl.refuse('budget_adjustment_reason', 'a budget adjustment needs a reason (it is kept in the record)');
  END IF;
  IF p_lines IS NULL OR jsonb_typeof(p_lines) <> 'array' OR jsonb_array_length(p_lines) = 0 THEN
    PERFORM fl.refuse('budget_adjustment_lines', 'a budget adjustment sets at least one line');
  END IF;
  SELECT * INTO bk FROM fl.book WHERE code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  -- The lines as given, normalised: component lower case ('' when the book has none).
  SELECT jsonb_agg(jsonb_build_object('component', lower(coalesce(l ->> 'component', '')), 'line', l ->> 'line',
                                      'amount', (l ->> 'amount')::bigint) ORDER BY lower(coalesce(l ->> 'component', '')), l ->> 'line')
    INTO chg FROM jsonb_array_elements(p_lines) l;

  SELECT * INTO a FROM fl.budget_adjustment x WHERE x.idempotency_key = p_key;
  IF FOUND THEN
    SELECT * INTO cur FROM fl.budget b WHERE b.id = a.budget_id;
    IF (cur.year, cur.unit, cur.book, a.changes, a.reason, a.adjusted_by)
       IS DISTINCT FROM (p_year, p_unit, p_book, chg, btrim(p_reason), session_user::text) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by budget adjustment %s with different content; nothing was written',
        p_key, a.budget_id), 'unique_violation');
    END IF;
    RETURN QUERY SELECT cur.id, cur.version, 'duplicate'::text;
    RETURN;
  END IF;

  IF EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = p_year AND yc.book = p_book) THEN
    PERFORM fl.refuse('budget_year_closed', format(
      'the year %s of book %s is closed: its budget is final and cannot be adjusted', p_year, p_book));
  END IF;
  SELECT * INTO cur FROM fl.budget b WHERE b.year = p_year AND b.unit = p_unit AND b.book = p_book
   ORDER BY b.version DESC LIMIT 1 FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no budget %s %s %s to adjust; import it first (budget import)',
                                          p_year, p_unit, p_book), 'no_data_found');
  END IF;
  SELECT format('line %s: %s', l ->> 'line', CASE
           WHEN c.code IS NULL THEN 'not a chart account'
           WHEN c.kind NOT IN ('revenue', 'expenditure') THEN 'not a revenue (4xxx) or expenditure (5xxx) account'
           WHEN (l ->> 'amount') IS NULL OR (l ->> 'amount')::bigint < 0 THEN 'the amount must be zero or more'
           WHEN cardinality(bk.components) > 0 AND NOT (l ->> 'component') = ANY (bk.components)
             THEN format('book %s needs a component (%s)', p_book, array_to_string(bk.components, ' or '))
           WHEN cardinality(bk.components) = 0 AND (l ->> 'component') <> ''
             THEN format('book %s has no components', p_book) END)
    INTO bad
    FROM jsonb_array_elements(chg) l LEFT JOIN fl.chart c ON c.code = l ->> 'line'
   WHERE c.code IS NULL OR c.kind NOT IN ('revenue', 'expenditure') OR (l ->> 'amount') IS NULL
      OR (l ->> 'amount')::bigint < 0
      OR (cardinality(bk.components) > 0 AND NOT (l ->> 'component') = ANY (bk.components))
      OR (cardinality(bk.components) = 0 AND (l ->> 'component') <> '')
   LIMIT 1;
  IF bad IS NOT NULL THEN
    PERFORM fl.refuse('budget_adjustment_lines', format('budget adjustment refused, nothing written: %s', bad));
  END IF;
  IF (SELECT count(*) FROM jsonb_array_elements(chg)) <>
     (SELECT count(DISTINCT (l ->> 'component', l ->> 'line')) FROM jsonb_array_elements(chg) l) THEN
    PERFORM fl.refuse('budget_adjustment_lines', 'budget adjustment refused, nothing written: a line is set twice');
  END IF;

  -- The version in force, with the given lines replacing (or adding to) its own.
  SELECT coalesce(jsonb_agg(m ORDER BY m ->> 'component', m ->> 'line'), '[]') INTO merged FROM (
    SELECT jsonb_build_object('component', l.component, 'line', l.line, 'amount', l.amount) AS m
      FROM fl.budget_line l
     WHERE l.budget_id = cur.id
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(chg) c
                        WHERE c ->> 'component' = l.component AND c ->> 'line' = l.line)
    UNION ALL
    SELECT c FROM jsonb_array_elements(chg) c WHERE (c ->> 'amount')::bigint > 0) x;
  SELECT format('line %s is a sub-account of line %s in the same budget; give one or the other', ch.code, ch.parent)
    INTO bad
    FROM jsonb_array_elements(merged) c JOIN fl.chart ch ON ch.code = c ->> 'line'
    JOIN jsonb_array_elements(merged) p ON p ->> 'line' = ch.parent AND p ->> 'component' = c ->> 'component'
   LIMIT 1;
  IF bad IS NOT NULL THEN
    PERFORM fl.refuse('budget_adjustment_lines', format('budget adjustment refused, nothing written: %s', bad));
  END IF;
  IF fl._budget_hash(merged) = cur.content_hash THEN
    PERFORM fl.refuse('budget_adjustment_lines', format(
      'budget adjustment refused, nothing written: it leaves budget %s %s %s version %s as it is',
      p_year, p_unit, p_book, cur.version));
  END IF;
  IF jsonb_array_length(merged) = 0 THEN
    PERFORM fl.refuse('budget_adjustment_lines', 'budget adjustment refused, nothing written: it removes every line');
  END IF;

  INSERT INTO fl.budget (year, unit, book, version, content_hash)
  VALUES (p_year, p_unit, p_book, cur.version + 1, fl._budget_hash(merged))
  RETURNING id INTO nid;
  INSERT INTO fl.budget_line (budget_id, component, line, amount)
  SELECT nid, m ->> 'component', m ->> 'line', (m ->> 'amount')::bigint FROM jsonb_array_elements(merged) m;
  INSERT INTO fl.budget_adjustment (budget_id, reason, changes, idempotency_key)
  VALUES (nid, btrim(p_reason), chg, p_key);
  RETURN QUERY SELECT nid, cur.version + 1, 'adjusted'::text;
END $$;

-- After `budget import` of changed lines (same transaction): the reason for every version
-- after the first that this transaction's import made. Returns how many.
CREATE FUNCTION fl.budget_import_reason(p_reason text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer'], 'import budgets');
  n int;
  first text;
BEGIN
  SELECT format('%s %s %s version %s', b.year, b.unit, b.book, b.version), count(*) OVER ()
    INTO first, n
    FROM fl.budget b
   WHERE b.imported_at = now() AND b.imported_by = session_user AND b.version > 1
     AND NOT EXISTS (SELECT 1 FROM fl.budget_adjustment a WHERE a.budget_id = b.id)
   ORDER BY b.year, b.unit, b.book LIMIT 1;
  IF coalesce(n, 0) = 0 THEN
    RETURN 0;
  END IF;
  IF coalesce(btrim(p_reason), '') = '' THEN
    PERFORM fl.refuse('budget_adjustment_reason', format(
      'the file changes the budget in force (%s and %s in all): an adjustment needs a reason; give --reason',
      first, n));
  END IF;
  INSERT INTO fl.budget_adjustment (budget_id, reason, idempotency_key)
  SELECT b.id, btrim(p_reason), 'budget-import:' || b.id
    FROM fl.budget b
   WHERE b.imported_at = now() AND b.imported_by = session_user AND b.version > 1
     AND NOT EXISTS (SELECT 1 FROM fl.budget_adjustment a WHERE a.budget_id = b.id);
  RETURN n;
END $$;

-- ---------------------------------------------------------------------------
-- 2. The annual plan (年度收支计划), by quarter or by month
-- ---------------------------------------------------------------------------
CREATE TABLE fl.budget_plan (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year         int  NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  unit         text NOT NULL REFERENCES fl.unit (code),
  book         text NOT NULL REFERENCES fl.book (code),
  version      int  NOT NULL CHECK (version >= 1),
  granularity  text NOT NULL CONSTRAINT plan_granularity CHECK (granularity IN ('quarter', 'month')),
  content_hash bytea NOT NULL,
  imported_by  text NOT NULL DEFAULT session_user,
  imported_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (year, unit, book, version),
  UNIQUE (id, granularity)
);
CREATE TABLE fl.budget_plan_line (
  plan_id     bigint NOT NULL,
  granularity text   NOT NULL,
  component   text   NOT NULL DEFAULT '',
  kind        text   NOT NULL CONSTRAINT plan_kind CHECK (kind IN ('revenue', 'expenditure')),
  period      int    NOT NULL,
  amount      bigint NOT NULL CONSTRAINT plan_amount CHECK (amount >= 0),
  PRIMARY KEY (plan_id, component, kind, period),
  FOREIGN KEY (plan_id, granularity) REFERENCES fl.budget_plan (id, granularity),
  CONSTRAINT plan_period CHECK ((granularity = 'quarter' AND period BETWEEN 1 AND 4)
                                OR (granularity = 'month' AND period BETWEEN 1 AND 12))
);
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['budget_plan', 'budget_plan_line'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.refuse_change()',
                   t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_truncate', t);
  END LOOP;
END $$;

-- The plan in force: the latest version per (year, unit, book).
CREATE VIEW fl.budget_plan_current WITH (security_invoker = true) AS
SELECT p.year, p.unit, p.book, p.version, p.granularity, l.component, l.kind, l.period, l.amount
  FROM fl.budget_plan p JOIN fl.budget_plan_line l ON l.plan_id = p.id
 WHERE p.version = (SELECT max(p2.version) FROM fl.budget_plan p2
                     WHERE p2.year = p.year AND p2.unit = p.unit AND p2.book = p.book);

-- One quarter's planned expenditure (fen) of (year, unit, book, component); NULL without a plan.
-- A monthly plan sums the quarter's three months.
CREATE FUNCTION fl.plan_quarter_expenditure(p_unit text, p_book text, p_component text, p_year int, p_quarter int)
RETURNS bigint LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE WHEN count(*) > 0 THEN coalesce(sum(c.amount) FILTER (
           WHERE c.kind = 'expenditure' AND ((c.granularity = 'quarter' AND c.period = p_quarter)
                 OR (c.granularity = 'month' AND (c.period + 2) / 3 = p_quarter))), 0)::bigint END
    FROM fl.budget_plan_current c
   WHERE c.year = p_year AND c.unit = p_unit AND c.book = p_book AND c.component = coalesce(p_component, '')
$$;

-- Import a plan: p_rows [{year, unit, book, component, granularity, kind, period, amount}]
-- as read and checked row by row by ledger.core.plan. Per (year, unit, book): the same lines
-- as the plan in force are 'unchanged'; different ones a new version. Reviewer.
CREATE FUNCTION fl.plan_import(p_rows jsonb) RETURNS TABLE (year int, unit text, book text, version int, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'import annual plans');
  g   record;
  cur fl.budget_plan;
  h   bytea;
  nid bigint;
BEGIN
  IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' OR jsonb_array_length(p_rows) = 0 THEN
    PERFORM fl.refuse('plan_rows', 'an annual plan has at least one row');
  END IF;
  FOR g IN
    SELECT (r ->> 'year')::int AS y, r ->> 'unit' AS un, r ->> 'book' AS bk,
           min(r ->> 'granularity') AS gran, count(DISTINCT r ->> 'granularity') AS grans,
           jsonb_agg(r ORDER BY r ->> 'component', r ->> 'kind', (r ->> 'period')::int) AS rows
      FROM jsonb_array_elements(p_rows) r GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  LOOP
    IF g.grans > 1 THEN
      PERFORM fl.refuse('plan_granularity', format('the plan %s %s %s mixes quarters and months; give one or the other',
                                                   g.y, g.un, g.bk));
    END IF;
    h := sha256(convert_to(g.gran || '|' || (SELECT string_agg(
           (x ->> 'component') || ':' || (x ->> 'kind') || ':' || (x ->> 'period') || ':' || (x ->> 'amount'), ','
           ORDER BY x ->> 'component', x ->> 'kind', (x ->> 'period')::int) FROM jsonb_array_elements(g.rows) x), 'UTF8'));
    SELECT * INTO cur FROM fl.budget_plan p WHERE p.year = g.y AND p.unit = g.un AND p.book = g.bk
     ORDER BY p.version DESC LIMIT 1 FOR UPDATE;
    IF FOUND AND cur.content_hash = h THEN
      RETURN QUERY SELECT g.y, g.un, g.bk, cur.version, 'unchanged'::text;
      CONTINUE;
    END IF;
    INSERT INTO fl.budget_plan (year, unit, book, version, granularity, content_hash)
    VALUES (g.y, g.un, g.bk, coalesce(cur.version, 0) + 1, g.gran, h) RETURNING id INTO nid;
    INSERT INTO fl.budget_plan_line (plan_id, granularity, component, kind, period, amount)
    SELECT nid, g.gran, x ->> 'component', x ->> 'kind', (x ->> 'period')::int, (x ->> 'amount')::bigint
      FROM jsonb_array_elements(g.rows) x;
    RETURN QUERY SELECT g.y, g.un, g.bk, coalesce(cur.version, 0) + 1, 'created'::text;
  END LOOP;
END $$;

-- ---------------------------------------------------------------------------
-- 3. The request justification (0005) takes the quarter: the quarter's planned expenditure
--    where a plan exists, else the annual budget ÷ 4 (half-up) as before; 'quarter_basis'
--    says which. fl.request_submit passes its quarter.
-- ---------------------------------------------------------------------------
-- (One function, not an overload beside 0005's: the sweep reads functions by name.)
REVOKE ALL ON FUNCTION fl.request_justification(text, text, text, int) FROM fl_officer, fl_reviewer, fl_finance,
  fl_auditor, fl_admin;
DROP FUNCTION fl.request_justification(text, text, text, int);
CREATE FUNCTION fl.request_justification(p_unit text, p_book text, p_component text, p_year int, p_quarter int)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH budget AS (
    SELECT coalesce(sum(b.amount), 0)::bigint AS annual, max(b.version) AS version
      FROM fl.budget_current b
     WHERE b.year = p_year AND b.unit = p_unit AND b.book = p_book AND b.component = p_component
       AND b.kind = 'expenditure'),
  planned AS (
    SELECT fl.plan_quarter_expenditure(p_unit, p_book, p_component, p_year, p_quarter) AS quarter),
  spent AS (
    SELECT coalesce(sum(f.net), 0)::bigint AS spent
      FROM fl.year_flows(p_book, make_date(p_year, 1, 1), make_date(p_year, 12, 31)) f
     WHERE f.unit = p_unit AND f.component = p_component AND f.kind = 'expenditure'),
  held AS (
    SELECT coalesce(sum(a.balance) FILTER (WHERE a.holder = 'county_exp'), 0)::bigint AS county_exp,
           coalesce(sum(a.balance) FILTER (WHERE a.holder = 'city_exp'), 0)::bigint AS city_exp,
           coalesce(sum(a.balance) FILTER (WHERE a.holder = 'special'), 0)::bigint AS special
      FROM fl.account a
     WHERE a.book = p_book AND a.unit = p_unit AND a.component = p_component
       AND a.holder IN ('county_exp', 'city_exp', 'special')),
  approved AS (
    SELECT coalesce(sum(r.amount_approved), 0)::bigint AS approved
      FROM fl.fund_request r
     WHERE r.unit = p_unit AND r.book = p_book AND r.component = p_component AND r.year = p_year
       AND r.state IN ('approved', 'disbursed', 'settled'))
  SELECT jsonb_build_object(
    'annual_budget_expenditure', budget.annual,
    'budget_version', budget.version,
    'budget_for_quarter', coalesce(planned.quarter, (2 * budget.annual + 4) / 8),
    'quarter', p_quarter,
    'quarter_basis', CASE WHEN planned.quarter IS NULL THEN 'annual_div_4' ELSE 'plan' END,
    'spent_to_date', greatest(spent.spent, 0),
    'held_county_exp', held.county_exp,
    'held_city_exp', held.city_exp,
    'held_special', held.special,
    'balances_held', held.county_exp + held.city_exp + held.special,
    'approved_this_year', approved.approved,
    'as_of', current_date)
  FROM budget, planned, spent, held, approved
$$;

CREATE OR REPLACE FUNCTION fl.request_submit(p_unit text, p_book text, p_component text, p_year int, p_quarter int,
                                  p_amount bigint, p_note text, p_key text)
RETURNS TABLE (id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'submit fund requests');
  bk   fl.book;
  r    fl.fund_request;
  comp text := coalesce(p_component, '');
BEGIN
  IF u.role = 'officer' AND p_unit IS DISTINCT FROM u.unit THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may not submit requests for unit %s',
      u.name, u.unit, p_unit), 'insufficient_privilege');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit WHERE code = p_unit) THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  END IF;
  SELECT * INTO bk FROM fl.book WHERE code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF cardinality(bk.components) > 0 AND NOT comp = ANY (bk.components) THEN
    PERFORM fl.refuse('account_component', format('book %s needs a component (%s) on a request; got ''%s''',
      p_book, array_to_string(bk.components, ' or '), comp));
  ELSIF cardinality(bk.components) = 0 AND comp <> '' THEN
    PERFORM fl.refuse('account_component', format('book %s has no components; got ''%s''', p_book, comp));
  END IF;
  IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2100 OR p_quarter IS NULL OR p_quarter NOT BETWEEN 1 AND 4 THEN
    PERFORM fl.refuse('request_period', format('a request is for a year 2000–2100 and a quarter 1–4; got %s Q%s',
      p_year, p_quarter));
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the amount requested must be positive');
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a request needs an idempotency key');
  END IF;

  SELECT * INTO r FROM fl.fund_request WHERE idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested, r.note)
       IS DISTINCT FROM (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, '')) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by request %s with different content; nothing was written', p_key, r.id),
        'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text;
    RETURN;
  END IF;

  INSERT INTO fl.fund_request (unit, book, component, year, quarter, amount_requested, note, justification,
                               idempotency_key)
  VALUES (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, ''),
          fl.request_justification(p_unit, p_book, comp, p_year, p_quarter), p_key)
  RETURNING * INTO r;
  PERFORM fl._request_event(r, 'submit', 'submitted', p_amount, p_note, NULL);
  RETURN QUERY SELECT r.id, 'submitted'::text;
END $$;

-- ---------------------------------------------------------------------------
-- Privileges, row security, the record's history
-- ---------------------------------------------------------------------------
REVOKE ALL ON fl.budget_adjustment, fl.budget_plan, fl.budget_plan_line, fl.budget_plan_current FROM PUBLIC;
GRANT SELECT ON fl.budget_adjustment, fl.budget_plan, fl.budget_plan_line, fl.budget_plan_current
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor;
ALTER TABLE fl.budget_adjustment ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.budget_plan ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.budget_plan_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.budget_adjustment FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.budget b WHERE b.id = budget_adjustment.budget_id));
CREATE POLICY unit_rows ON fl.budget_plan FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
CREATE POLICY unit_rows ON fl.budget_plan_line FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.budget_plan p WHERE p.id = budget_plan_line.plan_id));

REVOKE ALL ON FUNCTION fl.budget_adjust(int, text, text, jsonb, text, text), fl.budget_import_reason(text),
  fl.plan_import(jsonb), fl.plan_quarter_expenditure(text, text, text, int, int),
  fl.request_justification(text, text, text, int, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.budget_adjust(int, text, text, jsonb, text, text), fl.budget_import_reason(text),
  fl.plan_import(jsonb) TO fl_reviewer;
GRANT EXECUTE ON FUNCTION fl.plan_quarter_expenditure(text, text, text, int, int),
  fl.request_justification(text, text, text, int, int)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

SELECT fl._chain_table(t.name, t.keys) FROM (VALUES
  ('fl.budget_adjustment', ARRAY['budget_id']),
  ('fl.budget_plan', ARRAY['id']),
  ('fl.budget_plan_line', ARRAY['plan_id', 'component', 'kind', 'period'])
) AS t(name, keys) ORDER BY t.name;
