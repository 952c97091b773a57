-- fundledger migration 0007: access-control hardening, bank statements and reconciliation.
--
-- Verification itself (ledger/store/verify.py) is read-only SQL run by the auditor and
-- needs nothing here: it recomputes every invariant from the raw rows rather than
-- trusting maintained tables or functions the database owner could have replaced.

-- ===========================================================================
-- 1. Access control: holes found reviewing 0001-0003, closed here.
-- ===========================================================================

-- (a) SECURITY DEFINER functions must list pg_temp LAST. When pg_temp is not named in
--     search_path PostgreSQL searches it FIRST for tables: any user with TEMP on the
--     database could `CREATE TEMP TABLE pg_roles (rolname name, rolsuper bool)` and make
--     fl.add_user (which reads pg_roles unqualified) believe they are a superuser, then
--     create themselves an admin. Fixed for every SECURITY DEFINER function in fl,
--     including those added by 0003-0006.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef
       AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c
                        WHERE c LIKE 'search_path=%' AND c LIKE '%pg_temp')
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, fl, pg_temp', f);
  END LOOP;
END $$;

-- (b) Functions created after 0002's blanket REVOKE are executable by PUBLIC unless their
--     author revoked it. Harmless for SECURITY INVOKER functions (they run with the
--     caller's rights), not for SECURITY DEFINER ones: revoke those, and make future
--     functions private by default. Explicit grants to the fl_* groups are kept.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $$;
ALTER DEFAULT PRIVILEGES IN SCHEMA fl REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- (c) Row security treated "not a fundledger user" like "a city role": fl.my_unit()
--     returned NULL (= sees every unit) for a login that is a member of fl_officer but
--     has no fl.app_user row (a DBA's GRANT fl_officer TO someone). Now such a login
--     sees no unit's rows at all.
CREATE OR REPLACE FUNCTION fl.my_unit() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE WHEN u.name IS NULL THEN '' ELSE u.unit END
    FROM (SELECT 1) one LEFT JOIN fl.app_user u ON u.name = session_user
$$;

-- (d) Workflow history had no row security: an officer could read another unit's request
--     events (amounts, reasons), register clearings and budget lines. They now follow
--     the row security of their parent rows.
ALTER TABLE fl.request_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.register_clearing ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.budget_line ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.request_event FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.fund_request r WHERE r.id = request_event.request_id));
CREATE POLICY unit_rows ON fl.register_clearing FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.register_item i WHERE i.id = register_clearing.item_id));
CREATE POLICY unit_rows ON fl.budget_line FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.budget b WHERE b.id = budget_line.budget_id));

-- (d') 0002's policy on fl.entry compared `p.entry_id = id` inside a subquery over
--     fl.posting, where the unqualified `id` is the POSTING's id: an officer saw every
--     entry of every unit as soon as one of its own postings had entry_id = its own id.
--     Qualified now.
DROP POLICY unit_rows ON fl.entry;
CREATE POLICY unit_rows ON fl.entry FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL
  OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = entry.id AND p.unit = (SELECT fl.my_unit())));

-- (f) The import functions (0004, SECURITY DEFINER) read a caller-named "stage" relation
--     as the schema owner. A caller could name a temporary VIEW whose columns call a
--     function the caller wrote (CREATE FUNCTION pg_temp.f() ...): functions in a view run
--     as the user reading it, here the schema owner, so the caller's code would run with
--     the owner's rights (disable triggers, rewrite the journal, create roles). A table
--     with a row-security policy calling such a function did the same. The stage must now
--     be a plain temporary table of this session with int/text columns, no rules, no row
--     security; the original function is kept under a new name and called after the check.
DO $$
BEGIN
  IF to_regprocedure('fl._imp_open(regclass)') IS NOT NULL THEN
    ALTER FUNCTION fl._imp_open(regclass) RENAME TO _imp_open_unchecked;
    CREATE FUNCTION fl._imp_open(p_stage regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $f$
    BEGIN
      IF p_stage IS NOT NULL AND (
           NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                        WHERE c.oid = p_stage AND c.relkind = 'r' AND c.relpersistence = 't'
                          AND c.relnamespace = pg_catalog.pg_my_temp_schema()
                          AND NOT c.relrowsecurity AND NOT c.relhasrules)
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = p_stage AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.atttypid NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                                                'text'::regtype, 'varchar'::regtype))) THEN
        PERFORM fl.refuse('permission_denied',
          'the staged file must be a plain temporary table of this session with integer and text columns',
          'insufficient_privilege');
      END IF;
      PERFORM fl._imp_open_unchecked(p_stage);
    END $f$;
    REVOKE ALL ON FUNCTION fl._imp_open(regclass), fl._imp_open_unchecked(regclass) FROM PUBLIC;
  END IF;
