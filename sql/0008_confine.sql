-- fundledger migration 0008: every role confined (issue 14, part A).
--
-- Rule: a SECURITY DEFINER function runs as a role that is not a superuser, cannot log
-- in and holds only what the ledger needs; it never touches an object its caller created
-- or could have created first; it pins search_path (pg_catalog first, pg_temp last) and
-- builds dynamic SQL only from names on a list it owns. docs/security.md says what this
-- prevents and what it does not; tests/security/ attacks it through each role's login.
--
--   1. fl_owner, the owner of schema fl and of everything in it (tables, views,
--      sequences, types, functions). Until now the migrating login owned them, and on
--      the embedded server that is the superuser: any escape from a definer function
--      was total. Later migrations run as fl_owner (sql/migrations/runner.py).
--   2. No caller-made or pre-creatable objects reach definer code: close_year's
--      close_bal and the handover's fl_ho_acc work tables are gone (arrays instead).
--   3. Every fl function that is not an inlined SQL helper pins search_path.
--   4. Row security where it was missing: fl.budget_current runs as the caller;
--      import_batch, import_line, year_close and app_user have policies.

-- ===========================================================================
-- 1. The owner role.
-- ===========================================================================
-- Attributes: NOLOGIN, no SUPERUSER / CREATEDB / REPLICATION / BYPASSRLS. CREATEROLE
-- only on PostgreSQL 16 and later, for fl.add_user's CREATE ROLE: since 16 a CREATEROLE
-- role can create only ordinary roles (no SUPERUSER, REPLICATION or BYPASSRLS unless it
-- has them), can alter, drop or grant only roles it has ADMIN OPTION on (those it
-- created, and the five fl_* groups granted below), and cannot give itself membership
-- in pg_execute_server_program or any other role it does not administer. On 15 and
-- earlier CREATEROLE could grant any role, including those predefined roles that run
-- programs and read files as the server: there fl_owner gets no CREATEROLE and login
-- roles are created by the DBA before `user add` (fl.add_user then only grants).
DO $$
DECLARE
  v16 boolean := current_setting('server_version_num')::int >= 160000;
  me  pg_catalog.pg_roles;
  o   pg_catalog.pg_roles;
  g   text;
BEGIN
  SELECT * INTO me FROM pg_catalog.pg_roles WHERE rolname = current_user;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'fl_owner') THEN
    BEGIN
      CREATE ROLE fl_owner NOLOGIN NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS INHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- roles are cluster-wide: a migration of another database on this server made it first
    END;
  END IF;
  SELECT * INTO o FROM pg_catalog.pg_roles WHERE rolname = 'fl_owner';
  IF o.rolsuper OR o.rolcanlogin OR o.rolreplication OR o.rolbypassrls OR o.rolcreatedb
     OR (o.rolcreaterole AND NOT v16) THEN
    IF NOT me.rolsuper THEN
      RAISE EXCEPTION 'role fl_owner exists with more rights than the ledger allows (superuser, login, createdb, '
                      'replication or bypassrls); a superuser must run: ALTER ROLE fl_owner NOSUPERUSER NOLOGIN '
                      'NOCREATEDB NOREPLICATION NOBYPASSRLS'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    ALTER ROLE fl_owner NOSUPERUSER NOLOGIN NOCREATEDB NOREPLICATION NOBYPASSRLS;
    IF NOT v16 THEN
      ALTER ROLE fl_owner NOCREATEROLE;
    END IF;
  END IF;
  IF v16 AND NOT o.rolcreaterole THEN
    ALTER ROLE fl_owner CREATEROLE;
  END IF;
  -- fl.add_user grants the groups: fl_owner administers them, without using their rights.
  FOREACH g IN ARRAY ARRAY['fl_officer','fl_reviewer','fl_finance','fl_auditor','fl_admin'] LOOP
    IF v16 THEN
      EXECUTE format('GRANT %I TO fl_owner WITH ADMIN TRUE, INHERIT FALSE, SET FALSE', g);
    ELSE
      EXECUTE format('GRANT %I TO fl_owner WITH ADMIN OPTION', g);
    END IF;
  END LOOP;
  -- A migrating login that is not a superuser (a DBA on a server) keeps managing the
  -- schema through membership in fl_owner; re-owning the schema needs CREATE on the
  -- database for the new owner (a superuser is not asked for it).
  IF NOT me.rolsuper THEN
    IF v16 THEN
      EXECUTE format('GRANT fl_owner TO %I WITH INHERIT TRUE, SET TRUE', current_user);
    ELSE
      EXECUTE format('GRANT fl_owner TO %I', current_user);
    END IF;
    EXECUTE format('GRANT CREATE ON DATABASE %I TO fl_owner', current_database());
  END IF;
