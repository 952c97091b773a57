-- fundledger migration 0039: collections are finance's; nothing dated before a closed year
-- (issue 14, ATTACK5 S1 and S4).
--
--   * S1: a county officer booked ¥900 M of revenue and special-account (1003) money alone by
--     `collect import` (kind collections, posted at once). Collections and subsidies are the
--     record of money the bank moved into finance's special account: fl.import_collections
--     takes reviewer (the bureau) or finance only, and the entry trigger refuses, whoever
--     wrote it, an entry posted in an officer's session of any kind but manual and payments
--     (officers' manual entries are held by 0017/0027 when they move money or
--     touch 3xxx–5xxx; their payment import pays from their own expenditure account, 0028).
--   * S4: one fen dated in 2022 (an unclosed year before the data start) blocked every
--     unit's close of 2024, and the refusal asked to close 2023, already closed. The entry
--     trigger refuses an entry dated in a year before the last year its book closed (a
--     reversal dated in the same year as the entry it reverses is the one exception: it is
--     how such an entry, written before this migration, is undone); the close's order
--     refusal names the year that holds the balance and its entries, and what to do.

-- S1: collections and subsidies are imported by the bureau or finance.
CREATE OR REPLACE FUNCTION fl.import_collections(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '64MB'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer','finance'], 'import collections and subsidies');
  probs jsonb;
  bid   bigint;
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
           WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l
                              WHERE l.namespace = 'collections:' || w.unit AND l.reference = w.reference)) q;
  CREATE INDEX ON pg_temp.fl_imp_ent (chunk);
  ANALYZE pg_temp.fl_imp_ent;

  bid := fl._imp_batch('collections', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, e.d, format('征缴收入 collection %%s %%s (%%s row %%s)', e.source, e.reference, %L, e.row_no),
                 'collections', 'collections:' || e.unit || ':' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, '1003', e.unit, 'special', e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, e.chart, e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'collections:' || e.unit, e.reference, e.h, r.entry_id, bid, e.row_no
    FROM pg_temp.fl_imp_ent e JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  RETURN fl._imp_finish(bid, n_new);
END $function$;

-- S1, S4: the entry trigger.
CREATE OR REPLACE FUNCTION fl.entry_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  bad   record;
  first int := coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000);
  last  int := extract(year FROM current_date)::int + 1;
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  SELECT n.id, n.entry_date, n.book, c.month INTO bad
    FROM new_entries n LEFT JOIN fl.closed_period c ON c.month = date_trunc('month', n.entry_date)::date
   WHERE c.month IS NOT NULL OR n.entry_date < make_date(first, 1, 1) OR n.entry_date > make_date(last, 12, 31)
   LIMIT 1;
  IF FOUND THEN
    IF bad.month IS NULL THEN
      PERFORM fl.refuse('entry_date_range', format(
        'entry dated %s refused: this ledger takes dates from %s (the region''s first handover year) to %s',
        bad.entry_date, first, last));
    END IF;
    PERFORM fl.refuse('period_closed',
      format('entry dated %s refused: the period %s is closed', bad.entry_date, to_char(bad.entry_date, 'YYYY-MM')));
  END IF;
  -- (0039, ATTACK5 S4) Nothing is dated in a year before the last year its book closed:
  -- that year can never be closed again, and one fen there stopped every later year's close.
  -- A reversal dated in the same year as the entry it reverses is how such an entry is undone.
  SELECT n.id, n.entry_date, n.book, c.y INTO bad
    FROM new_entries n
    JOIN (SELECT yc.book, max(yc.year) AS y FROM fl.year_close yc GROUP BY yc.book) c ON c.book = n.book
   WHERE n.entry_date < make_date(c.y, 1, 1)
     AND NOT (n.kind = 'reversal' AND EXISTS (SELECT 1 FROM fl.entry r WHERE r.id = n.reverses
                                                AND date_trunc('year', r.entry_date) = date_trunc('year', n.entry_date)))
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('entry_date_range', format(
      'entry dated %s refused: book %s closed year %s, and nothing may be dated in a year before it (such a year '
      'can no longer be closed); date it in an open period',
      bad.entry_date, bad.book, bad.y));
  END IF;
  -- (0039, ATTACK5 S1) An officer posts by hand (manual entries, held when they move money or
  -- touch revenue, expenditure or the fund balance) and imports its unit's payments.
  -- Every other kind — collections and subsidies into the special account, openings,
  -- pre-allocations, disbursements, settlements, interest, closes — is a city role's record,
  -- whichever function or path wrote it.
  IF EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') THEN
    SELECT n.id, n.kind INTO bad FROM new_entries n WHERE n.kind NOT IN ('manual', 'payments') LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('permission_denied', format(
        '%s is an officer and may not post %s entries: collections and subsidies, openings and the workflow''s '
        'money are recorded by finance or the bureau (an officer posts manual entries and its unit''s payments)',
        session_user, bad.kind), 'insufficient_privilege');
    END IF;
  END IF;
  INSERT INTO fl.txn_gate (first_entry, xid, ids)
  SELECT min(id), pg_current_xact_id(), array_agg(id ORDER BY id) FROM new_entries HAVING count(*) > 0;
  RETURN NULL;
