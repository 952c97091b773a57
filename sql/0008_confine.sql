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
--      close_bal and the handover's fl_ho_acc work tables are gone (arrays instead); the
--      imports' stage is made and owned by fl_owner (fl.import_stage), the imports take
--      no relation argument, and their work tables are created fresh, never over an
--      object the caller made.
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
  -- fl.set_password / fl.set_login (0013) alter fundledger's login roles: on 16+ that
  -- needs ADMIN on each. fl_owner gets it for the logins it creates; here for those made
  -- before it existed (never on a role with more than an ordinary login's attributes).
  IF v16 THEN
    FOR g IN SELECT r.rolname FROM fl.app_user u JOIN pg_catalog.pg_roles r ON r.rolname = u.name
              WHERE NOT (r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls OR r.rolcreatedb)
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                                 WHERE m.roleid = r.oid AND m.member = 'fl_owner'::regrole AND m.admin_option)
    LOOP
      EXECUTE format('GRANT %I TO fl_owner WITH ADMIN TRUE, INHERIT FALSE, SET FALSE', g);
    END LOOP;
  END IF;
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
-- 2b. The file imports.
--
-- Until now the client created the "stage" (a temp table holding the file's cells) and
-- passed it to the SECURITY DEFINER import as `p_stage regclass`; 0007 refused views,
-- rules and row security on it, but not the rest of what a table's owner may attach: a
-- partial index whose predicate calls the caller's function, a trigger, a child table,
-- extended statistics. Each ran the caller's code with the definer's rights. The work
-- tables (fl_imp_work, fl_imp_grp, ...) had fixed names in the caller's temp schema and
-- were dropped with DROP ... IF EXISTS whatever they were.
--
-- Now:
--   * fl.import_stage(kind) creates the stage itself, owned by fl_owner, with the
--     columns of that kind of file (a list held here), and grants the caller INSERT
--     (for COPY) and SELECT on it — nothing else: only the owner may index, alter,
--     inherit from, add rules, triggers, policies or statistics to a table.
--   * fl.import_<kind>(file, sha256, ...) takes no relation: it reads the stage of its
--     kind in the caller's session and first checks it is one the owner made.
--   * Work tables keep their names but are always created fresh: fl._imp_clear drops the
--     owner's own leftovers (an earlier import in the same transaction) and refuses to
--     go on when any of those names is taken by an object the caller made (it is never
--     used, dropped or read). PostgreSQL looks functions and operators up in pg_catalog
--     and fl only (search_path pinned, pg_temp last), never in pg_temp.
-- ===========================================================================
-- The stage of each kind of file: its columns, in the file format's canonical order
-- (ledger/io/formats.py), each text NOT NULL DEFAULT '' after row_no.
CREATE FUNCTION fl._imp_stage_columns(p_kind text) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE p_kind
    WHEN 'payments'    THEN ARRAY['date', 'unit', 'book', 'provider', 'category', 'amount', 'reference', 'component',
                                  'paid_from']
    WHEN 'collections' THEN ARRAY['date', 'unit', 'book', 'source', 'amount', 'reference', 'component']
    WHEN 'opening'     THEN ARRAY['unit', 'book', 'item', 'amount', 'reference', 'note', 'component']
    WHEN 'budget'      THEN ARRAY['year', 'unit', 'book', 'line', 'amount', 'component'] END
$$;

-- Every temp object name the import code creates (the stages are fl_stage_<kind>).
CREATE FUNCTION fl._imp_work_names() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT ARRAY['fl_imp_src', 'fl_imp_work', 'fl_imp_grp', 'fl_imp_new', 'fl_imp_ent', 'fl_imp_res', 'fl_imp_err',
               'fl_imp_acc', 'fl_imp_gc', 'fl_imp_map']
$$;

-- Make the work names (and p_stage, a stage name, when given) free in this session's
-- temp schema: what the owner made earlier is dropped, anything else is refused.
CREATE FUNCTION fl._imp_clear(p_stage text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  names text[] := fl._imp_work_names();
  r     record;
BEGIN
  IF p_stage IS NOT NULL THEN
    IF NOT p_stage = ANY (ARRAY['fl_stage_payments', 'fl_stage_collections', 'fl_stage_opening', 'fl_stage_budget']) THEN
      PERFORM fl.refuse('bad_document', format('no such stage %s', p_stage));
    END IF;
    names := names || p_stage;
  END IF;
  IF pg_catalog.pg_my_temp_schema() = 0 THEN
    RETURN;
  END IF;
  -- Views first (fl_imp_src reads the stage), then tables.
  FOR r IN SELECT c.relname, c.relkind, pg_catalog.pg_get_userbyid(c.relowner) = current_user AS ours
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname = ANY (names)
            ORDER BY c.relkind = 'v' DESC, c.relname LOOP
    IF NOT r.ours OR r.relkind NOT IN ('r', 'v') THEN
      PERFORM fl.refuse('permission_denied', format(
        'this session has a temporary object named %s, which fundledger''s imports use for their own work; '
        'nothing was imported (reconnect, or drop it)', r.relname), 'insufficient_privilege');
    END IF;
    EXECUTE format(CASE r.relkind WHEN 'v' THEN 'DROP VIEW pg_temp.%I' ELSE 'DROP TABLE pg_temp.%I' END, r.relname);
  END LOOP;
  -- A type of that name (CREATE TYPE pg_temp.fl_imp_work ...) would block the table's row type.
  SELECT t.typname INTO r FROM pg_catalog.pg_type t
   WHERE t.typnamespace = pg_catalog.pg_my_temp_schema() AND t.typname = ANY (names) LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('permission_denied', format(
      'this session has a temporary type named %s, which fundledger''s imports use for their own work; '
      'nothing was imported (reconnect, or drop it)', r.typname), 'insufficient_privilege');
  END IF;
END $$;

-- The stage for one file of p_kind, empty, in the caller's session (dropped at commit).
-- Returns its name; the client COPYs the file's cells into it.
CREATE FUNCTION fl.import_stage(p_kind text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer', 'reviewer', 'finance'], 'import files');
  cols text[] := fl._imp_stage_columns(p_kind);
  name text := 'fl_stage_' || p_kind;
BEGIN
  IF cols IS NULL THEN
    PERFORM fl.refuse('bad_document', format('unknown kind of import file ''%s''', p_kind));
  END IF;
  PERFORM fl._imp_clear(name);
  EXECUTE format('CREATE TEMP TABLE %I (row_no int GENERATED BY DEFAULT AS IDENTITY (START WITH 2), %s) ON COMMIT DROP',
                 name, (SELECT string_agg(format('%I text NOT NULL DEFAULT %L', c, ''), ', ' ORDER BY o)
                          FROM unnest(cols) WITH ORDINALITY x(c, o)));
  EXECUTE format('GRANT SELECT, INSERT ON pg_temp.%I TO %I', name, session_user);
  RETURN name;
END $$;

-- The import's start: the stage of p_kind must be one fl.import_stage made (owned by
-- the owner, a plain temp table of this session, nothing attached); work names cleared;
-- fl_imp_src (which the importers' static SQL reads) is a view of it.
DROP FUNCTION fl._imp_open(regclass);
DROP FUNCTION fl._imp_open_unchecked(regclass);
CREATE FUNCTION fl._imp_open(p_kind text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  name text := 'fl_stage_' || p_kind;
  st   pg_catalog.pg_class;
BEGIN
  IF fl._imp_stage_columns(p_kind) IS NULL THEN
    PERFORM fl.refuse('bad_document', format('unknown kind of import file ''%s''', p_kind));
  END IF;
  SELECT * INTO st FROM pg_catalog.pg_class c
   WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname = name;
  IF NOT FOUND THEN
    PERFORM fl.refuse('bad_document', 'no staged file was given (fl.import_stage first)');
  END IF;
  IF pg_catalog.pg_get_userbyid(st.relowner) <> current_user OR st.relkind <> 'r' OR st.relpersistence <> 't'
     OR st.relhastriggers OR st.relhasrules OR st.relrowsecurity OR st.relhassubclass OR st.relhasindex
     OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = st.oid)
     OR EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext x WHERE x.stxrelid = st.oid) THEN
    PERFORM fl.refuse('permission_denied', format(
      'the staged file %s is not one fundledger made (fl.import_stage); nothing was imported', name),
      'insufficient_privilege');
  END IF;
  PERFORM fl._imp_clear(NULL);
  EXECUTE format('CREATE TEMP VIEW fl_imp_src AS SELECT * FROM pg_temp.%I', name);
  CREATE TEMP TABLE fl_imp_err (row_no int, col text, why text, kind text) ON COMMIT DROP;
  CREATE TEMP TABLE fl_imp_res (ord int, entry_id bigint, status text) ON COMMIT DROP;
  CREATE TEMP TABLE fl_imp_acc (book text, chart text, unit text, holder text, comp text, id int) ON COMMIT DROP;
END $$;

-- The importers, as in 0004 but reading the stage of their own kind.
DROP FUNCTION fl.import_payments(regclass, text, text);
DROP FUNCTION fl.import_collections(regclass, text, text);
DROP FUNCTION fl.import_opening(regclass, text, text, date);
DROP FUNCTION fl.import_budget(regclass, text, text);

CREATE FUNCTION fl.import_payments(p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp
-- Sorts and hashes over a million staged rows stay in memory (the default 4MB spilled them).
SET work_mem = '64MB' AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'import benefit payments');
  probs jsonb;
  bid   bigint;
  n_all int;
  n_new int;
  bad   boolean;
  con   text;
BEGIN
  PERFORM fl._imp_open('payments');
  -- 1. The groups: each distinct (date, unit, book, component, paid_from) text of the
  --    file, resolved once — a year's file has a few thousand; resolving each of a
  --    million rows cost seconds (parsing its date alone 1.2 s). gk numbers the raw
  --    texts; eg numbers the entry groups (the resolved values: 'res' and 'RES' are one).
  --    A NULL cell (only a hand-made stage has one) reads as empty, like an absent column.
  CREATE TEMP TABLE fl_imp_grp ON COMMIT DROP AS
  SELECT x.*, dense_rank() OVER (ORDER BY x.d, x.unit COLLATE "C", x.book COLLATE "C", x.comp COLLATE "C",
                                          x.paid_from COLLATE "C")::int AS eg
    FROM (SELECT r.*, CASE r.paid_from WHEN 'county' THEN 'county_exp' WHEN 'city' THEN 'city_exp' END AS holder,
                 coalesce(r.d IS NOT NULL AND NOT r.closed AND r.ukind IS NOT NULL
                  AND (u.role <> 'officer' OR r.unit = u.unit) AND r.bcomps IS NOT NULL
                  AND fl.imp_component_ok(r.bcomps, r.comp)
                  AND r.paid_from IS NOT NULL AND NOT (r.paid_from = 'county' AND r.ukind <> 'county'), false) AS ok
            FROM (SELECT row_number() OVER ()::int AS gk, t.t_date, t.unit, t.t_book, t.t_comp, t.t_paid, q.d,
                         EXISTS (SELECT 1 FROM fl.closed_period cp WHERE cp.month = date_trunc('month', q.d)::date) AS closed,
                         un.kind AS ukind, upper(t.t_book) AS book, bk.components AS bcomps, lower(t.t_comp) AS comp,
                         CASE lower(t.t_paid) WHEN 'county' THEN 'county' WHEN 'city' THEN 'city'
                              WHEN '' THEN CASE WHEN un.kind = 'county' THEN 'county' ELSE 'city' END END AS paid_from
                    FROM (SELECT DISTINCT coalesce(s.date, '') AS t_date, coalesce(s.unit, '') AS unit,
                                 coalesce(s.book, '') AS t_book, coalesce(s.component, '') AS t_comp,
                                 coalesce(s.paid_from, '') AS t_paid
                            FROM pg_temp.fl_imp_src s) t
                    CROSS JOIN LATERAL (SELECT fl.imp_date(t.t_date) AS d) q
                    LEFT JOIN fl.unit un ON un.code = t.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(t.t_book)) r) x;
  ANALYZE pg_temp.fl_imp_grp;

  -- 2. Every row, in one pass over the stage: its group, category (a small integer),
  --    amount, whether it is valid, its content hash, and the hash the register holds
  --    for its reference (NULL: a new row). The raw texts that only error messages need
  --    are kept for invalid rows alone (a NULL costs no space).
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT y.row_no, y.reference, y.gk, y.eg, y.cat, y.provider, y.fen, y.valid,
         CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.provider, y.chart, y.fen,
                                                     y.comp, y.paid_from)), 'hex') END AS h,
         l.content_hash AS reg_h, 0 AS chunk,
         CASE WHEN NOT y.valid THEN y.category END AS category, CASE WHEN NOT y.valid THEN y.t_amount END AS t_amount
    FROM (SELECT x.*, coalesce(x.ok AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.provider <> ''
                               AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, coalesce(s.reference, '') AS reference, g.gk, g.eg, g.ok, g.t_date, g.unit, g.book, g.comp,
                         g.paid_from, coalesce(s.provider, '') AS provider, lower(s.category) AS category, cat.no AS cat,
                         cat.chart, coalesce(s.amount, '') AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    JOIN pg_temp.fl_imp_grp g ON g.t_date = coalesce(s.date, '') AND g.unit = coalesce(s.unit, '')
                                             AND g.t_book = coalesce(s.book, '') AND g.t_comp = coalesce(s.component, '')
                                             AND g.t_paid = coalesce(s.paid_from, '')
                    LEFT JOIN (VALUES (1, 'inpatient', '5001.inpatient'), (2, 'outpatient', '5001.outpatient'),
                                      (3, 'chronic', '5001.chronic'), (4, 'outpatient_pooled', '5001.outpatient_pooled'),
                                      (5, 'maternity_medical', '5001.maternity_medical'),
                                      (6, 'maternity_allowance', '5001.maternity_allowance'),
                                      (7, 'pharmacy', '5001.pharmacy'), (8, 'other', '5001.other'),
                                      (9, 'critical_illness', '5101')) cat(no, name, chart) ON cat.name = lower(s.category)
                  OFFSET 0) x
          OFFSET 0) y
    LEFT JOIN fl.import_line l ON l.namespace = 'payments' AND l.reference = y.reference;

  bad := EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE NOT w.valid);
  IF bad THEN
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, x.col, x.why, x.kind
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
      CROSS JOIN LATERAL (
        SELECT * FROM fl._imp_row_problems(g.t_date, g.d, g.closed, g.unit, g.ukind, g.book, g.bcomps, w.t_amount,
                                           w.reference, u)
        UNION ALL VALUES
        ('component', fl.imp_component_problem(g.book, g.bcomps, g.comp), 'bad'),
        ('category', CASE WHEN w.cat IS NULL THEN format('unknown category ''%s'' (inpatient, outpatient, chronic, '
                      'outpatient_pooled, maternity_medical, maternity_allowance, pharmacy, other, critical_illness)', w.category) END, 'bad'),
        ('paid_from', CASE WHEN g.paid_from IS NULL THEN format('unknown paid_from ''%s'' (county or city)', g.t_paid)
                           WHEN g.paid_from = 'county' AND g.ukind IS NOT NULL AND g.ukind <> 'county'
                           THEN format('unit %s is not a county and has no county expenditure account; use paid_from city', g.unit) END, 'bad'),
        ('provider', CASE WHEN w.provider = '' THEN 'the provider is empty' END, 'bad')) x(col, why, kind)
     WHERE NOT w.valid AND x.why IS NOT NULL;
  END IF;
  -- References used twice in the file. Among new rows the register's primary key finds
  -- them when the register is written (below: a full GROUP BY here cost 0.55 s of every
  -- 1M-line import); checked here only among rows already registered, or in every row
  -- when the file has other problems, so that all are reported together.
  PERFORM fl._imp_repeats(NOT bad);
  -- References already imported with other content (the row table carries the
  -- register's hash, so the join runs only when there is one).
  IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE w.valid AND w.reg_h <> w.h) THEN
    PERFORM fl._imp_conflicts('payments');
  END IF;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  -- 3. The new rows per (entry group, chunk, category): count, total and the hash of
  --    their hashes in file order — one sort on integers. An entry is one entry group
  --    and chunk: past 50,000 rows a group is cut every 50,000 rows in file order, so an
  --    entry stays a bounded size (rare: re-aggregated only then).
  CREATE TEMP TABLE fl_imp_gc ON COMMIT DROP AS
  SELECT w.eg, w.chunk, w.cat, count(*)::int AS n_rows, sum(w.fen)::bigint AS total,
         sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)) AS chash,
         sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8')) AS refs
    FROM pg_temp.fl_imp_work w
   WHERE w.reg_h IS NULL
   GROUP BY w.eg, w.chunk, w.cat;
  IF (SELECT max(n) > 50000 FROM (SELECT sum(c.n_rows) AS n FROM pg_temp.fl_imp_gc c GROUP BY c.eg) m) THEN
    UPDATE pg_temp.fl_imp_work w SET chunk = r.chunk
      FROM (SELECT w0.row_no, ((row_number() OVER (PARTITION BY w0.eg ORDER BY w0.row_no) - 1) / 50000)::int AS chunk
              FROM pg_temp.fl_imp_work w0 WHERE w0.reg_h IS NULL) r
     WHERE r.row_no = w.row_no AND r.chunk > 0;
    TRUNCATE pg_temp.fl_imp_gc;
    INSERT INTO pg_temp.fl_imp_gc
    SELECT w.eg, w.chunk, w.cat, count(*)::int, sum(w.fen)::bigint, sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)),
           sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8'))
      FROM pg_temp.fl_imp_work w
     WHERE w.reg_h IS NULL
     GROUP BY w.eg, w.chunk, w.cat;
  END IF;
  ANALYZE pg_temp.fl_imp_gc;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY c.eg, c.chunk)::int AS ord, c.eg, c.chunk, g.d, g.unit, g.book, g.comp,
         g.paid_from, g.holder, c.n_rows, c.total, c.chash,
         format('payments:%s:%s:%s:%s:%s:%s', g.d, g.unit, g.book, coalesce(nullif(g.comp, ''), '-'), g.paid_from,
                left(encode(c.refs, 'hex'), 32)) AS key
    FROM (SELECT c.eg, c.chunk, sum(c.n_rows)::int AS n_rows, sum(c.total)::bigint AS total,
                 sha256(string_agg(c.chash, ''::bytea ORDER BY c.cat)) AS chash,
                 sha256(string_agg(c.refs, ''::bytea ORDER BY c.cat)) AS refs
            FROM pg_temp.fl_imp_gc c GROUP BY c.eg, c.chunk) c
    JOIN (SELECT DISTINCT ON (g0.eg) g0.* FROM pg_temp.fl_imp_grp g0 WHERE g0.ok ORDER BY g0.eg) g ON g.eg = c.eg;
  ANALYZE pg_temp.fl_imp_ent;

  -- 4. Batch, accounts, entries and the register, in a block that a reference used twice
  --    in the file undoes: then nothing is written and the duplicates are the answer.
  BEGIN
    bid := fl._imp_batch('payments', p_file, p_sha256);
    -- The accounts: each entry's debit accounts (one per category) and its credit account.
    CREATE TEMP TABLE fl_imp_map ON COMMIT DROP AS
    SELECT c.eg, c.chunk, c.cat, e.ord, e.d, e.book, cat.chart, e.unit, e.comp, NULL::bigint AS entry_id,
           NULL::int AS account_id, NULL::boolean AS posted
      FROM pg_temp.fl_imp_gc c
      JOIN pg_temp.fl_imp_ent e ON e.eg = c.eg AND e.chunk = c.chunk
      JOIN (VALUES (1, '5001.inpatient'), (2, '5001.outpatient'), (3, '5001.chronic'), (4, '5001.outpatient_pooled'),
                   (5, '5001.maternity_medical'), (6, '5001.maternity_allowance'), (7, '5001.pharmacy'),
                   (8, '5001.other'), (9, '5101')) cat(no, chart) ON cat.no = c.cat;
    INSERT INTO pg_temp.fl_imp_acc (book, chart, unit, holder, comp)
    SELECT DISTINCT m.book, m.chart, m.unit, '', m.comp FROM pg_temp.fl_imp_map m
    UNION
    SELECT DISTINCT e.book, '1004', e.unit, e.holder, e.comp FROM pg_temp.fl_imp_ent e;
    PERFORM fl._imp_accounts();
    PERFORM fl._imp_entries('payments', format(
      $q$SELECT e.ord, e.book, e.d,
                format('待遇支出 benefit payments %%s unit %%s from %%s: %%s rows (%%s)', e.d, e.unit, e.holder, e.n_rows, %L) AS memo,
                e.key, jsonb_build_object('import_batch', %s, 'file', %L, 'rows', e.n_rows) AS source, e.chash
           FROM pg_temp.fl_imp_ent e$q$, p_file, bid, p_file));
    -- The map the million rows join to, on integers: (entry group, chunk, category) ->
    -- (entry, debit account).
    UPDATE pg_temp.fl_imp_map m SET entry_id = r.entry_id, posted = (r.status = 'posted'), account_id = a.id
      FROM pg_temp.fl_imp_res r, pg_temp.fl_imp_acc a
     WHERE r.ord = m.ord AND a.book = m.book AND a.chart = m.chart AND a.unit = m.unit AND a.holder = ''
       AND a.comp = m.comp;
    ANALYZE pg_temp.fl_imp_map;

    -- The register, in key order (the primary key's B-tree is filled left to right),
    -- sorted byte-wise: COLLATE "C" compares with memcmp, the database's collation with
    -- strcoll — 1M references sorted and inserted in 2.9 s instead of 3.7-4.6 s (in a
    -- C or C.UTF-8 database, the default, it is the index's own order).
    INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
    SELECT 'payments', w.reference, w.h, m.entry_id, bid, w.row_no
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
     WHERE w.reg_h IS NULL
     ORDER BY w.reference COLLATE "C";
    GET DIAGNOSTICS n_new = ROW_COUNT;
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS con = CONSTRAINT_NAME;
    IF con IS DISTINCT FROM 'import_line_pkey' THEN RAISE; END IF;
    PERFORM fl._imp_repeats(false);
    probs := fl._imp_problems();
    IF probs IS NULL THEN RAISE; END IF;  -- another import wrote the reference meanwhile
    RETURN probs;
  END;

  -- The postings: per entry its credit on 1004, then a debit per row (line_ref = the
  -- row's reference, memo = provider).
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT r.entry_id, a.id, 'C', e.total, e.d, e.unit, NULL, NULL
    FROM pg_temp.fl_imp_ent e
    JOIN pg_temp.fl_imp_res r ON r.ord = e.ord AND r.status = 'posted'
    JOIN pg_temp.fl_imp_acc a ON a.book = e.book AND a.chart = '1004' AND a.unit = e.unit AND a.holder = e.holder
                             AND a.comp = e.comp
   ORDER BY e.ord;
  -- The debits, one statement: the posting trigger checks them per distinct (entry,
  -- account), so the statement's size costs a hash aggregate, not a join per row.
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT m.entry_id, m.account_id, 'D', w.fen, m.d, m.unit, w.reference, w.provider
    FROM pg_temp.fl_imp_work w
    JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
   WHERE w.reg_h IS NULL AND m.posted;

  -- A large batch changes the journal's statistics more than autovacuum will notice for
  -- a while; plans made meanwhile (verify's, reports') assumed a small table and were
  -- slow enough not to finish. ANALYZE counts this transaction's own rows.
  IF n_new >= 100000 THEN
    ANALYZE fl.posting, fl.entry, fl.account_day, fl.import_line;
  END IF;
  SELECT count(*) INTO n_all FROM pg_temp.fl_imp_work;
  UPDATE fl.import_batch SET rows_posted = n_new, rows_skipped = n_all - n_new,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res WHERE status = 'posted')
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

CREATE FUNCTION fl.import_collections(p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp
-- Sorts and hashes over a million staged rows stay in memory (the default 4MB spilled them).
SET work_mem = '64MB' AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'import collections and subsidies');
  probs jsonb;
  bid   bigint;
  n_all int;
  n_new int;
BEGIN
  PERFORM fl._imp_open('collections');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, t_date text, d date, closed boolean, unit text, ukind text, book text, bcomps text[],
    source text, chart text, comp text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.chart, y.fen, y.comp)), 'hex') END
    FROM (SELECT x.*,
                 coalesce(x.d IS NOT NULL AND NOT x.closed AND x.ukind IS NOT NULL AND (u.role <> 'officer' OR x.unit = u.unit)
                  AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND NOT (x.book = 'EMP' AND x.chart LIKE '4101.%' AND x.comp = 'personal')
                  AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.date AS t_date, dd.d, (cp.month IS NOT NULL) AS closed,
                         s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.source) AS source, src.chart, lower(s.component) AS comp,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM (SELECT s0.*, fl.imp_date(s0.date) AS d
                            FROM pg_temp.fl_imp_src s0 OFFSET 0) s
                    CROSS JOIN LATERAL (SELECT s.d) dd
                    LEFT JOIN fl.closed_period cp ON cp.month = date_trunc('month', dd.d)::date
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('contribution', '4001'), ('subsidy_central', '4101.central'),
                                      ('subsidy_provincial', '4101.provincial'), ('subsidy_city', '4101.city'),
                                      ('subsidy_county', '4101.county'), ('other', '4501')) src(name, chart)
                           ON src.name = lower(s.source) OFFSET 0) x OFFSET 0) y;
  ANALYZE pg_temp.fl_imp_work;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, x.kind
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (
      SELECT * FROM fl._imp_row_problems(w.t_date, w.d, w.closed, w.unit, w.ukind, w.book, w.bcomps, w.t_amount,
                                         w.reference, u)
      UNION ALL VALUES
      ('component', coalesce(fl.imp_component_problem(w.book, w.bcomps, w.comp),
                    CASE WHEN w.book = 'EMP' AND w.chart LIKE '4101.%' AND w.comp = 'personal'
                         THEN 'fiscal subsidies (4101) go wholly to the pooled fund (统筹基金) in the employees'' book; '
                              'component must be pooled' END), 'bad'),
      ('source', CASE WHEN w.chart IS NULL THEN format('unknown source ''%s'' (contribution, subsidy_central, '
                    'subsidy_provincial, subsidy_city, subsidy_county, other)', w.source) END, 'bad')) x(col, why, kind)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('collections');
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT q.*, q.ord AS grp, ((q.ord - 1) / 50000)::int AS chunk
    FROM (SELECT row_number() OVER (ORDER BY w.row_no)::int AS ord, w.row_no, w.reference, w.h, w.d, w.unit, w.book,
                 w.source, w.chart, w.comp, w.fen
            FROM pg_temp.fl_imp_work w
           WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'collections' AND l.reference = w.reference)) q;
  CREATE INDEX ON pg_temp.fl_imp_ent (chunk);
  ANALYZE pg_temp.fl_imp_ent;

  bid := fl._imp_batch('collections', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, e.d, format('征缴收入 collection %%s %%s (%%s row %%s)', e.source, e.reference, %L, e.row_no),
                 'collections', 'collections:' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, '1003', e.unit, 'special', e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, e.chart, e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'collections', e.reference, e.h, r.entry_id, bid, e.row_no
    FROM pg_temp.fl_imp_ent e JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  SELECT count(*) INTO n_all FROM pg_temp.fl_imp_work;
  UPDATE fl.import_batch SET rows_posted = n_new, rows_skipped = n_all - n_new,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res WHERE status = 'posted')
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