END $$;

-- ===========================================================================
-- 1b. Re-own the schema and everything in it. Indexes, triggers, policies, row types
--     and sequences owned by a column follow their table.
-- ===========================================================================
ALTER SCHEMA fl OWNER TO fl_owner;
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS rel, c.relkind FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'fl'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
       AND c.relowner <> 'fl_owner'::regrole
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
                          AND d.refclassid = 'pg_class'::regclass)
     ORDER BY c.oid
  LOOP
    EXECUTE format(CASE r.relkind WHEN 'v' THEN 'ALTER VIEW %s OWNER TO fl_owner'
                                  WHEN 'm' THEN 'ALTER MATERIALIZED VIEW %s OWNER TO fl_owner'
                                  WHEN 'S' THEN 'ALTER SEQUENCE %s OWNER TO fl_owner'
                                  WHEN 'f' THEN 'ALTER FOREIGN TABLE %s OWNER TO fl_owner'
                                  WHEN 'c' THEN 'ALTER TYPE %s OWNER TO fl_owner'
                                  ELSE 'ALTER TABLE %s OWNER TO fl_owner' END, r.rel);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS typ FROM pg_catalog.pg_type t
            WHERE t.typnamespace = 'fl'::regnamespace AND t.typtype IN ('d', 'e', 'r', 'm')
              AND t.typowner <> 'fl_owner'::regrole LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO fl_owner', r.typ);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'fl'::regnamespace AND p.proowner <> 'fl_owner'::regrole LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO fl_owner', r.fn);
  END LOOP;
END $$;

-- Functions fl_owner creates from now on are private until granted. (0007's
-- `ALTER DEFAULT PRIVILEGES IN SCHEMA fl REVOKE ...` could not do this: a per-schema
-- default can only add to the global one, which grants EXECUTE to PUBLIC.)
ALTER DEFAULT PRIVILEGES FOR ROLE fl_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The rest of this migration creates and replaces objects as their owner.
SET ROLE fl_owner;

