-- 0151 (ATTACK18 G7): an insured headcount's commas were stripped wherever they stood.
--
-- fl.import_insured (0025) read replace(btrim(insured), ',', ''): "1,5" (a decimal comma — 1.5 万 —
-- or a European export) was imported as 15, "1,0,0" as 100, ",,,7" as 7, "12,34" as 1234, recorded
-- as version 1 and read by the funding-standard report; every amount of the ledger refuses a comma
-- that groups nothing (fl.imp_amount_num, 0004; ledger.core.money). One reader of a whole number
-- now: digits, or one to three digits then groups of ",ddd" (thousands separators, as an amount's
-- whole part) — fl.imp_whole — and its reason, fl.imp_whole_problem, which names the rule; the
-- import's row-problem mechanism names the file, the row and the column, and nothing is written.
--
-- The sweep (grep sql/ for replace(…, ',', '')): the only other use is fl.imp_amount_num (0004),
-- which strips commas only from a text its anchored pattern has already judged (groups of three).
-- No Python reader parses a headcount (ledger.io.formats: values are checked here, set-based).
--
-- fl.import_insured: 0025's definition, changed where marked 0151; its SET clauses as in force
-- (search_path from 0025, lock_timeout '5s' from 0087/0129's sweeps, which CREATE OR REPLACE drops).
-- Stored headcounts are not re-read: a figure imported before is what its file said, read by 0025's
-- rule; no rule point (nothing a verdict re-derives changes).

-- A whole number as a person writes it: digits (leading zeros allowed, as 0025 took them), or one to
-- three digits then groups of three after a comma. NULL for anything else, and for more than 18
-- digits (no cast overflows a bigint). IMMUTABLE, no SET clause: inlined into the import's query like
-- 0004's fl.imp_amount_num (tests/security/test_sweep.py INLINED).
CREATE FUNCTION fl.imp_whole(t text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t ~ '^([0-9]+|[0-9]{1,3}(,[0-9]{3})+)$' AND length(replace(t, ',', '')) <= 18
              THEN replace(t, ',', '')::bigint END
$$;

-- Why t is not a whole number of at most p_max, or NULL when it is one: digits and commas that read
-- as a number only with every comma stripped are named by the rule (a comma that separates no
-- thousands); anything else gets p_other (the caller's words: what the column holds, its range).
CREATE FUNCTION fl.imp_whole_problem(t text, p_max bigint, p_other text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN fl.imp_whole(t) <= p_max THEN NULL
              WHEN fl.imp_whole(t) IS NULL AND fl.imp_whole(replace(t, ',', '')) IS NOT NULL THEN format(
                '''%s'' is not a whole number: a comma may only separate thousands (one to three digits, then groups '
                'of three digits after each comma, like 1,234,567); a decimal comma or a misplaced comma is not '
                'read', t)
              ELSE p_other END
$$;
REVOKE ALL ON FUNCTION fl.imp_whole(text), fl.imp_whole_problem(text, bigint, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.import_insured(p_file text, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'import insured headcounts');
  probs jsonb;
  bid   bigint;
  out   jsonb;
  n_new int;
BEGIN
  PERFORM fl._imp_open('insured');
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT x.*, (x.y IS NOT NULL AND x.ukind IS NOT NULL AND x.bkind IS NOT NULL AND x.n IS NOT NULL
               AND length(x.reason) <= 500) AS valid
    FROM (SELECT s.row_no, s.year AS t_year,
                 CASE WHEN btrim(s.year) ~ '^[0-9]{4}$' THEN
                   CASE WHEN btrim(s.year)::int BETWEEN 2000 AND 2100 THEN btrim(s.year)::int END END AS y,
                 s.unit, un.kind AS ukind, upper(btrim(s.book)) AS book, bk.code AS bkind,
                 s.insured AS t_insured,
                 -- (0151) one reader of a whole number (fl.imp_whole), not every comma stripped
                 CASE WHEN fl.imp_whole(btrim(s.insured)) <= 100000000 THEN fl.imp_whole(btrim(s.insured)) END AS n,
                 btrim(s.reason) AS reason
            FROM pg_temp.fl_imp_src s
            LEFT JOIN fl.unit un ON un.code = btrim(s.unit)
            LEFT JOIN fl.book bk ON bk.code = upper(btrim(s.book))) x;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('year', CASE WHEN w.y IS NULL THEN format('''%s'' is not a year (2000-2100)', w.t_year) END),
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit) END),
      ('book', CASE WHEN w.bkind IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('insured', CASE WHEN w.n IS NULL THEN fl.imp_whole_problem(btrim(w.t_insured), 100000000, format(
         '''%s'' is not a number of insured people (a whole number from 0 to 100,000,000)', w.t_insured)) END),
      ('reason', CASE WHEN length(w.reason) > 500 THEN 'the reason is longer than 500 characters' END)) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'unit', format('%s %s %s appears again (first on row %s)', w.y, w.unit, w.book, f.first), 'bad'
    FROM pg_temp.fl_imp_work w
    JOIN (SELECT y, unit, book, min(row_no) AS first FROM pg_temp.fl_imp_work WHERE valid
           GROUP BY 1, 2, 3 HAVING count(*) > 1) f USING (y, unit, book)
   WHERE w.valid AND w.row_no > f.first;
  -- A changed figure is a correction: it needs a reason.
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reason', format(
           '%s %s %s already has %s insured (version %s); a different figure is a correction and needs a reason',
           w.y, w.unit, w.book, c.insured, c.version), 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (SELECT i.insured, i.version FROM fl.insured_count i
                         WHERE i.year = w.y AND i.unit = w.unit AND i.book = w.book
                         ORDER BY i.version DESC LIMIT 1) c
   WHERE w.valid AND c.insured <> w.n AND w.reason = '';
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  bid := fl._imp_batch('insured', p_file, p_sha256);
  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.row_no, w.y, w.unit, w.book, w.n, w.reason, cur.version AS cur_version, cur.insured AS cur_insured
    FROM pg_temp.fl_imp_work w
    LEFT JOIN LATERAL (SELECT i.version, i.insured FROM fl.insured_count i
                        WHERE i.year = w.y AND i.unit = w.unit AND i.book = w.book
                        ORDER BY i.version DESC LIMIT 1) cur ON true;
  INSERT INTO fl.insured_count (year, unit, book, version, insured, reason, batch_id, row_no)
  SELECT n.y, n.unit, n.book, coalesce(n.cur_version, 0) + 1, n.n, n.reason, bid, n.row_no
    FROM pg_temp.fl_imp_new n
   WHERE n.cur_insured IS DISTINCT FROM n.n
   ORDER BY n.y, n.unit, n.book;
  GET DIAGNOSTICS n_new = ROW_COUNT;

  SELECT jsonb_agg(jsonb_build_object(
           'year', n.y, 'unit', n.unit, 'book', n.book, 'insured', n.n,
           'version', CASE WHEN n.cur_insured IS DISTINCT FROM n.n THEN coalesce(n.cur_version, 0) + 1
                           ELSE n.cur_version END,
           'previous', CASE WHEN n.cur_insured <> n.n THEN n.cur_insured END,
           'status', CASE WHEN n.cur_insured IS NULL THEN 'created'
                          WHEN n.cur_insured <> n.n THEN 'corrected' ELSE 'unchanged' END)
           ORDER BY n.y, n.unit, n.book)
    INTO out FROM pg_temp.fl_imp_new n;
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('headcounts', coalesce(out, '[]'::jsonb)));
END $$;

REVOKE ALL ON FUNCTION fl.import_insured(text, text) FROM PUBLIC;