END $function$;

-- S4: the close's order refusal names the real obstacle.
CREATE OR REPLACE FUNCTION fl.close_year(p_year integer, p_date date, p_results jsonb)
 RETURNS TABLE(book text, entries integer, government_items integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
#variable_conflict use_column
DECLARE
  u       fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
  v_start date := make_date(p_year, 1, 1);
  v_end   date := make_date(p_year, 12, 31);
  bk      fl.book;
  bad     record;
  done    text;
  obst    int;
  ents    text;
  n_ents  bigint;
  rows    jsonb;
  es      fl.new_entry[];
  ps      fl.new_posting[];
  n_e     int;
  n_g     int;
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
    SELECT a.id, a.unit, a.chart_code INTO bad
      FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day < v_start
     GROUP BY a.id, a.unit, a.chart_code HAVING sum(d.debits - d.credits) <> 0 LIMIT 1;
    IF FOUND THEN
      -- (0039, ATTACK5 S4) Name the real obstacle: the earliest year that still holds the
      -- balance and, when that is not simply last year waiting for its close, its entries.
      SELECT z.y INTO obst
        FROM (SELECT extract(year FROM d.day)::int AS y, sum(d.debits - d.credits) AS s
                FROM fl.account_day d WHERE d.account_id = bad.id AND d.day < v_start GROUP BY 1) z
       WHERE z.s <> 0 ORDER BY z.y LIMIT 1;
      IF obst IS NULL OR (obst = p_year - 1 AND NOT EXISTS (SELECT 1 FROM fl.year_close c WHERE c.year = obst)) THEN
        PERFORM fl.refuse('year_close_order', format(
          'book %s still holds revenue or expenditure from before %s (unit %s, account %s): close year %s first',
          bk.code, p_year, bad.unit, bad.chart_code, p_year - 1));
      END IF;
      SELECT string_agg(format('%s dated %s (%s, by %s)', fl.entry_label(e.id), e.entry_date, e.kind, e.created_by),
                        '; ' ORDER BY e.id), count(*) INTO ents, n_ents
        FROM (SELECT DISTINCT p.entry_id FROM fl.posting p
               WHERE p.account_id = bad.id AND p.entry_date BETWEEN make_date(obst, 1, 1) AND make_date(obst, 12, 31)
               ORDER BY p.entry_id LIMIT 5) x
        JOIN fl.entry e ON e.id = x.entry_id;
      IF EXISTS (SELECT 1 FROM fl.year_close c WHERE c.year > obst AND c.year <> p_year) THEN
        PERFORM fl.refuse('year_close_order', format(
          'book %s still holds revenue or expenditure dated in %s (unit %s, account %s), a year before the years '
          'already closed, which can no longer be closed: %s. Reverse the entry that does not belong there, dated in '
          '%s (fundledger entry reverse ID --date %s-12-31; a second person confirms it), then close %s',
          bk.code, obst, bad.unit, bad.chart_code, ents, obst, obst, p_year));
      END IF;
      PERFORM fl.refuse('year_close_order', format(
        'book %s still holds revenue or expenditure dated in %s (unit %s, account %s): %s. Close year %s first '
        '(years close in order), or reverse the entry that does not belong there, dated in %s',
        bk.code, obst, bad.unit, bad.chart_code, ents, obst, obst));
    END IF;

    rows := coalesce(p_results -> bk.code, '[]'::jsonb);
    -- (0025b) The rule across years with the adjustment fund between surplus and government.
    SELECT coalesce(f.unit, x.unit) AS unit INTO bad
      FROM fl.year_figures_v3(p_year, bk.code) f
      FULL JOIN jsonb_to_recordset(rows) AS x(unit text, revenue bigint, expenditure bigint, current_balance bigint,
                 surplus_before bigint, covered_by_surplus bigint, government_share bigint, surplus_after bigint,
                 revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
                 outstanding_before bigint, outstanding_after bigint, surplus_after_on_books bigint,
                 adjustment_receipts bigint, covered_by_adjustment_fund bigint)
        ON x.unit = f.unit
     WHERE f.unit IS NULL OR x.unit IS NULL
        OR (f.revenue, f.expenditure, f.surplus_before, f.revenue_on_books, f.share_receipts,
            f.surplus_before_on_books, f.outstanding_before, f.adjustment_receipts)
           IS DISTINCT FROM (x.revenue, x.expenditure, x.surplus_before, x.revenue_on_books, x.share_receipts,
                             x.surplus_before_on_books, x.outstanding_before, coalesce(x.adjustment_receipts, 0))
        OR x.current_balance IS DISTINCT FROM x.revenue - x.expenditure
        OR x.covered_by_surplus IS DISTINCT FROM least(greatest(-x.current_balance, 0), greatest(x.surplus_before, 0))
        OR coalesce(x.covered_by_adjustment_fund, 0) IS DISTINCT FROM
           least(greatest(-x.current_balance, 0) - x.covered_by_surplus, coalesce(x.adjustment_receipts, 0))
        OR x.government_share IS DISTINCT FROM
           greatest(-x.current_balance, 0) - x.covered_by_surplus - coalesce(x.covered_by_adjustment_fund, 0)
        OR x.surplus_after IS DISTINCT FROM
           x.surplus_before + x.current_balance + coalesce(x.adjustment_receipts, 0) + x.government_share
        OR x.outstanding_after IS DISTINCT FROM x.outstanding_before - x.share_receipts + x.government_share
        OR x.surplus_after_on_books IS DISTINCT FROM x.surplus_after - x.outstanding_after
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_result', format(
        'the shortfall table for book %s does not match the books or the rule (unit %s); nothing was closed',
        bk.code, bad.unit));
    END IF;

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

    INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, fiscal_year, reference, note)
    SELECT 'government_share', x.unit, bk.code, bk.pooled_component, x.government_share, p_date, p_year,
           format('govshare:%s:%s:%s', p_year, bk.code, x.unit),
           format('缺口分担 local government share of the %s shortfall of unit %s (%s)', p_year, x.unit, bk.code)
      FROM jsonb_to_recordset(rows) AS x(unit text, government_share bigint)
     WHERE x.government_share > 0;
    GET DIAGNOSTICS n_g = ROW_COUNT;

    INSERT INTO fl.year_close (year, book, closed_on, result)
    VALUES (p_year, bk.code, p_date, jsonb_build_object('component', bk.pooled_component, 'rows', rows,
                                                        'rule', 'across_years_adjustment_fund'));
    book := bk.code; entries := n_e; government_items := n_g;
    RETURN NEXT;
  END LOOP;

  INSERT INTO fl.closed_period (month, reason)
  SELECT m::date, format('year-end close %s', p_year)
    FROM generate_series(v_start, make_date(p_year, 12, 1), interval '1 month') AS m
  ON CONFLICT (month) DO NOTHING;
END $function$;

-- Waiters never hang (0027's rule, run again): every writing API function redefined or added
-- since without its own bound (0040's fl.close_year_lock, 0041's fl.monitor_acknowledge) gets
-- lock_timeout 5 s (test_stuck_writers' sweep).
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'fl'::regnamespace AND p.prosecdef AND p.provolatile = 'v'
              AND NOT coalesce(pg_catalog.array_to_string(p.proconfig, ',') LIKE '%lock_timeout=%', false)
              AND EXISTS (SELECT 1 FROM pg_catalog.unnest(ARRAY['fl_officer', 'fl_reviewer', 'fl_finance', 'fl_admin']) g
                           WHERE pg_catalog.has_function_privilege(g, p.oid, 'EXECUTE'))
            ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('ALTER FUNCTION %s SET lock_timeout = %L', f, '5s');
  END LOOP;
END $$;
