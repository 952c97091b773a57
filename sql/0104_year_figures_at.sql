-- 0104 (ATTACK14 V4, what its fix left): one definition of the government's shortfall receipts and
-- of the shortfall rule's inputs at a date, read by the rule, report shortfall, the monitor, the
-- forecast, the funding standards and the performance review.
--
-- After 0101 the figure "the government's payment of its share is not revenue of the year it
-- arrives" (BRIEF §5) still had three readings: fl.year_figures_v2/_v3 (the close, report shortfall)
-- took the register clearings of government-share items; ledger.store.monitor copied that query into
-- its own (the clearings dated from 1 January to the date, the year's adjustment-fund allocations);
-- the forecast, the funding standards and the performance review read account 4101.shortfall, so a
-- receipt by hand written before 0101 (which the rule counts as revenue: it cleared nothing) was a
-- government receipt to them and revenue to the rule — the reports disagreed on C, on the fiscal
-- subsidy and on S before, and a late adjustment-fund allocation (a clearing credited on 4401) was
-- fiscal subsidy to the forecast and revenue to the performance review.
--
-- Now:
--   * fl.government_receipts(book, from, to): the government's receipts of shortfall shares — the
--     register clearings of government-share items dated in [from, to] (a reversed one nets out,
--     0081), each with the revenue account its entry credits (4101.shortfall for `government pay`,
--     4401 for a late allocation), so a report that splits revenue by account takes each receipt
--     out of the account it is in. SECURITY INVOKER: row security gives an officer its own unit's.
--   * fl.year_figures_at(year, book, as_of): the rule's inputs (v3's columns) as of the end of
--     as_of — the year's flows from 1 January to as_of (31 December when later or NULL), the
--     receipts of fl.government_receipts in that span, the allocations for the year dated in it;
--     S carried in and the shares owed at the year's start as v2 reads them. SECURITY INVOKER.
--   * fl.year_figures_v3(year, book) is fl.year_figures_at(year, book, 31 December): the close and
--     every caller of v3 read the one definition (its columns and values are unchanged).
--   * fl.year_figures_read_at(year, book, as_of): the definer reader (0100, V10) at a date, confined
--     like fl.year_figures_read(year, book), which now is it at 31 December: a unit-bound caller its
--     own unit's rows, a city role every row, an unknown login none. The monitor reads it. (Its own
--     name, not an overload: tests/security/test_sweep reads the functions by name.)
-- fl.year_figures and fl.year_figures_v2 stay as they were for old callers (v3 no longer calls v2).