-- ===========================================================================
-- 2. No temp work tables in definer functions that a caller could have made first.
--    close_year did `CREATE TEMP TABLE IF NOT EXISTS pg_temp.close_bal` and then
--    TRUNCATEd it: a reviewer who had created that table with a BEFORE TRUNCATE trigger
--    ran the trigger as the owner. The handover's fl_ho_acc had the same shape. Both now
--    keep their few rows in arrays (a close has one row per unit and account; a
--    handover one per legacy account).
-- ===========================================================================
CREATE OR REPLACE FUNCTION fl.close_year(p_year int, p_date date, p_results jsonb)
RETURNS TABLE (book text, entries int, government_items int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u       fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
  v_start date := make_date(p_year, 1, 1);
  v_end   date := make_date(p_year, 12, 31);
  bk      fl.book;
  bad     record;
  done    text;
  rows    jsonb;
  es      fl.new_entry[];
  ps      fl.new_posting[];
  n_e     int;
  n_g     int;
  -- The balances to close, per book (was the temp table close_bal: see the header).
  b_unit  text[];
  b_chart text[];
  b_comp  text[];
  b_kind  text[];
  b_amt   bigint[];
  b_ord   int[];
BEGIN
  IF p_date IS NULL OR p_date NOT BETWEEN v_start AND v_end THEN
    PERFORM fl.refuse('close_date', format('the close of %s must be dated within %s (normally %s), not %s',
      p_year, p_year, v_end, coalesce(p_date::text, 'no date')));
  END IF;
  LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
  SELECT string_agg(format('%s (closed on %s by %s)', c.book, c.closed_on, c.closed_by), ', ' ORDER BY c.book)
    INTO done FROM fl.year_close c WHERE c.year = p_year;
  IF done IS NOT NULL THEN
    PERFORM fl.refuse('year_closed', format('year %s is already closed for book %s; a year is closed once',
      p_year, done), 'unique_violation');
  END IF;

  FOR bk IN SELECT * FROM fl.book ORDER BY code LOOP
    -- The year before must not still hold revenue or expenditure: it is closed first.
    SELECT a.unit, a.chart_code INTO bad
      FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day < v_start
     GROUP BY a.id, a.unit, a.chart_code HAVING sum(d.debits - d.credits) <> 0 LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_order', format(
        'book %s still holds revenue or expenditure from before %s (unit %s, account %s): close year %s first',
        bk.code, p_year, bad.unit, bad.chart_code, p_year - 1));
    END IF;

    rows := coalesce(p_results -> bk.code, '[]'::jsonb);
    SELECT coalesce(f.unit, x.unit) AS unit INTO bad
      FROM fl.year_figures(p_year, bk.code) f
      FULL JOIN jsonb_to_recordset(rows) AS x(unit text, revenue bigint, expenditure bigint, current_balance bigint,
                 surplus_before bigint, covered_by_surplus bigint, government_share bigint, surplus_after bigint)
        ON x.unit = f.unit
     WHERE f.unit IS NULL OR x.unit IS NULL
        OR (f.revenue, f.expenditure, f.surplus_before) IS DISTINCT FROM (x.revenue, x.expenditure, x.surplus_before)
        OR x.current_balance IS DISTINCT FROM x.revenue - x.expenditure
        OR x.covered_by_surplus IS DISTINCT FROM least(greatest(-x.current_balance, 0), greatest(x.surplus_before, 0))
        OR x.government_share IS DISTINCT FROM greatest(-x.current_balance, 0) - x.covered_by_surplus
        OR x.surplus_after IS DISTINCT FROM x.surplus_before + x.current_balance + x.government_share
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_result', format(
        'the shortfall table for book %s does not match the books or the rule (unit %s); nothing was closed',
        bk.code, bad.unit));
    END IF;

    -- Closing entries: per unit, one entry for revenue (Dr each 4xxx / Cr 3001) and one
    -- for expenditure (Dr 3001 / Cr each 5xxx), per component; dated p_date, closing the
    -- balances of the whole year.
    SELECT array_agg(x.unit ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.chart_code ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.component ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.kind ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.amount ORDER BY x.unit, x.kind, x.chart_code, x.component),
           array_agg(x.ord ORDER BY x.unit, x.kind, x.chart_code, x.component)
      INTO b_unit, b_chart, b_comp, b_kind, b_amt, b_ord
      FROM (SELECT y.*, dense_rank() OVER (ORDER BY y.unit, y.kind)::int AS ord
              FROM (SELECT a.unit, a.chart_code, a.component, c.kind, sum(d.debits - d.credits)::bigint AS amount
                      FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
                     WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day <= v_end
                     GROUP BY 1, 2, 3, 4 HAVING sum(d.debits - d.credits) <> 0) y) x;

    SELECT array_agg(ROW(g.ord, bk.code, p_date,
                         format('年终结转 year-end close %s: unit %s %s to 3001', p_year, g.unit, g.kind),
                         'year_close', format('yearclose:%s:%s:%s:%s', p_year, bk.code, g.unit, g.kind),
                         NULL, '', jsonb_build_object('year', p_year), NULL)::fl.new_entry ORDER BY g.ord)
      INTO es FROM (SELECT DISTINCT ord, unit, kind FROM unnest(b_unit, b_chart, b_comp, b_kind, b_amt, b_ord) AS cb(unit, chart_code, component, kind, amount, ord)) g;
    SELECT array_agg(ROW(l.ord, l.pos, bk.code, l.chart_code, l.unit, '', l.component, l.side, l.amount, NULL, NULL)::fl.new_posting
                     ORDER BY l.ord, l.pos)
      INTO ps
      FROM (SELECT y.*, row_number() OVER (PARTITION BY y.ord ORDER BY y.o, y.chart_code, y.component)::int AS pos
              FROM (SELECT b.ord, b.chart_code, b.unit, b.component,
                           CASE WHEN b.amount > 0 THEN 'C' ELSE 'D' END AS side, abs(b.amount) AS amount,
                           CASE b.kind WHEN 'revenue' THEN 0 ELSE 2 END AS o
                      FROM unnest(b_unit, b_chart, b_comp, b_kind, b_amt, b_ord) AS b(unit, chart_code, component, kind, amount, ord)
                    UNION ALL
                    SELECT b.ord, '3001', b.unit, b.component,
                           CASE WHEN sum(b.amount) > 0 THEN 'D' ELSE 'C' END, abs(sum(b.amount))::bigint, 1
                      FROM unnest(b_unit, b_chart, b_comp, b_kind, b_amt, b_ord) AS b(unit, chart_code, component, kind, amount, ord) GROUP BY b.ord, b.unit, b.component HAVING sum(b.amount) <> 0) y) l;
    n_e := coalesce(cardinality(es), 0);
    IF n_e > 0 THEN
      PERFORM fl._post(es, ps);
    END IF;

    -- The local government's share goes to the obligations register (备查簿).
    INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, fiscal_year, reference, note)
    SELECT 'government_share', x.unit, bk.code, bk.pooled_component, x.government_share, p_date, p_year,
           format('govshare:%s:%s:%s', p_year, bk.code, x.unit),
           format('缺口分担 local government share of the %s shortfall of unit %s (%s)', p_year, x.unit, bk.code)
      FROM jsonb_to_recordset(rows) AS x(unit text, government_share bigint)
     WHERE x.government_share > 0;
    GET DIAGNOSTICS n_g = ROW_COUNT;

    INSERT INTO fl.year_close (year, book, closed_on, result)
    VALUES (p_year, bk.code, p_date, jsonb_build_object('component', bk.pooled_component, 'rows', rows));
    book := bk.code; entries := n_e; government_items := n_g;
    RETURN NEXT;
  END LOOP;

  -- Lock the year: after the closing entries, so they could still be posted.
  INSERT INTO fl.closed_period (month, reason)
  SELECT m::date, format('year-end close %s', p_year)
    FROM generate_series(v_start, make_date(p_year, 12, 1), interval '1 month') AS m
  ON CONFLICT (month) DO NOTHING;
