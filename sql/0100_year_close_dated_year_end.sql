-- 0100 (ATTACK14 V3, V10): a year close is dated the last day of the year it closes; an officer
-- reads its own unit's provisional shortfall.
--
-- V3. fl.close_year accepted any day of its year ("normally 31 December") but sums the year's
-- revenue and expenditure to 31 December: a close dated 30 June posted entries closing flows that
-- arrive in September, so every as-of figure of the rest of the year was false (negative revenue,
-- a surplus above the money in the bank, a government share owed before the year ended) while both
-- verdicts stayed whole. The class: an entry that closes a period is dated the period's last day.
-- fl.close_year now refuses any date but make_date(p_year, 12, 31) (year_close_date; a date outside
-- the year keeps close_date); the CLI's --date defaults to it and refuses another. The independent
-- verdict (ledger.core.rules, _closes) names a close — its fl.year_close row, or one of its year_close
-- entries — dated other than 31 December of its year when made above this rule's point
-- (fl.rule_point 'year_close_date'): a ledger closed on another day under the old rule is not red
-- for its past.
-- The same sweep: month closes (fl.close_period) take a month, not a date, and post nothing; the
-- other dated writes (openings, handover transfers, allocations, interest with its period checked by
-- interest_period) are events on their own day, not period ends (docs/security.md, ATTACK14 V3).
--
-- V10. `report shortfall --year Y` for a year still open computed fl.year_figures_v3 with the
-- caller's rights; its adjustment-fund part reads fl.entry.source, which officers may not read
-- (0016b), so an officer got PostgreSQL's "permission denied for table entry" for its own unit's
-- figure. fl.year_figures_read is the definer reader that gives the table as the close computes
-- it (the whole ledger's figures, not row-security's partial view) confined like fl.year_closes:
-- a unit-bound caller gets its own unit's row only, a city role every row, an unknown user none.

-- fl.close_year(integer,date,jsonb): marked
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
  -- (0100, ATTACK14 V3) The closing entries take the year's whole revenue and expenditure (every
  -- day to v_end): they describe the year on its last day only.
  IF p_date <> v_end THEN
    PERFORM fl.refuse('year_close_date', format('the close of %s is dated %s, the last day of the year it closes, not '
      '%s: its entries close all the revenue and expenditure of the year; nothing was closed — close year --year %s '
      '--date %s', p_year, v_end, p_date, p_year, v_end));
  END IF;
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
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

CREATE FUNCTION fl.year_figures_read(p_year int, p_book text)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint, adjustment_receipts bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT f.unit, f.book, f.component, f.revenue, f.expenditure, f.surplus_before, f.revenue_on_books,
         f.share_receipts, f.surplus_before_on_books, f.outstanding_before, f.adjustment_receipts
    FROM (SELECT fl.my_unit() AS unit) m
    CROSS JOIN LATERAL fl.year_figures_v3(p_year, p_book) f
   WHERE m.unit IS DISTINCT FROM '' AND (m.unit IS NULL OR f.unit = m.unit)
   ORDER BY f.unit
$$;
REVOKE ALL ON FUNCTION fl.year_figures_read(int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.year_figures_read(int, text) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

SELECT fl._rule_takes_effect('year_close_date', '0100');