CREATE FUNCTION fl.import_opening(p_file text, p_sha256 text, p_date date) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'record handover opening balances');
  probs jsonb;
  bid   bigint;
  n_all int;
  n_new int;
  n_reg int;
BEGIN
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the handover date is missing (--date)');
  END IF;
  IF EXISTS (SELECT 1 FROM fl.closed_period c WHERE c.month = date_trunc('month', p_date)::date) THEN
    PERFORM fl.refuse('period_closed', format('%s falls in the closed period %s; choose an open date',
                                              p_date, to_char(p_date, 'YYYY-MM')));
  END IF;
  PERFORM fl._imp_open('opening');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, unit text, ukind text, book text, bcomps text[], item text, chart text, holder text,
    comp text, note text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN sha256(convert_to(concat_ws('|', p_date, y.unit, y.book, y.item, y.fen, y.comp, y.note),
                                                       'UTF8')) END
    FROM (SELECT x.*,
                 coalesce(x.ukind = 'county' AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.item) AS item, it.chart, it.holder, lower(s.component) AS comp, s.note,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('special_account', '1003', 'legacy_special'),
                                      ('revenue_account', '1002', 'legacy_revenue'),
                                      ('expenditure_account', '1004', 'legacy_expenditure'),
                                      ('fiscal_arrears', 'register', ''), ('employer_arrears', 'register', ''),
                                      ('unpaid_claims', 'register', '')) it(name, chart, holder)
                           ON it.name = lower(s.item)) x) y;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit)
                    WHEN w.ukind <> 'county' THEN format('unit %s is the city proper: handover openings are for counties '
                         '(county-level cities) whose funds move up to the city', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('item', CASE WHEN w.chart IS NULL THEN format('unknown item ''%s'' (special_account, revenue_account, '
                    'expenditure_account, fiscal_arrears, employer_arrears, unpaid_claims)', w.item) END),
      ('amount', fl.imp_amount_problem(w.t_amount)),
      ('reference', fl.imp_reference_problem(w.reference))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('opening');
  -- A register reference is also the item's own unique key.
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference', format('reference ''%s'' already names register item %s', w.reference, r.id), 'conflict'
    FROM pg_temp.fl_imp_work w JOIN fl.register_item r ON r.reference = w.reference
   WHERE w.valid AND w.chart = 'register'
     AND NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening' AND l.reference = w.reference);
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.* FROM pg_temp.fl_imp_work w
   WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening' AND l.reference = w.reference);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY n.row_no)::int AS ord, 0 AS chunk, n.*
    FROM pg_temp.fl_imp_new n WHERE n.chart <> 'register';

  bid := fl._imp_batch('opening', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, %L::date,
                 format('期初余额 handover opening balance %%s of unit %%s%%s (%%s row %%s)', e.item, e.unit,
                        CASE WHEN e.note <> '' THEN ': ' || e.note ELSE '' END, %L, e.row_no),
                 'opening', 'opening:' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_date, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, e.chart, e.unit, e.holder, e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, '3001', e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, reference, note)
  SELECT n.item, n.unit, n.book, n.comp, n.fen, p_date, n.reference, n.note
    FROM pg_temp.fl_imp_new n WHERE n.chart = 'register' ORDER BY n.row_no;
  GET DIAGNOSTICS n_reg = ROW_COUNT;

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'opening', n.reference, n.h, r.entry_id, bid, n.row_no
    FROM pg_temp.fl_imp_new n
    LEFT JOIN pg_temp.fl_imp_ent e ON e.row_no = n.row_no
    LEFT JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  SELECT count(*) INTO n_all FROM pg_temp.fl_imp_work;
  UPDATE fl.import_batch SET rows_posted = n_new, rows_skipped = n_all - n_new,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res WHERE status = 'posted')
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries,
                                    'register_items', n_reg)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