END $$;

CREATE OR REPLACE FUNCTION fl.handover_transfer(p_unit text, p_date date)
RETURNS TABLE (book text, component text, entry_id bigint, status text, amount bigint, idempotency_key text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['finance'], 'transfer a county''s legacy funds up to the special account (上划)');
  uk   text;
  es   fl.new_entry[];
  ps   fl.new_posting[];
  -- The legacy accounts to empty (was a temp table: see the header).
  h_id    int[];
  h_book  text[];
  h_chart text[];
  h_hold  text[];
  h_comp  text[];
  h_bal   bigint[];
  h_ord   int[];
BEGIN
  SELECT un.kind INTO uk FROM fl.unit un WHERE un.code = p_unit;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  ELSIF uk <> 'county' THEN
    PERFORM fl.refuse('illegal_state', format('unit %s is the city proper; only counties transfer legacy funds up', p_unit));
  END IF;
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the transfer date is missing (--date)');
  END IF;
  -- Lock the legacy accounts first: what we read is what we move.
  PERFORM 1 FROM fl.account a
   WHERE a.unit = p_unit AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
   ORDER BY a.id FOR UPDATE;

  SELECT array_agg(x.id ORDER BY x.id), array_agg(x.book ORDER BY x.id), array_agg(x.chart_code ORDER BY x.id),
         array_agg(x.holder ORDER BY x.id), array_agg(x.component ORDER BY x.id), array_agg(x.balance ORDER BY x.id),
         array_agg(x.ord ORDER BY x.id)
    INTO h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord
    FROM (SELECT a.id, a.book, a.chart_code, a.holder, a.component, a.balance,
                 dense_rank() OVER (ORDER BY a.book, a.component)::int AS ord
            FROM fl.account a
           WHERE a.unit = p_unit AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
             AND a.balance > 0) x;
  IF h_id IS NULL THEN
    PERFORM fl.refuse('illegal_state', format(
      'unit %s has nothing left in its legacy accounts to transfer up: record the audited opening balances first '
      '(handover open), or the transfer was already made', p_unit));
  END IF;

  SELECT array_agg(ROW(g.ord, g.book, p_date,
                       format('上划 transfer up of unit %s''s legacy deposits to the special account', p_unit),
                       'handover_transfer', g.key, NULL, NULL,
                       jsonb_build_object('unit', p_unit, 'total', g.total), NULL)::fl.new_entry ORDER BY g.ord)
    INTO es
    FROM (SELECT a.ord, a.book, a.component, sum(a.balance)::bigint AS total,
                 (SELECT CASE WHEN count(*) = 0 THEN k.base ELSE k.base || ':' || (count(*) + 1) END
                    FROM fl.entry x WHERE x.idempotency_key = k.base OR x.idempotency_key LIKE k.base || ':%') AS key
            FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord)
            CROSS JOIN LATERAL (SELECT format('handover-transfer:%s:%s:%s', p_unit, a.book,
                                              coalesce(nullif(a.component, ''), '-')) AS base) k
           GROUP BY a.ord, a.book, a.component, k.base) g;
  SELECT array_agg(p) INTO ps FROM (
    SELECT ROW(a.ord, 0, a.book, '1003', p_unit, 'special', a.component, 'D', sum(a.balance)::bigint, NULL, NULL)::fl.new_posting AS p
      FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord) GROUP BY a.ord, a.book, a.component
    UNION ALL
    SELECT ROW(a.ord, row_number() OVER (PARTITION BY a.ord ORDER BY a.id)::int, a.book, a.chart_code, p_unit, a.holder,
               a.component, 'C', a.balance, NULL, NULL)::fl.new_posting
      FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord)) x;

  RETURN QUERY
  SELECT e.book, coalesce(e2.component, ''), r.entry_id, r.status,
         (SELECT sum(a.balance)::bigint FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord) WHERE a.ord = r.ord), e.idempotency_key
    FROM fl._post(es, ps) r
    JOIN unnest(es) e ON e.ord = r.ord
    LEFT JOIN (SELECT DISTINCT a.ord, a.component FROM unnest(h_id, h_book, h_chart, h_hold, h_comp, h_bal, h_ord)
           AS a(id, book, chart_code, holder, component, balance, ord)) e2 ON e2.ord = r.ord
   ORDER BY r.ord;