END $$;

-- (e) The canonical text hashed into the chain printed the entry date with the session's
--     DateStyle: a writer with PGDATESTYLE=German would have sealed '01.03.2023' and an
--     auditor could not reproduce the digest. Pinned to ISO (what every entry so far used),
--     both in the function and in the seal that computes the same text set-based.
ALTER FUNCTION fl.entry_canonical(bigint) SET DateStyle = 'ISO, YMD';
ALTER FUNCTION fl.seal_transaction() SET DateStyle = 'ISO, YMD';

-- ===========================================================================
-- 2. Bank statements (银行对账单) and reconciliation matches. Append-only.
-- ===========================================================================
CREATE TABLE fl.bank_statement (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bank_account_id int  NOT NULL REFERENCES fl.bank_account (id),
  file_name       text NOT NULL,
  file_sha256     text NOT NULL,
  lines_total     int  NOT NULL,           -- lines in the file; those already known are not stored again
  imported_by     text NOT NULL DEFAULT session_user,
  imported_at     timestamptz NOT NULL DEFAULT now(),
  client_addr     inet DEFAULT inet_client_addr()
);

-- One bank line is known once, whichever statement brought it: re-importing a statement
-- (or an overlapping one) adds nothing. Identity: (account, reference, date, direction, amount).
CREATE TABLE fl.statement_line (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bank_account_id int    NOT NULL REFERENCES fl.bank_account (id),
  statement_id    bigint NOT NULL REFERENCES fl.bank_statement (id),
  row_no          int    NOT NULL,
  line_date       date   NOT NULL,
  direction       text   NOT NULL CHECK (direction IN ('in', 'out')),
  amount          bigint NOT NULL CONSTRAINT statement_amount_positive CHECK (amount > 0),
  reference       text   NOT NULL,
  balance         bigint,                         -- the bank's running balance, when given
  CONSTRAINT statement_line_once UNIQUE (bank_account_id, reference, line_date, direction, amount)
);
CREATE INDEX statement_line_account_date ON fl.statement_line (bank_account_id, line_date);

