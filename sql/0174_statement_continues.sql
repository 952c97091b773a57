-- fundledger migration 0174: a bank statement is read as a continuation of the account's stored lines
-- (ATTACK21 N4, N5; docs/auditors-guide.md "Reconcile a bank statement", docs/security.md N4/N5).
--
-- 0173 (ATTACK20b M6) told a recurring balance apart by a STORED line ending at a line's balance-before,
-- and let a line new only by its balance pass when ANY stored line ever ended at its balance-before. Two
-- holes: a later export holding the reversal AND the fee charged again matched the stored fee on all six
-- fields (the reversal that shows it is new was row 1 of the same file): dropped silently (N4; also when
-- the stored fee came without a balance: counted by position); and the same fee printed with another
-- balance figure (可用余额) was stored twice whenever the account once stood at its balance-before (N5).
--
-- fl.import_statement (0173's definition, every SET clause kept, changed only where "(0174" says) now
-- walks the file's rows in order, each placed against the stored lines (date, statement, row order) and
-- the rows before it in the file:
--  * a row whose five fields and balance agree with a stored line is that line only where it truly is the
--    same movement: when the file's previous row ends at its balance-before (the file shows what precedes
--    it), that previous row must be able to precede the stored line — the stored line just before it
--    (ps) ending at its balance-before means its predecessor is ps: a previous row that is ps is the same
--    movement; a previous row that is a new line, or another stored line, is not (the row is new after
--    it); a stored line placed after it whose own predecessor chains into it likewise. Without that
--    evidence (first row, no balances), 0173's test: the stored history came back to its balance-before
--    since and the file does not show which — refused.
--  * a row matched by position to a stored line without balance, right after a new row of the same day:
--    refused (the file says it follows a new movement, the stored line cannot show it does not).
--  * a row new only by its balance (a stored line of its kind, not yet matched, has another balance) must
--    continue the IMMEDIATELY preceding line: the file's previous row once that row's place is
--    established (a stored line, or a new row that itself continued its predecessor), or, for the first
--    row, the last stored line on or before its date. Otherwise refused.
--  * a file whose dates go backwards (newest first) is refused: the order is what places its rows.
-- Refusals (statement_line_ambiguous, statement_line_order) name the file, rows and field and say what to
-- export; nothing is written. Past imports are not judged again (no rule point: the verdict reads the
-- stored lines, which this rule only adds to).