END $$;
-- ===========================================================================
-- 4. Row security where it was missing.
-- ===========================================================================
-- fl.budget_current ran with its owner's rights, past fl.budget's row security: an
-- officer read every unit's budget (raw SQL, report budget-execution --unit OTHER,
-- fl.request_justification). It now runs as the caller.
ALTER VIEW fl.budget_current SET (security_invoker = true);

-- Users: city roles see every user (an admin manages them); an officer sees itself.
ALTER TABLE fl.app_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.app_user FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR name = session_user);

-- Import batches: an officer sees the batches it imported. (Which units a batch touched
-- is not on the batch; finding it through the lines would scan a million-line register
-- per batch.) Import lines: those whose entry touches the officer's unit, and those of
-- its own batches (a register item opened by a line has no entry).
ALTER TABLE fl.import_batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.import_batch FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR imported_by = session_user);
ALTER TABLE fl.import_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.import_line FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL
  OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = import_line.entry_id AND p.unit = (SELECT fl.my_unit()))
  OR EXISTS (SELECT 1 FROM fl.import_batch b WHERE b.id = import_line.batch_id AND b.imported_by = session_user));

-- The year-end close holds the shortfall table of every unit in one jsonb value, which
-- row security cannot cut: officers read no row of it, and read their own unit's rows of
-- the table through fl.year_closes (the closed books of a year, the table cut to the
-- caller's unit when the caller is an officer).
ALTER TABLE fl.year_close ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.year_close FOR SELECT USING ((SELECT fl.my_unit()) IS NULL);

CREATE FUNCTION fl.year_closes(p_year int)
RETURNS TABLE (book text, closed_on date, closed_by text, closed_at timestamptz, result jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT c.book, c.closed_on, c.closed_by, c.closed_at,
         CASE WHEN m.unit IS NULL THEN c.result
              ELSE jsonb_set(c.result, '{rows}', coalesce(
                     (SELECT jsonb_agg(r ORDER BY o) FROM jsonb_array_elements(c.result -> 'rows') WITH ORDINALITY x(r, o)
                       WHERE r ->> 'unit' = m.unit), '[]'::jsonb)) END
    FROM fl.year_close c
    CROSS JOIN (SELECT fl.my_unit() AS unit) m
   WHERE c.year = p_year AND m.unit IS DISTINCT FROM ''
   ORDER BY c.book
$$;
REVOKE ALL ON FUNCTION fl.year_closes(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.year_closes(int) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- ===========================================================================
-- 3. Every function that runs inside a definer function pins search_path: tables are
--    then found in pg_catalog and fl before pg_temp, functions and operators never in
--    pg_temp (PostgreSQL's rule) nor in public. Left out: the small SQL helpers that the
--    planner inlines into the calling query (LANGUAGE sql, IMMUTABLE or STABLE, no SET
--    clause). Inlined, they are parsed under the caller's pinned path; a SET clause
--    would stop the inlining, and the imports call them for every row
--    (tests/security/test_sweep.py holds this list and checks each one).
-- ===========================================================================
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'fl'::regnamespace
       AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%')
       AND p.proname NOT IN ('fmt_fen', 'imp_days_in_month', 'imp_date', 'imp_date_problem', 'imp_amount_num',
                             'imp_fen', 'imp_fen_of', 'imp_amount_problem', 'imp_component_problem',
                             'imp_component_ok', 'imp_reference_problem', '_imp_row_problems')
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, fl, pg_temp', f);
  END LOOP;
END $$;

RESET ROLE;