-- A match group ties statement lines to postings whose signed totals agree
-- (in = debit of the deposit account, out = credit). Each line and each posting is
-- matched at most once.
CREATE TABLE fl.recon_match (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bank_account_id   int    NOT NULL REFERENCES fl.bank_account (id),
  match_group       bigint NOT NULL,
  method            text   NOT NULL CHECK (method IN ('reference', 'amount_date')),
  statement_line_id bigint UNIQUE REFERENCES fl.statement_line (id),
  posting_id        bigint UNIQUE,
  matched_by        text   NOT NULL DEFAULT session_user,
  matched_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT match_one_side CHECK ((statement_line_id IS NULL) <> (posting_id IS NULL))
);
CREATE INDEX recon_match_group ON fl.recon_match (match_group);
CREATE SEQUENCE fl.recon_group_seq;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['bank_statement','statement_line','recon_match'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.refuse_change()',
                   t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_truncate', t);
  END LOOP;
END $$;

-- The bank account a statement belongs to; created if the ledger has not used it yet.
-- Officers may reconcile only their own unit's (non-pooled) accounts.
CREATE FUNCTION fl._statement_account(u fl.app_user, p_book text, p_holder text, p_unit text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  hd   fl.holder;
  un   fl.unit;
  k    text;
  bank int;
BEGIN
  SELECT * INTO hd FROM fl.holder WHERE code = p_holder;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('unknown bank account ''%s'' (known: %s)', p_holder,
      (SELECT string_agg(code, ', ' ORDER BY code) FROM fl.holder)), 'no_data_found');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.book WHERE code = p_book) THEN
    PERFORM fl.refuse('not_found', format('unknown book ''%s''', p_book), 'no_data_found');
  END IF;
  IF hd.pooled AND p_unit IS NOT NULL THEN
    PERFORM fl.refuse('bad_document', format('the %s is one pooled account: give it without a unit', hd.name_en));
  ELSIF NOT hd.pooled THEN
    SELECT * INTO un FROM fl.unit WHERE code = p_unit;
    IF NOT FOUND THEN
      PERFORM fl.refuse('bad_document', format('the %s is kept per unit: give %s:UNIT with a known unit', hd.name_en, p_holder));
    END IF;
    IF hd.counties_only AND un.kind <> 'county' THEN
      PERFORM fl.refuse('bad_document', format('unit %s has no %s', p_unit, hd.name_en));
    END IF;
  END IF;
  IF u.role = 'officer' AND (hd.pooled OR p_unit IS DISTINCT FROM u.unit) THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may reconcile only that unit''s own accounts',
      u.name, u.unit), 'insufficient_privilege');
  END IF;
  k := CASE WHEN hd.pooled THEN NULL ELSE p_unit END;
  INSERT INTO fl.bank_account (book, holder, unit) VALUES (p_book, p_holder, k) ON CONFLICT DO NOTHING;
  SELECT id INTO bank FROM fl.bank_account WHERE book = p_book AND holder = p_holder AND unit IS NOT DISTINCT FROM k;
  RETURN bank;
END $$;

-- Lines: jsonb array of {row, date, direction ('in'|'out'), amount (fen), reference, balance (fen|null)}.
CREATE FUNCTION fl.import_statement(p_book text, p_holder text, p_unit text, p_file text, p_sha256 text, p_lines jsonb)
RETURNS TABLE (statement_id bigint, bank_account_id int, lines_total int, lines_new int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'import bank statements');
  bank int := fl._statement_account(u, p_book, p_holder, p_unit);
  sid  bigint;
  n    int;
  k    int;
BEGIN
  IF jsonb_typeof(p_lines) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'statement lines must be a list');
  END IF;
  n := jsonb_array_length(p_lines);
  INSERT INTO fl.bank_statement (bank_account_id, file_name, file_sha256, lines_total)
  VALUES (bank, p_file, p_sha256, n) RETURNING id INTO sid;
  INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, reference, balance)
  SELECT bank, sid, (l->>'row')::int, (l->>'date')::date, l->>'direction', (l->>'amount')::bigint, l->>'reference',
         (l->>'balance')::bigint
    FROM jsonb_array_elements(p_lines) l
  ON CONFLICT ON CONSTRAINT statement_line_once DO NOTHING;
  GET DIAGNOSTICS k = ROW_COUNT;
  RETURN QUERY SELECT sid, bank, n, k;
END $$;

-- Groups: jsonb array of {method, lines: [statement_line ids], postings: [posting ids]}.
-- Every item must belong to the bank account, be unmatched, and each group's signed
-- totals must agree. Returns the number of groups recorded. (No temp table: a caller's
-- own temp table of the same name would be used by this SECURITY DEFINER function.)
CREATE FUNCTION fl._match_items(p_groups jsonb) RETURNS TABLE (g int, method text, line_id bigint, posting_id bigint)
LANGUAGE sql IMMUTABLE AS $$
  SELECT x.i::int, x.doc->>'method', l.v::bigint, NULL::bigint
    FROM jsonb_array_elements(p_groups) WITH ORDINALITY x(doc, i),
         jsonb_array_elements_text(coalesce(x.doc->'lines', '[]')) l(v)
  UNION ALL
  SELECT x.i::int, x.doc->>'method', NULL::bigint, p.v::bigint
    FROM jsonb_array_elements(p_groups) WITH ORDINALITY x(doc, i),
         jsonb_array_elements_text(coalesce(x.doc->'postings', '[]')) p(v)
$$;