CREATE FUNCTION fl.import_budget(p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'import budgets');
  probs jsonb;
  bid   bigint;
  out   jsonb;
BEGIN
  PERFORM fl._imp_open('budget');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, t_year text, y int, unit text, ukind text, book text, bcomps text[], line text,
    lkind text, comp text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT x.*, coalesce(x.y IS NOT NULL AND x.ukind IS NOT NULL AND x.bcomps IS NOT NULL
               AND fl.imp_component_ok(x.bcomps, x.comp)
               AND x.lkind IN ('revenue', 'expenditure') AND x.fen IS NOT NULL, false), NULL
    FROM (SELECT s.row_no, '' AS reference, s.year AS t_year,
                 CASE WHEN s.year ~ '^[0-9]{4}$' THEN CASE WHEN s.year::int BETWEEN 2000 AND 2100 THEN s.year::int END END AS y,
                 s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps, s.line, ch.kind AS lkind,
                 lower(s.component) AS comp, s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
            FROM pg_temp.fl_imp_src s
            LEFT JOIN fl.unit un ON un.code = s.unit
            LEFT JOIN fl.book bk ON bk.code = upper(s.book)
            LEFT JOIN fl.chart ch ON ch.code = s.line) x;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('year', CASE WHEN w.y IS NULL THEN format('''%s'' is not a year (2000-2100)', w.t_year) END),
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('line', CASE WHEN w.lkind IS NULL THEN format('unknown account ''%s'' (a chart code like 4001, 4101, 5001, 5101)', w.line)
                    WHEN w.lkind NOT IN ('revenue', 'expenditure')
                    THEN format('account %s is not a revenue (4xxx) or expenditure (5xxx) account', w.line) END),
      ('amount', fl.imp_amount_problem(w.t_amount))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'line', format('line %s appears again for %s %s %s%s (first on row %s)', w.line, w.y, w.unit, w.book,
                                  CASE WHEN w.comp <> '' THEN ' ' || w.comp ELSE '' END, f.first), 'bad'
    FROM pg_temp.fl_imp_work w
    JOIN (SELECT y, unit, book, comp, line, min(row_no) AS first FROM pg_temp.fl_imp_work WHERE valid
           GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) f USING (y, unit, book, comp, line)
   WHERE w.valid AND w.row_no > f.first;
  -- A parent line and one of its sub-accounts in one budget would count the money twice.
  INSERT INTO pg_temp.fl_imp_err
  SELECT c.row_no, 'line', format('line %s is a sub-account of line %s (row %s) in the same budget; give one or the other',
                                  c.line, p.line, p.row_no), 'bad'
    FROM pg_temp.fl_imp_work c
    JOIN fl.chart ch ON ch.code = c.line
    JOIN pg_temp.fl_imp_work p ON p.line = ch.parent AND p.y = c.y AND p.unit = c.unit AND p.book = c.book AND p.comp = c.comp
   WHERE c.valid AND p.valid;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  bid := fl._imp_batch('budget', p_file, p_sha256);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT g.*, cur.id AS cur_id, cur.version AS cur_version, (cur.content_hash IS NOT DISTINCT FROM g.chash) AS same
    FROM (SELECT w.y, w.unit, w.book,
                 sha256(convert_to(string_agg(w.comp || ':' || w.line || ':' || w.fen, ',' ORDER BY w.comp, w.line), 'UTF8')) AS chash
            FROM pg_temp.fl_imp_work w GROUP BY w.y, w.unit, w.book) g
    LEFT JOIN LATERAL (SELECT b.id, b.version, b.content_hash FROM fl.budget b
                        WHERE b.year = g.y AND b.unit = g.unit AND b.book = g.book
                        ORDER BY b.version DESC LIMIT 1) cur ON true;

  CREATE TEMP TABLE fl_imp_new (id bigint, year int, unit text, book text) ON COMMIT DROP;
  WITH ins AS (
    INSERT INTO fl.budget (year, unit, book, version, content_hash)
    SELECT e.y, e.unit, e.book, coalesce(e.cur_version, 0) + 1, e.chash FROM pg_temp.fl_imp_ent e WHERE NOT e.same
    ORDER BY e.y, e.unit, e.book
    RETURNING id, year, unit, book)
  INSERT INTO pg_temp.fl_imp_new SELECT * FROM ins;
  INSERT INTO fl.budget_line (budget_id, component, line, amount)
  SELECT n.id, w.comp, w.line, w.fen
    FROM pg_temp.fl_imp_new n JOIN pg_temp.fl_imp_work w ON w.y = n.year AND w.unit = n.unit AND w.book = n.book;

  SELECT jsonb_agg(jsonb_build_object(
           'year', b.year, 'unit', b.unit, 'book', b.book, 'version', b.version,
           'status', CASE WHEN n.id IS NOT NULL THEN 'created' ELSE 'unchanged' END,
           'revenue', t.revenue, 'expenditure', t.expenditure, 'deficit', t.deficit)
           ORDER BY b.year, b.unit, b.book)
    INTO out
    FROM pg_temp.fl_imp_ent e
    JOIN fl.budget b ON b.id = coalesce((SELECT n2.id FROM pg_temp.fl_imp_new n2
                                          WHERE n2.year = e.y AND n2.unit = e.unit AND n2.book = e.book), e.cur_id)
    LEFT JOIN pg_temp.fl_imp_new n ON n.id = b.id
    CROSS JOIN LATERAL fl.budget_totals(b.id) t;
  UPDATE fl.import_batch SET rows_posted = (SELECT count(*) FROM pg_temp.fl_imp_work w
                                             JOIN pg_temp.fl_imp_new n ON n.year = w.y AND n.unit = w.unit AND n.book = w.book),
         rows_skipped = rows_total - (SELECT count(*) FROM pg_temp.fl_imp_work w
                                       JOIN pg_temp.fl_imp_new n ON n.year = w.y AND n.unit = w.unit AND n.book = w.book)
   WHERE id = bid;
  RETURN (SELECT jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                                    'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', 0,
                                    'budgets', out)
            FROM fl.import_batch b WHERE b.id = bid);
END $$;

REVOKE ALL ON FUNCTION fl._imp_stage_columns(text), fl._imp_work_names(), fl._imp_clear(text), fl.import_stage(text),
  fl._imp_open(text), fl.import_payments(text, text), fl.import_collections(text, text),
  fl.import_opening(text, text, date), fl.import_budget(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.import_stage(text), fl.import_payments(text, text), fl.import_collections(text, text),
  fl.import_opening(text, text, date), fl.import_budget(text, text)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;


-- ===========================================================================
-- 4. Row security where it was missing.
-- ===========================================================================
-- fl.budget_current ran with its owner's rights, past fl.budget's row security: an
-- officer read every unit's budget (raw SQL, report budget-execution --unit OTHER,
-- fl.request_justification). It now runs as the caller.
ALTER VIEW fl.budget_current SET (security_invoker = true);

-- Users: city roles see every user (an admin manages them); an officer sees itself.
-- fl.user_login (0013) reads fl.app_user: as the caller, so this holds through it too.
ALTER TABLE fl.app_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.app_user FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR name = session_user);
DO $$
BEGIN
  IF to_regclass('fl.user_login') IS NOT NULL THEN
    ALTER VIEW fl.user_login SET (security_invoker = true);
  END IF;
END $$;

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

-- Functions made after 0002's blanket REVOKE kept PUBLIC's EXECUTE unless their author
-- revoked it (0007 did so for definer functions only): internal helpers such as
-- fl._imp_entries were callable by every login. Harmless while they run with the
-- caller's rights, but nothing in fl is PUBLIC's: each function is granted to the groups
-- that call it (the API, the read helpers row security and the reports use).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA fl FROM PUBLIC;

RESET ROLE;