CREATE FUNCTION fl.government_receipts(p_book text, p_from date, p_to date)
RETURNS TABLE (unit text, book text, received_on date, chart_code text, amount bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT i.unit, i.book, c.cleared_on, coalesce(r.chart_code, ''), c.amount
    FROM fl.register_clearing c
    JOIN fl.register_item i ON i.id = c.item_id
    LEFT JOIN LATERAL (
      SELECT a.chart_code
        FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.chart h ON h.code = a.chart_code
       WHERE p.entry_id = c.entry_id AND a.book = i.book AND a.unit = i.unit AND h.kind = 'revenue'
       ORDER BY p.id LIMIT 1) r ON true
   WHERE i.kind = 'government_share' AND (p_book IS NULL OR i.book = p_book)
     AND (p_from IS NULL OR c.cleared_on >= p_from) AND (p_to IS NULL OR c.cleared_on <= p_to)
$$;

CREATE FUNCTION fl.year_figures_at(p_year int, p_book text, p_as_of date)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint, adjustment_receipts bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH span AS (
    SELECT make_date(p_year, 1, 1) AS y0, least(p_as_of, make_date(p_year, 12, 31)) AS y1),
  pc AS (SELECT coalesce((SELECT b.pooled_component FROM fl.book b WHERE b.code = p_book), '') AS comp),
  units AS (
    SELECT DISTINCT a.unit FROM fl.account a WHERE a.book = p_book AND a.component = (SELECT comp FROM pc)),
  flows AS (
    SELECT f.unit,
           coalesce(-sum(f.net) FILTER (WHERE f.kind = 'revenue'), 0) AS revenue,
           coalesce(sum(f.net) FILTER (WHERE f.kind = 'expenditure'), 0) AS expenditure,
           coalesce(-sum(f.net) FILTER (WHERE f.chart_code = '3001'), 0) AS fund_all_but_close
      FROM span CROSS JOIN LATERAL fl.year_flows(p_book, span.y0, span.y1) f
     WHERE f.component = (SELECT comp FROM pc)
     GROUP BY f.unit),
  carried AS (
    SELECT a.unit, coalesce(sum(d.credits - d.debits), 0) AS s
      FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = p_book AND a.chart_code = '3001' AND a.component = (SELECT comp FROM pc)
       AND d.day < make_date(p_year, 1, 1)
     GROUP BY a.unit),
  receipts AS (
    SELECT g.unit, sum(g.amount) AS amount
      FROM span CROSS JOIN LATERAL fl.government_receipts(p_book, span.y0, span.y1) g
     GROUP BY g.unit),
  owed AS (
    SELECT s.unit, sum(s.outstanding) AS amount
      FROM fl.government_shares(make_date(p_year, 1, 1) - 1, p_book) s
     GROUP BY s.unit),
  alloc AS (
    SELECT a.unit, sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END) AS amount
      FROM span, fl.entry e JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a ON a.id = p.account_id
     WHERE e.kind = 'adjfund_alloc' AND e.book = p_book AND a.chart_code = '4401'
       AND e.entry_date BETWEEN span.y0 AND span.y1
       AND (e.source ->> 'year') = p_year::text
     GROUP BY a.unit)
  SELECT u.unit, p_book, (SELECT comp FROM pc),
         (coalesce(f.revenue, 0) - coalesce(r.amount, 0) - coalesce(x.amount, 0))::bigint,
         coalesce(f.expenditure, 0)::bigint,
         (coalesce(c.s, 0) + coalesce(f.fund_all_but_close, 0) + coalesce(o.amount, 0))::bigint,
         coalesce(f.revenue, 0)::bigint, coalesce(r.amount, 0)::bigint,
         (coalesce(c.s, 0) + coalesce(f.fund_all_but_close, 0))::bigint, coalesce(o.amount, 0)::bigint,
         coalesce(x.amount, 0)::bigint
    FROM units u
    LEFT JOIN flows f ON f.unit = u.unit
    LEFT JOIN carried c ON c.unit = u.unit
    LEFT JOIN receipts r ON r.unit = u.unit
    LEFT JOIN owed o ON o.unit = u.unit
    LEFT JOIN alloc x ON x.unit = u.unit
   ORDER BY u.unit
$$;

CREATE OR REPLACE FUNCTION fl.year_figures_v3(p_year int, p_book text)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint, adjustment_receipts bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT * FROM fl.year_figures_at(p_year, p_book, make_date(p_year, 12, 31))
$$;

CREATE FUNCTION fl.year_figures_read_at(p_year int, p_book text, p_as_of date)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint, adjustment_receipts bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT f.unit, f.book, f.component, f.revenue, f.expenditure, f.surplus_before, f.revenue_on_books,
         f.share_receipts, f.surplus_before_on_books, f.outstanding_before, f.adjustment_receipts
    FROM (SELECT fl.my_unit() AS unit) m
    CROSS JOIN LATERAL fl.year_figures_at(p_year, p_book, p_as_of) f
   WHERE m.unit IS DISTINCT FROM '' AND (m.unit IS NULL OR f.unit = m.unit)
   ORDER BY f.unit
$$;

CREATE OR REPLACE FUNCTION fl.year_figures_read(p_year int, p_book text)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint, adjustment_receipts bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT * FROM fl.year_figures_read_at(p_year, p_book, make_date(p_year, 12, 31))
$$;

REVOKE ALL ON FUNCTION fl.government_receipts(text, date, date), fl.year_figures_at(int, text, date),
  fl.year_figures_read_at(int, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.government_receipts(text, date, date), fl.year_figures_at(int, text, date),
  fl.year_figures_read_at(int, text, date) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