-- The walk reads "the stored line just before" a place for every row: an index in that order (the lookups were a
-- scan of the account's lines of the day, or of all its lines for the row comparison).
CREATE INDEX statement_line_sequence ON fl.statement_line (bank_account_id, line_date, statement_id, row_no);

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
  bad_order text;
  -- (0174) the walk: the row before (p_*), the stored lines already matched (claimed)
  r        record;
  s        record;
  ps_id    bigint;
  ps_bal   bigint;
  xps_bal  bigint;
  t_ref    text;
  t_date   date;
  t_dir    text;
  t_amt    bigint;
  t_bal    bigint;
  claimed  bigint[] := '{}';
  nc       int := 0;
  new_rows int[] := '{}';
  nn       int := 0;
  p_has    boolean := false;
  p_date   date;
  p_bal    bigint;
  p_before bigint;
  p_new    boolean;
  p_placed boolean;
  p_id     bigint;
  p_key_d  date;
  p_key_s  bigint;
  p_key_r  int;
  chained  boolean;
  verdict  text;
  hit_id   bigint;
  other    boolean;
  last_bal bigint;
  last_has boolean;
  placed   boolean;
  d_floor  date := fl._business_date_floor();
  d_today  date := fl._region_today();
BEGIN
  IF jsonb_typeof(p_lines) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'statement lines must be a list');
  END IF;
  n := jsonb_array_length(p_lines);
  INSERT INTO fl.bank_statement (bank_account_id, file_name, file_sha256, lines_total)
  VALUES (bank, p_file, p_sha256, n) RETURNING id INTO sid;
  -- (0170, ATTACK20 L7) A line's identity is its account, reference, date, direction and amount
  -- AND which of the lines sharing those five it is (twin: NULL the first, 2, 3 … the later ones).
  -- (0173, ATTACK20b M6) The balance alone is no identity: it can come back to a figure (fee 998,
  -- its reversal 1000, the fee again 998), and one line can be printed with another balance figure.
  -- "before" is the balance before the line (its balance minus its signed amount).
  -- (0174, ATTACK21 N4/N5) The file is read as a continuation of the account's stored lines, row by row
  -- in its order: each row is a stored line (known) only where it is the same movement, and a row new
  -- only by its balance must continue the line immediately before it. Rows that cannot be placed are
  -- collected and the whole file refused, naming them; nothing written.
  FOR r IN
    SELECT x.*, x.balance - CASE WHEN x.direction = 'in' THEN x.amount ELSE -x.amount END AS before
      FROM (SELECT (l->>'row')::int AS row_no, (l->>'date')::date AS line_date, l->>'direction' AS direction,
                   (l->>'amount')::bigint AS amount, l->>'reference' AS reference, (l->>'balance')::bigint AS balance
              FROM jsonb_array_elements(p_lines) l) x
     ORDER BY x.row_no
  LOOP
    -- a date outside the ledger's years is that row's fault whatever its order (0133's rule and words,
    -- before the order's: a mistyped 2000-01-01 in a file of 2024 is not "a newest-first export")
    IF r.line_date < d_floor OR r.line_date > d_today THEN
      PERFORM fl.refuse('statement_line_date', format(
        'statement file %s, row %s: a bank line dated %s is outside %s .. %s (the ledger''s first year to the '
        'region''s today); correct the date in the file and import it again, nothing was written',
        p_file, r.row_no, r.line_date, d_floor, d_today), 'check_violation');
    END IF;
    -- dates going backwards: a newest-first export; its rows cannot be placed by their order
    IF p_has AND r.line_date < p_date THEN
      bad_order := coalesce(bad_order || ', ', '') || r.row_no::text;
      p_has := false;
    END IF;
    chained := p_has AND r.balance IS NOT NULL AND p_bal IS NOT NULL AND p_bal = r.before;
    verdict := NULL;
    hit_id := NULL;
    IF r.balance IS NULL THEN
      -- no balance: the next stored line of its kind not matched yet, by position (0170)
      SELECT t2.id INTO hit_id FROM fl.statement_line t2
       WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.reference = r.reference
         AND t2.line_date = r.line_date AND t2.direction = r.direction AND t2.amount = r.amount
         AND NOT (t2.id = ANY (claimed))
       ORDER BY t2.statement_id, t2.row_no LIMIT 1;
      verdict := CASE WHEN hit_id IS NULL THEN 'new' ELSE 'known' END;
    ELSE
      -- the stored lines of its kind with its balance, not matched yet, in order: the first that can be it
      FOR s IN
        SELECT t2.id, t2.line_date, t2.statement_id, t2.row_no, t2.balance FROM fl.statement_line t2
         WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.reference = r.reference
           AND t2.line_date = r.line_date AND t2.direction = r.direction AND t2.amount = r.amount
           AND t2.balance = r.balance AND NOT (t2.id = ANY (claimed))
         ORDER BY t2.statement_id, t2.row_no
      LOOP
        IF NOT chained THEN
          -- (0173) no row before it that shows what precedes it: did the stored history come back to its
          -- balance-before since the last stored line it matches? Then the file must show where it stands.
          SELECT t2.reference, t2.line_date, t2.direction, t2.amount, t2.balance
            INTO t_ref, t_date, t_dir, t_amt, t_bal FROM fl.statement_line t2
           WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.balance = r.before
             AND t2.line_date <= r.line_date
             AND (t2.line_date, t2.statement_id, t2.row_no) > (
                   SELECT x.line_date, x.statement_id, x.row_no FROM fl.statement_line x
                    WHERE x.bank_account_id = bank AND x.statement_id <> sid AND x.reference = r.reference
                      AND x.line_date = r.line_date AND x.direction = r.direction AND x.amount = r.amount
                      AND x.balance = r.balance
                    ORDER BY x.line_date DESC, x.statement_id DESC, x.row_no DESC LIMIT 1)
           ORDER BY t2.line_date, t2.statement_id, t2.row_no LIMIT 1;
          IF t_bal IS NULL THEN
            verdict := 'known';
          ELSIF EXISTS (SELECT 1 FROM jsonb_array_elements(p_lines) g
                         WHERE (g->>'row')::int > r.row_no AND g->>'reference' = t_ref
                           AND (g->>'date')::date = t_date AND g->>'direction' = t_dir
                           AND (g->>'amount')::bigint = t_amt AND (g->>'balance')::bigint = t_bal) THEN
            verdict := 'known';
          ELSIF EXISTS (SELECT 1 FROM jsonb_array_elements(p_lines) g
                         WHERE (g->>'row')::int < r.row_no AND g->>'reference' = t_ref
                           AND (g->>'date')::date = t_date AND g->>'direction' = t_dir
                           AND (g->>'amount')::bigint = t_amt AND (g->>'balance')::bigint = t_bal) THEN
            verdict := NULL;            -- a new movement after that line
          ELSE
            verdict := 'ambiguous';
          END IF;
        ELSE
          -- the file's previous row ends at its balance-before: can that row precede this stored line?
          SELECT t2.id, t2.balance INTO ps_id, ps_bal FROM fl.statement_line t2
           WHERE t2.bank_account_id = bank AND t2.statement_id <> sid
             AND (t2.line_date, t2.statement_id, t2.row_no) < (s.line_date, s.statement_id, s.row_no)
           ORDER BY t2.line_date DESC, t2.statement_id DESC, t2.row_no DESC LIMIT 1;
          IF p_new THEN
            -- after a new row: only where the stored line has no known predecessor ending at its
            -- balance-before (a gap the new row fills)
            IF ps_id IS NOT NULL AND ps_bal IS NOT NULL THEN
              verdict := CASE WHEN ps_bal = r.before THEN NULL ELSE 'known' END;
            ELSIF p_date < s.line_date THEN
              verdict := 'known';
            ELSE
              verdict := 'ambiguous';
            END IF;
          ELSIF ps_id IS NOT DISTINCT FROM p_id THEN
            verdict := 'known';
          ELSIF ps_id IS NOT NULL AND ps_bal = r.before THEN
            verdict := NULL;            -- its predecessor is another line: not this movement
          ELSIF (p_key_d, p_key_s, p_key_r) > (s.line_date, s.statement_id, s.row_no) THEN
            -- the previous row is a stored line placed after this one: after it, unless its own place is
            -- not established by the lines before it (a statement filling a gap stored later)
            SELECT t2.balance INTO xps_bal FROM fl.statement_line t2
             WHERE t2.bank_account_id = bank AND t2.statement_id <> sid
               AND (t2.line_date, t2.statement_id, t2.row_no) < (p_key_d, p_key_s, p_key_r)
             ORDER BY t2.line_date DESC, t2.statement_id DESC, t2.row_no DESC LIMIT 1;
            verdict := CASE WHEN xps_bal = p_before THEN NULL ELSE 'known' END;
          ELSE
            verdict := 'known';
          END IF;
        END IF;
        IF verdict IS NOT NULL THEN
          hit_id := s.id;
          EXIT;
        END IF;
      END LOOP;
      IF verdict = 'ambiguous' THEN
        hit_id := NULL;
      ELSIF verdict IS NULL THEN
        -- a stored line of its kind without a balance, not matched yet: by position (0170) — but not right
        -- after a new row of its day (the file says it follows a new movement; nothing stored can say no)
        SELECT t2.id INTO hit_id FROM fl.statement_line t2
         WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.reference = r.reference
           AND t2.line_date = r.line_date AND t2.direction = r.direction AND t2.amount = r.amount
           AND t2.balance IS NULL AND NOT (t2.id = ANY (claimed))
         ORDER BY t2.statement_id, t2.row_no LIMIT 1;
        IF hit_id IS NOT NULL THEN
          verdict := CASE WHEN p_has AND p_new AND p_date = r.line_date THEN 'ambiguous' ELSE 'known' END;
          IF verdict = 'ambiguous' THEN hit_id := NULL; END IF;
        ELSE
          -- new. New only by its balance (a stored line of its kind, not matched yet, has another balance):
          -- it must continue the line immediately before it
          other := EXISTS (SELECT 1 FROM fl.statement_line t2
                            WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.reference = r.reference
                              AND t2.line_date = r.line_date AND t2.direction = r.direction AND t2.amount = r.amount
                              AND t2.balance <> r.balance AND NOT (t2.id = ANY (claimed)));
          verdict := 'new';
          IF other THEN
            IF p_has THEN
              IF NOT (chained AND p_placed) THEN verdict := 'unplaced'; END IF;
            ELSE
              SELECT t2.balance INTO last_bal FROM fl.statement_line t2
               WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.line_date <= r.line_date
               ORDER BY t2.line_date DESC, t2.statement_id DESC, t2.row_no DESC LIMIT 1;
              IF last_bal IS DISTINCT FROM r.before THEN verdict := 'unplaced'; END IF;
            END IF;
          END IF;
        END IF;
      END IF;
    END IF;
    -- where this row stands, for the next one
    placed := false;
    IF verdict = 'known' THEN
      nc := nc + 1;
      claimed[nc] := hit_id;
      p_id := hit_id;
      SELECT t2.line_date, t2.statement_id, t2.row_no INTO p_key_d, p_key_s, p_key_r
        FROM fl.statement_line t2 WHERE t2.id = hit_id;
      placed := true;
    ELSE
      p_id := NULL; p_key_d := NULL; p_key_s := NULL; p_key_r := NULL;
      IF verdict = 'new' AND r.balance IS NOT NULL THEN
        IF p_has THEN
          placed := chained AND p_placed;
        ELSE
          last_has := false;
          SELECT true, t2.balance INTO last_has, last_bal FROM fl.statement_line t2
           WHERE t2.bank_account_id = bank AND t2.statement_id <> sid AND t2.line_date <= r.line_date
           ORDER BY t2.line_date DESC, t2.statement_id DESC, t2.row_no DESC LIMIT 1;
          placed := coalesce(last_has, false) IS FALSE OR last_bal = r.before;
        END IF;
      END IF;
    END IF;
    IF verdict = 'ambiguous' THEN
      bad_recur := coalesce(bad_recur || ', ', '') || r.row_no::text;
    ELSIF verdict = 'unplaced' THEN
      bad_chain := coalesce(bad_chain || ', ', '') || r.row_no::text;
    ELSIF verdict = 'new' THEN
      nn := nn + 1;
      new_rows[nn] := r.row_no;
    END IF;
    p_has := true;
    p_date := r.line_date;
    p_bal := r.balance;
    p_before := r.before;
    p_new := verdict IS DISTINCT FROM 'known';
    p_placed := placed;
  END LOOP;
  IF bad_order IS NOT NULL THEN
    PERFORM fl.refuse('statement_line_order', format(
      'statement %s, row %s, field date: the date goes back from the row before it — the file is not in the bank''s '
      'order, oldest first, and its rows cannot be placed against the lines already imported; nothing was written. '
      'Export the statement again sorted by transaction time ascending (按交易时间从早到晚), or sort its rows by date and '
      'time, oldest first, keeping the bank''s order within a day',
      p_file, bad_order));
  END IF;
  IF bad_recur IS NOT NULL THEN
    PERFORM fl.refuse('statement_line_ambiguous', format(
      'statement %s, row %s, field balance: the line cannot be told from a bank line already imported — same account, '
      'date, reference, direction, amount and running balance (余额), and the account''s lines around it (e.g. a fee, its '
      'reversal 冲正, the fee charged again) allow both "the same line" and "a new line"; nothing was written. Export '
      'the statement again with the bank''s serial number (流水号) in the reference column, or the whole day together '
      'with the lines before it',
      p_file, bad_recur));
  END IF;
  IF bad_chain IS NOT NULL THEN
    PERFORM fl.refuse('statement_line_ambiguous', format(
      'statement %s, row %s, field balance: the line agrees with a bank line already imported on account, date, '
      'reference, direction and amount, but its running balance differs and does not continue the line immediately '
      'before it (another balance column — 可用余额 instead of 账户余额?); nothing was written. Export the statement with '
      'the account balance (账户余额) column, or with the bank''s serial number (流水号) in the reference column',
      p_file, bad_chain));
  END IF;
  -- the new rows in one statement (their twin numbers: the stored lines of their kind, then their place)
  INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, reference, balance,
                                 twin)
  SELECT bank, sid, x.row_no, x.line_date, x.direction, x.amount, x.reference, x.balance,
         CASE WHEN x.twin > 1 THEN x.twin END
    FROM (SELECT f.*,
                 (SELECT count(*) FROM fl.statement_line t2
                   WHERE t2.bank_account_id = bank AND t2.reference = f.reference AND t2.line_date = f.line_date
                     AND t2.direction = f.direction AND t2.amount = f.amount)
                 + row_number() OVER (PARTITION BY f.reference, f.line_date, f.direction, f.amount ORDER BY f.row_no)
                   AS twin
            FROM (SELECT (l->>'row')::int AS row_no, (l->>'date')::date AS line_date, l->>'direction' AS direction,
                         (l->>'amount')::bigint AS amount, l->>'reference' AS reference,
                         (l->>'balance')::bigint AS balance
                    FROM jsonb_array_elements(p_lines) l) f
           WHERE f.row_no IN (SELECT unnest(new_rows))) x
   ORDER BY x.row_no
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
REVOKE ALL ON FUNCTION fl.import_statement(text, text, text, text, text, jsonb) FROM PUBLIC;
