-- 0114 (ATTACK15 A4): a reversed in-year adjustment-fund allocation (调剂金) is no longer counted
-- as received.
--
-- fl.year_figures_at (0104; fl.year_figures_v3 is it at 31 December, so the close, report
-- shortfall, the monitor through fl.year_figures_read_at, and the in-year caps of
-- fl.adjfund_allocate, which read v3's adjustment_receipts) took the year's allocations from the
-- entries of kind 'adjfund_alloc' alone. A reversal has kind 'reversal', so after finance reversed
-- an allocation (the province took it back, or it was recorded by mistake) the books held 0.00 on
-- 4401 for the unit while the rule still counted it: revenue less money no longer there, the
-- adjustment fund "covering" a gap it no longer covers, and the caps of the corrective allocation
-- measured against the reversed one. Now the allocations are read with the reversals of them dated
-- in the same span, netted on 4401 (a late allocation is a register clearing, whose reversal
-- already nets out through fl.government_receipts, 0081).
--
-- Swept (the class: a figure summed by entry kind): the latest definitions of every fl function
-- filtering on an entry kind were read; the others test a kind to choose a path, refuse a key held
-- by another kind, or read balances (fl.preallocate's cap reads 1004's balance), not sum amounts
-- of a kind. Only the definition below changes (its SET clause kept).

CREATE OR REPLACE FUNCTION fl.year_figures_at(p_year int, p_book text, p_as_of date)
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
    -- (0114) an allocation for the year and the reversals of one, each dated in the span: a
    -- reversal (kind 'reversal') takes back what the allocation it reverses credited on 4401
    SELECT a.unit, sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END) AS amount
      FROM span, fl.entry e LEFT JOIN fl.entry o ON o.id = e.reverses
      JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a ON a.id = p.account_id
     WHERE e.book = p_book AND a.chart_code = '4401'
       AND e.entry_date BETWEEN span.y0 AND span.y1
       AND ((e.kind = 'adjfund_alloc' AND (e.source ->> 'year') = p_year::text)
            OR (e.kind = 'reversal' AND o.kind = 'adjfund_alloc' AND (o.source ->> 'year') = p_year::text))
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
