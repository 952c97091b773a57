-- fundledger migration 0170: two equal lines of a bank statement are two lines (ATTACK20 L7;
-- docs/auditors-guide.md "Bank reconciliation", docs/security.md L7).
--
-- fl.statement_line was UNIQUE (bank account, reference, date, direction, amount) —
-- statement_line_once — and fl.import_statement inserted with ON CONFLICT DO NOTHING, so that
-- importing a statement again (or an overlapping one) adds nothing. It also dropped, silently, the
-- second of two real lines agreeing on those five: two 2.00 手续费 on one day (Chinese statements'
-- 摘要 are generic), counted "already known"; the 余额调节表 then lacked a bank movement.
--
-- Now a line's identity is those five AND its place among the lines sharing them: the column
-- fl.statement_line.twin (NULL: the first or only such line — every line stored before this
-- migration, which were unique on the five, so an upgraded ledger's lines keep their identity and
-- their recorded history; 2, 3 …: the later twins), statement_line_once being UNIQUE NULLS NOT
-- DISTINCT over the six. fl.import_statement (its latest definition, 0085's, changed only where
-- "(0170" says, every SET clause kept) counts a file's line as known when the account already
-- holds as many lines of its kind as the file has up to and including it — among those with the
-- same running balance (余额) when the file gives one, so twins that came in different files are
-- told apart by it — and gives the new ones the next twin numbers. Re-importing the same file, or
-- an overlapping statement holding both twins or only one, adds nothing; three twins are three.
-- What no file can tell: one twin in each of two statements WITHOUT a balance column — the second
-- reads as the first again (docs: export the statement with its 余额 column).

ALTER TABLE fl.statement_line ADD COLUMN twin int CONSTRAINT statement_line_twin CHECK (twin >= 2);
ALTER TABLE fl.statement_line DROP CONSTRAINT statement_line_once;
ALTER TABLE fl.statement_line ADD CONSTRAINT statement_line_once
  UNIQUE NULLS NOT DISTINCT (bank_account_id, reference, line_date, direction, amount, twin);

CREATE OR REPLACE FUNCTION fl.import_statement(p_book text, p_holder text, p_unit text, p_file text, p_sha256 text, p_lines jsonb)
 RETURNS TABLE(statement_id bigint, bank_account_id integer, lines_total integer, lines_new integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
 SET "DateStyle" TO 'ISO, YMD'
AS $function$
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
  -- (0170, ATTACK20 L7) A line's identity is its account, reference, date, direction and amount
  -- AND which of the lines sharing those five it is (twin: NULL the first, 2, 3 … the later ones).
  -- A line of the file is already known when the account holds at least as many lines of its
  -- kind as the file has up to it: counted among the stored lines with the same running balance
  -- when the file gives one — two fees of one day differ in it, whichever file each came in — and
  -- among all stored lines of its kind when the file gives none (or when some of the stored ones
  -- came without a balance: those are counted by position). The new ones
  -- take the next twin numbers of their kind. So the same statement again, or an overlapping one
  -- holding some or all of the twins, adds nothing, and two equal real lines are two.
  WITH f AS (
    SELECT (l->>'row')::int AS row_no, (l->>'date')::date AS line_date, l->>'direction' AS direction,
           (l->>'amount')::bigint AS amount, l->>'reference' AS reference, (l->>'balance')::bigint AS balance
      FROM jsonb_array_elements(p_lines) l
  ), o AS (
    SELECT f.*,
           row_number() OVER (PARTITION BY reference, line_date, direction, amount ORDER BY row_no) AS occ,
           row_number() OVER (PARTITION BY reference, line_date, direction, amount, balance ORDER BY row_no) AS occ_bal
      FROM f
  ), s AS (
    SELECT o.*,
           (SELECT count(*) FROM fl.statement_line t
             WHERE t.bank_account_id = bank AND t.reference = o.reference AND t.line_date = o.line_date
               AND t.direction = o.direction AND t.amount = o.amount) AS stored,
           (SELECT count(*) FROM fl.statement_line t
             WHERE t.bank_account_id = bank AND t.reference = o.reference AND t.line_date = o.line_date
               AND t.direction = o.direction AND t.amount = o.amount
               AND t.balance = o.balance) AS stored_bal,
           (SELECT count(*) FROM fl.statement_line t
             WHERE t.bank_account_id = bank AND t.reference = o.reference AND t.line_date = o.line_date
               AND t.direction = o.direction AND t.amount = o.amount AND t.balance IS NULL) AS stored_nobal
      FROM o
  ), n AS (
    SELECT s.*, s.stored + row_number() OVER (PARTITION BY reference, line_date, direction, amount ORDER BY row_no) AS twin
      FROM s
     WHERE CASE WHEN s.balance IS NULL THEN s.stored < s.occ
                ELSE s.stored_bal < s.occ_bal AND NOT (s.stored_nobal > 0 AND s.stored >= s.occ) END
  )
  INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, reference, balance,
                                 twin)
  SELECT bank, sid, n.row_no, n.line_date, n.direction, n.amount, n.reference, n.balance,
         CASE WHEN n.twin > 1 THEN n.twin END
    FROM n ORDER BY n.row_no
  ON CONFLICT ON CONSTRAINT statement_line_once DO NOTHING;    -- a concurrent import of the same lines: known
  GET DIAGNOSTICS k = ROW_COUNT;
  -- (0085, ATTACK10 X15) Statements and their new lines per user and region day: 200
  -- statements and 50000 new lines for an officer, 1000 and 500000 for the city bureau and
  -- city finance. Counted after the lines went in (only new lines count: a statement imported
  -- again adds none); 0073's counter row, incremented and read in one statement. A refused
  -- call rolls back its statement, its lines and its increment.
  DECLARE
    cap   int := CASE WHEN u.role = 'officer' THEN 200 ELSE 1000 END;
    lcap  bigint := CASE WHEN u.role = 'officer' THEN 50000 ELSE 500000 END;
    today date := fl._region_today();
    sofar int;
    lines bigint;
  BEGIN
    INSERT INTO fl.manual_day AS m (user_name, day, n, statements, statement_lines) VALUES (u.name, today, 0, 1, k)
      ON CONFLICT (user_name, day) DO UPDATE
        SET statements = m.statements + 1, statement_lines = m.statement_lines + EXCLUDED.statement_lines
      RETURNING m.statements, m.statement_lines INTO sofar, lines;
    IF sofar > cap THEN
      PERFORM fl.refuse('statement_daily_cap', format(
        '%s has already imported %s bank statements today (%s, the region''s day; at most %s a day for a %s), and '
        'nothing was written. Import it tomorrow (from 00:00 of %s, the region''s time), or have the city bureau (a '
        'reviewer) or city finance import it',
        u.name, sofar - 1, today, cap, u.role, today + 1), 'program_limit_exceeded');
    END IF;
    IF lines > lcap THEN
      PERFORM fl.refuse('statement_daily_cap', format(
        '%s has already imported %s new bank statement lines today (%s, the region''s day; at most %s a day for a '
        '%s); this statement''s %s new lines would pass that, and nothing was written. Import the rest tomorrow (from '
        '00:00 of %s, the region''s time), in shorter statements, or have the city bureau (a reviewer) or city '
        'finance import it',
        u.name, lines - k, today, lcap, u.role, k, today + 1), 'program_limit_exceeded');
    END IF;
  END;
  RETURN QUERY SELECT sid, bank, n, k;
END $function$;
