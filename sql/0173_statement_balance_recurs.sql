-- fundledger migration 0173: a bank line whose running balance recurs, or printed with another
-- balance figure, is neither dropped nor doubled (ATTACK20b M6; docs/auditors-guide.md "Bank
-- reconciliation", docs/security.md M6).
--
-- 0170 told equal statement lines (account, reference, date, direction, amount) apart by their place
-- among twins and, across files, by the running balance (余额). The balance can come back to a figure:
-- a 2.00 fee (998.00), its reversal (1000.00), the fee again (998.00): a statement holding only the
-- last was counted as the first again and dropped. And one line exported twice with two balance figures
-- (账户余额 vs 可用余额) was stored twice. fl.import_statement (0170's definition, every SET clause kept,
-- changed only where "(0173" says) now reads the balance before each line (its balance minus its signed
-- amount) and: takes a line matching a stored one for that one only when the stored history did not come
-- back to its "before" since, or the file shows where it stands against that later line; takes a line
-- new by its balance alone only when the balance follows from the account's (a stored line or its
-- neighbour in the file ends at its "before"). Otherwise the file is refused (statement_line_ambiguous),
-- naming the file and rows: export with the 流水号 in the reference, or with the surrounding lines.

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
  bad_recur text;
  bad_chain text;
  fresh jsonb;
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
  -- when the file gives one, and among all stored lines of its kind when the file gives none (or
  -- when some of the stored ones came without a balance: those are counted by position).
  -- (0173, ATTACK20b M6) The balance alone is no identity: it can come back to a figure (fee 998,
  -- its reversal 1000, the fee again 998), and one line can be printed with another balance figure.
  -- "before" is the balance before the line (its balance minus its signed amount).
  --  * recur: a line counted known by its balance, but the stored history came back to its
  --    "before" (a stored line T ending at it, later than the last stored line it matches, dated no
  --    later than it): if the file holds T after the line, it is the stored one (known); if the file
  --    holds T before it, it is a new movement after T (new); if the file does not hold T, the file
  --    cannot tell — refused, naming the rows.
  --  * unchained: a line new only because no stored line of its kind has its balance (by position
  --    it is known), while neither a stored line nor its neighbour in the file ends at its
  --    "before": the balance figure does not continue the account's — refused, naming the rows.
  -- Never a real line dropped silently nor one line stored twice: the file is refused with its rows.
  WITH f AS (
    SELECT (l->>'row')::int AS row_no, (l->>'date')::date AS line_date, l->>'direction' AS direction,
           (l->>'amount')::bigint AS amount, l->>'reference' AS reference, (l->>'balance')::bigint AS balance
      FROM jsonb_array_elements(p_lines) l
  ), o AS (
    SELECT f.*,
           f.balance - CASE WHEN f.direction = 'in' THEN f.amount ELSE -f.amount END AS before,
           lag(f.balance) OVER (ORDER BY f.row_no) AS prev_bal,
           lead(f.balance) OVER (ORDER BY f.row_no) AS next_bal,
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
  ), a AS (
    SELECT s.*, r.reference AS t_reference, r.line_date AS t_date, r.direction AS t_direction,
           r.amount AS t_amount, r.balance AS t_balance
      FROM s LEFT JOIN LATERAL (
        SELECT t.reference, t.line_date, t.direction, t.amount, t.balance FROM fl.statement_line t
         WHERE s.balance IS NOT NULL AND s.stored_bal >= s.occ_bal
           AND t.bank_account_id = bank AND t.balance = s.before AND t.line_date <= s.line_date
           AND (t.line_date, t.statement_id, t.row_no) > (
                 SELECT x.line_date, x.statement_id, x.row_no FROM fl.statement_line x
                  WHERE x.bank_account_id = bank AND x.reference = s.reference AND x.line_date = s.line_date
                    AND x.direction = s.direction AND x.amount = s.amount AND x.balance = s.balance
                  ORDER BY x.line_date DESC, x.statement_id DESC, x.row_no DESC LIMIT 1)
         ORDER BY t.line_date, t.statement_id, t.row_no LIMIT 1) r ON true
  ), c AS (
    SELECT a.*,
           CASE WHEN a.t_balance IS NULL THEN NULL
                WHEN EXISTS (SELECT 1 FROM f g WHERE g.row_no > a.row_no AND g.reference = a.t_reference
                               AND g.line_date = a.t_date AND g.direction = a.t_direction AND g.amount = a.t_amount
                               AND g.balance = a.t_balance) THEN 'known'
                WHEN EXISTS (SELECT 1 FROM f g WHERE g.row_no < a.row_no AND g.reference = a.t_reference
                               AND g.line_date = a.t_date AND g.direction = a.t_direction AND g.amount = a.t_amount
                               AND g.balance = a.t_balance) THEN 'new'
                ELSE 'ambiguous' END AS recur,
           CASE WHEN a.balance IS NULL THEN a.stored < a.occ
                ELSE a.stored_bal < a.occ_bal AND NOT (a.stored_nobal > 0 AND a.stored >= a.occ) END AS by_count
      FROM a
  ), d AS (
    SELECT c.*,
           (c.recur = 'new' OR (c.by_count AND c.recur IS NULL)) AS is_new,
           (c.recur = 'ambiguous') AS bad_recur,
           (c.by_count AND c.balance IS NOT NULL AND c.stored >= c.occ
            AND c.prev_bal IS DISTINCT FROM c.before AND c.next_bal IS DISTINCT FROM c.before
            AND NOT EXISTS (SELECT 1 FROM fl.statement_line t
                             WHERE t.bank_account_id = bank AND t.balance = c.before)) AS bad_chain
      FROM c
  )
  SELECT string_agg(d.row_no::text, ', ' ORDER BY d.row_no) FILTER (WHERE d.bad_recur),
         string_agg(d.row_no::text, ', ' ORDER BY d.row_no) FILTER (WHERE d.bad_chain),
         coalesce(jsonb_agg(jsonb_build_object('row_no', d.row_no, 'line_date', d.line_date, 'direction', d.direction,
                                              'amount', d.amount, 'reference', d.reference, 'balance', d.balance,
                                              'stored', d.stored) ORDER BY d.row_no) FILTER (WHERE d.is_new),
                  '[]'::jsonb)
    INTO bad_recur, bad_chain, fresh
    FROM d;
  IF bad_recur IS NOT NULL THEN
    PERFORM fl.refuse('statement_line_ambiguous', format(
      'statement %s: the line(s) at row %s cannot be told from a bank line already imported — same account, date, '
      'reference, direction, amount and running balance, and the balance came back to the same figure since (e.g. a '
      'fee, its reversal, the fee again) without the file showing which; nothing was written. Export the statement '
      'again with the bank''s serial number (流水号) in the reference column, or together with the lines around it',
      p_file, bad_recur));
  END IF;
  IF bad_chain IS NOT NULL THEN
    PERFORM fl.refuse('statement_line_ambiguous', format(
      'statement %s: the line(s) at row %s agree with a bank line already imported on account, date, reference, '
      'direction and amount, but their running balance differs and does not follow from any balance of the account '
      '(another balance column — 可用余额 instead of 账户余额?); nothing was written. Export the statement with the '
      'account balance (账户余额) column, or with the bank''s serial number (流水号) in the reference column',
      p_file, bad_chain));
  END IF;
  INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, reference, balance,
                                 twin)
  SELECT bank, sid, n.row_no, n.line_date, n.direction, n.amount, n.reference, n.balance,
         CASE WHEN n.twin > 1 THEN n.twin END
    FROM (SELECT x.*, x.stored + row_number() OVER (PARTITION BY x.reference, x.line_date, x.direction, x.amount
                                                     ORDER BY x.row_no) AS twin
            FROM jsonb_to_recordset(fresh) AS x(row_no int, line_date date, direction text, amount bigint,
                                                reference text, balance bigint, stored bigint)) n
   ORDER BY n.row_no
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