CREATE FUNCTION fl.record_matches(p_bank int, p_groups jsonb) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'record reconciliation matches');
  b   fl.bank_account;
  bad record;
  n   int := 0;
BEGIN
  SELECT * INTO b FROM fl.bank_account WHERE id = p_bank;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no bank account %s', p_bank), 'no_data_found');
  END IF;
  IF u.role = 'officer' AND b.unit IS DISTINCT FROM u.unit THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may reconcile only that unit''s own accounts',
      u.name, u.unit), 'insufficient_privilege');
  END IF;
  IF jsonb_typeof(p_groups) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'match groups must be a list');
  END IF;
  -- Serialise matchers of one bank account (the UNIQUE constraints would refuse anyway).
  PERFORM 1 FROM fl.bank_account WHERE id = p_bank FOR UPDATE;

  SELECT r.g INTO bad FROM fl._match_items(p_groups) r
    LEFT JOIN fl.statement_line l ON l.id = r.line_id AND l.bank_account_id = p_bank
    LEFT JOIN fl.posting p ON p.id = r.posting_id
    LEFT JOIN fl.account a ON a.id = p.account_id AND a.bank_account_id = p_bank
   WHERE (r.line_id IS NOT NULL AND l.id IS NULL) OR (r.posting_id IS NOT NULL AND a.id IS NULL)
      OR r.method IS NULL OR r.method NOT IN ('reference', 'amount_date')
      OR EXISTS (SELECT 1 FROM fl.recon_match m WHERE m.statement_line_id = r.line_id OR m.posting_id = r.posting_id)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('recon_match', format(
      'match group %s names a line or posting that is not on this bank account or is already matched', bad.g));
  END IF;
  SELECT r.g INTO bad FROM fl._match_items(p_groups) r
    LEFT JOIN fl.statement_line l ON l.id = r.line_id
    LEFT JOIN fl.posting p ON p.id = r.posting_id
   GROUP BY r.g
  HAVING coalesce(sum(CASE l.direction WHEN 'in' THEN l.amount WHEN 'out' THEN -l.amount END), 0)
      <> coalesce(sum(CASE p.side WHEN 'D' THEN p.amount WHEN 'C' THEN -p.amount END), 0)
      OR count(r.line_id) = 0 OR count(r.posting_id) = 0
      OR count(DISTINCT r.line_id) <> count(r.line_id) OR count(DISTINCT r.posting_id) <> count(r.posting_id)
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('recon_match', format('match group %s: the bank lines and postings do not agree in amount', bad.g));
  END IF;

  WITH items AS (SELECT * FROM fl._match_items(p_groups)),
  gs AS (SELECT x.g, nextval('fl.recon_group_seq') AS grp FROM (SELECT DISTINCT g FROM items ORDER BY g) x)
  INSERT INTO fl.recon_match (bank_account_id, match_group, method, statement_line_id, posting_id)
  SELECT p_bank, gs.grp, r.method, r.line_id, r.posting_id FROM items r JOIN gs ON gs.g = r.g ORDER BY r.g;
  SELECT count(DISTINCT g) INTO n FROM fl._match_items(p_groups);
  RETURN n;
END $$;

REVOKE ALL ON fl.bank_statement, fl.statement_line, fl.recon_match, fl.recon_group_seq FROM PUBLIC;
GRANT SELECT ON fl.bank_statement, fl.statement_line, fl.recon_match
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor;
REVOKE ALL ON FUNCTION fl._statement_account(fl.app_user, text, text, text), fl._match_items(jsonb),
  fl.import_statement(text, text, text, text, text, jsonb),
  fl.record_matches(int, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.import_statement(text, text, text, text, text, jsonb), fl.record_matches(int, jsonb)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

ALTER TABLE fl.bank_statement ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.statement_line ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.recon_match ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.bank_statement FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.bank_account b WHERE b.id = bank_statement.bank_account_id));
CREATE POLICY unit_rows ON fl.statement_line FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.bank_account b WHERE b.id = statement_line.bank_account_id));
CREATE POLICY unit_rows ON fl.recon_match FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.bank_account b WHERE b.id = recon_match.bank_account_id));
