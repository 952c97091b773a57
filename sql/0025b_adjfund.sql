-- fundledger migration 0025b: the provincial adjustment fund (调剂金) (issue 22, part 2).
--
-- 1. Remittances to the province (上解上级支出 5301): fl.adjfund_remit computes each unit's
--    remittance for a year from the region setting (a rate of the unit's contributions 4001
--    received in the year so far, or a fixed amount per unit) and holds the entries
--    (Dr 5301 / Cr 1003 special) for a second person: money leaves the fund, so city finance
--    makes them and the city bureau or another finance user confirms (maker-checker, 0017).
--    A remittance is expenditure of the year it is paid: it counts in that year's C.
-- 2. Allocations received (上级补助收入 4401): fl.adjfund_allocate shares an allocation the
--    province paid for year Y among the units by the configured rule (proportional to each
--    unit's gap after its own surplus, or fixed weights; largest remainder, ties by unit
--    code), never more to a unit than the gap it covers. City finance records it (money
--    arriving, like the government's share); the shares are the rule's, computed here.
--    Only where the region puts the fund in the shortfall order (adjustment_fund.in_order;
--    off for Jiamusi): otherwise an allocation is an ordinary receipt.
--      * arriving in Y, before Y's close: kind adjfund_alloc, Dr 1003 special / Cr 4401,
--        source {"year": Y}. It is set aside from Y's revenue for the rule and covers the gap
--        after the surplus and before the government (财社〔2017〕144号 art. 38);
--      * arriving after Y's close: it settles Y as the government's late share does (BRIEF §5):
--        it clears Y's government-share register item in the government's place (Dr 1003
--        special / Cr 4401, kind register_clear), so it is a share receipt of the year it
--        arrives and never that year's revenue for the rule.
-- 3. The close: fl.year_figures_v3 (v2 and adjustment_receipts, left out of revenue) and
--    fl.close_year checking the order's columns (covered_by_adjustment_fund).

-- ---------------------------------------------------------------------------
-- Kinds and key namespaces (0017's, with the two new kinds).
-- ---------------------------------------------------------------------------
ALTER TABLE fl.entry DROP CONSTRAINT entry_kind_known;
ALTER TABLE fl.entry ADD CONSTRAINT entry_kind_known CHECK (kind IN (
  'manual', 'reversal', 'opening', 'collections', 'payments', 'handover_transfer', 'preallocation',
  'request_disburse', 'request_settle', 'interest', 'register_clear', 'year_close', 'adjfund_remit',
  'adjfund_alloc')) NOT VALID;
ALTER TABLE fl.pending_entry DROP CONSTRAINT pending_entry_kind_check;
ALTER TABLE fl.pending_entry ADD CONSTRAINT pending_entry_kind_check
  CHECK (kind IN ('manual', 'reversal', 'interest', 'opening', 'adjfund_remit'));

CREATE OR REPLACE FUNCTION fl._kind_command(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_kind
    WHEN 'reversal' THEN 'fundledger entry reverse'
    WHEN 'opening' THEN 'fundledger opening post (the city proper) or fundledger handover open (a county)'
    WHEN 'collections' THEN 'fundledger collect import'
    WHEN 'payments' THEN 'fundledger pay import'
    WHEN 'handover_transfer' THEN 'fundledger handover transfer'
    WHEN 'preallocation' THEN 'fundledger preallocate'
    WHEN 'request_disburse' THEN 'fundledger request disburse'
    WHEN 'request_settle' THEN 'fundledger request settle'
    WHEN 'interest' THEN 'fundledger interest allocate'
    WHEN 'register_clear' THEN 'fundledger register clear, fundledger government pay or fundledger adjfund allocate'
    WHEN 'year_close' THEN 'fundledger close year'
    WHEN 'adjfund_remit' THEN 'fundledger adjfund remit'
    WHEN 'adjfund_alloc' THEN 'fundledger adjfund allocate'
  END
$$;

CREATE OR REPLACE FUNCTION fl._key_in_namespace(p_kind text, p_key text, p_source jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_kind
    WHEN 'manual' THEN p_key LIKE 'manual:%:%'
    WHEN 'reversal' THEN p_key LIKE 'reversal:%:%'
    WHEN 'opening' THEN p_key LIKE 'opening:%' OR p_key LIKE 'opening-city:%'
    WHEN 'collections' THEN p_key LIKE 'collections:%'
    WHEN 'payments' THEN p_key LIKE 'payments:%'
    WHEN 'handover_transfer' THEN p_key LIKE 'handover-transfer:%'
    WHEN 'preallocation' THEN p_key LIKE 'prealloc:%'
    WHEN 'request_disburse' THEN left(p_key, length('request:' || (p_source ->> 'request') || ':'))
                                 = 'request:' || (p_source ->> 'request') || ':'
    WHEN 'request_settle' THEN left(p_key, length('request:' || (p_source ->> 'request') || ':'))
                               = 'request:' || (p_source ->> 'request') || ':'
    WHEN 'interest' THEN p_key LIKE 'interest:%'
    WHEN 'register_clear' THEN p_key LIKE 'register-clear:%' OR p_key LIKE 'govpay:%' OR p_key LIKE 'adjfund-late:%'
    WHEN 'year_close' THEN p_key LIKE 'yearclose:%'
    WHEN 'adjfund_remit' THEN p_key LIKE 'adjfund-remit:%'
    WHEN 'adjfund_alloc' THEN p_key LIKE 'adjfund-alloc:%'
    ELSE false END
$$;

CREATE OR REPLACE FUNCTION fl._key_namespace(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_kind
    WHEN 'manual' THEN 'manual:<user>:' WHEN 'reversal' THEN 'reversal:<user>:'
    WHEN 'opening' THEN 'opening: or opening-city:' WHEN 'collections' THEN 'collections:'
    WHEN 'payments' THEN 'payments:' WHEN 'handover_transfer' THEN 'handover-transfer:'
    WHEN 'preallocation' THEN 'prealloc:' WHEN 'request_disburse' THEN 'request:<request id>:'
    WHEN 'request_settle' THEN 'request:<request id>:' WHEN 'interest' THEN 'interest:'
    WHEN 'register_clear' THEN 'register-clear:, govpay: or adjfund-late:' WHEN 'year_close' THEN 'yearclose:'
    WHEN 'adjfund_remit' THEN 'adjfund-remit:' WHEN 'adjfund_alloc' THEN 'adjfund-alloc:'
    ELSE '(none: unknown kind)' END
$$;

-- 0017's deciders, with a held remittance confirmed by the city bureau or city finance.
CREATE OR REPLACE FUNCTION fl._decider(p fl.pending_entry, p_action text) RETURNS fl.app_user
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE u fl.app_user := fl.require_role(ARRAY['officer', 'reviewer', 'finance'], p_action || ' held entries');
BEGIN
  IF u.role = 'officer' AND (p.maker_role <> 'officer' OR p.units <> ARRAY[u.unit]) THEN
    PERFORM fl.refuse('permission_denied', format(
      '%s is an officer of unit %s and may %s only another officer''s held entry of that unit; held entry %s is %s''s '
      '(%s) for unit(s) %s', u.name, u.unit, p_action, p.id, p.made_by, p.maker_role, array_to_string(p.units, ', ')),
      'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND u.name = p.made_by THEN
    PERFORM fl.refuse('maker_checker', format(
      '%s made held entry %s and may not confirm it: a second person confirms (fundledger entry confirm %s, as another '
      'user)', u.name, p.id, p.id), 'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND p.kind IN ('reversal', 'interest', 'opening', 'adjfund_remit')
     AND u.role NOT IN ('reviewer', 'finance') THEN
    PERFORM fl.refuse('permission_denied', format('a held %s is confirmed by the city bureau (reviewer) or city finance',
      p.kind), 'insufficient_privilege');
  END IF;
  RETURN u;
END $$;

-- The region's adjustment-fund setting (written by init from the region file).
CREATE FUNCTION fl._adjfund() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce((SELECT s.value FROM fl.setting s WHERE s.key = 'adjustment_fund'), '{}'::jsonb)
$$;

-- ---------------------------------------------------------------------------
-- The rule's inputs with the fund: v2's, and adjustment_receipts (allocations for p_year
-- received in p_year, kind adjfund_alloc), left out of revenue. SECURITY INVOKER.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.year_figures_v3(p_year int, p_book text)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint, adjustment_receipts bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH alloc AS (
    SELECT a.unit, sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END) AS amount
      FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a ON a.id = p.account_id
     WHERE e.kind = 'adjfund_alloc' AND e.book = p_book AND a.chart_code = '4401'
       AND e.entry_date BETWEEN make_date(p_year, 1, 1) AND make_date(p_year, 12, 31)
       AND (e.source ->> 'year') = p_year::text
     GROUP BY a.unit)
  SELECT f.unit, f.book, f.component, (f.revenue - coalesce(x.amount, 0))::bigint, f.expenditure, f.surplus_before,
         f.revenue_on_books, f.share_receipts, f.surplus_before_on_books, f.outstanding_before,
         coalesce(x.amount, 0)::bigint
    FROM fl.year_figures_v2(p_year, p_book) f
    LEFT JOIN alloc x ON x.unit = f.unit
   ORDER BY f.unit
$$;

-- ---------------------------------------------------------------------------
-- Year-end close: 0011's, checking the table against fl.year_figures_v3 and the order
-- surplus → adjustment fund → government.
-- ---------------------------------------------------------------------------
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
END $$;

-- 0016b's shape of the stored table, with the order's two columns among its fields.
CREATE OR REPLACE FUNCTION fl.year_close_result_shape() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad text;
BEGIN
  SELECT coalesce(r.value ->> 'unit', r.value::text) INTO bad
    FROM pg_catalog.jsonb_array_elements(coalesce(NEW.result -> 'rows', '[]'::jsonb)) r
   GROUP BY 1 HAVING count(*) > 1 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('year_close_result', pg_catalog.format(
      'the shortfall table for book %s lists unit %s more than once; nothing was closed', NEW.book, bad));
  END IF;
  SELECT CASE WHEN pg_catalog.jsonb_typeof(r.value) <> 'object' THEN r.value::text ELSE k.key END INTO bad
    FROM pg_catalog.jsonb_array_elements(coalesce(NEW.result -> 'rows', '[]'::jsonb)) r
    LEFT JOIN LATERAL pg_catalog.jsonb_object_keys(CASE WHEN pg_catalog.jsonb_typeof(r.value) = 'object'
                                                        THEN r.value END) k(key) ON true
   WHERE pg_catalog.jsonb_typeof(r.value) <> 'object'
      OR k.key NOT IN ('unit', 'book', 'revenue', 'expenditure', 'current_balance', 'surplus_before',
                       'covered_by_surplus', 'government_share', 'surplus_after',
                       -- 0011's reconciling columns (the rule across years)
                       'revenue_on_books', 'share_receipts', 'surplus_before_on_books',
                       'outstanding_before', 'outstanding_after', 'surplus_after_on_books',
                       -- 0025b's adjustment fund in the order
                       'adjustment_receipts', 'covered_by_adjustment_fund')
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('year_close_result', pg_catalog.format(
      'the shortfall table for book %s holds %s, which is not one of its fields; nothing was closed', NEW.book, bad));
  END IF;
  RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------
-- Shares of an amount by weights, largest remainder, ties by unit code (as interest).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._shares(p_total bigint, p_units text[], p_weights bigint[])
RETURNS TABLE (unit text, share bigint)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH w AS (SELECT x.u, x.w, sum(x.w) OVER () AS tot FROM unnest(p_units, p_weights) AS x(u, w)),
  base AS (SELECT w.u, w.w, w.tot, CASE WHEN w.tot > 0 THEN (p_total::numeric * w.w) / w.tot ELSE 0 END AS exact FROM w),
  fl0 AS (SELECT b.u, floor(b.exact)::bigint AS f, b.exact - floor(b.exact) AS rem FROM base b),
  left0 AS (SELECT p_total - coalesce(sum(f), 0) AS n FROM fl0),
  ranked AS (SELECT f0.*, row_number() OVER (ORDER BY f0.rem DESC, f0.u) AS r FROM fl0 f0)
  SELECT r.u, (r.f + CASE WHEN r.r <= (SELECT n FROM left0) THEN 1 ELSE 0 END)::bigint FROM ranked r ORDER BY r.u
$$;

-- The weights of the configured rule for p_units with their caps (gaps): 'gap' weighs by
-- the cap itself, 'fixed' by the region's shares (adjustment_fund.shares).
CREATE FUNCTION fl._adjfund_weights(p_units text[], p_caps bigint[])
RETURNS TABLE (unit text, cap bigint, weight bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT x.u, x.c,
         CASE WHEN coalesce(fl._adjfund() ->> 'allocation_rule', 'gap') = 'fixed'
              THEN coalesce((fl._adjfund() -> 'shares' ->> x.u)::bigint, 0) ELSE x.c END
    FROM unnest(p_units, p_caps) AS x(u, c)
$$;

-- ---------------------------------------------------------------------------
-- 上解: remit a year's share to the province, per unit, held for a second person.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.adjfund_remit(p_year int, p_book text, p_date date)
RETURNS TABLE (unit text, amount bigint, held_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['finance'], 'remit to the provincial adjustment fund');
  cfg  jsonb := fl._adjfund();
  bk   fl.book;
  comp text;
  es   fl.new_entry[];
  ps   fl.new_posting[];
BEGIN
  SELECT * INTO bk FROM fl.book b WHERE b.code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF p_date IS NULL OR extract(year FROM p_date)::int <> p_year THEN
    PERFORM fl.refuse('adjfund_date', format('the remittance for %s is dated within %s, not %s',
      p_year, p_year, coalesce(p_date::text, 'no date')));
  END IF;
  IF cfg ->> 'remit_rate' IS NULL AND cfg ->> 'remit_amount' IS NULL THEN
    PERFORM fl.refuse('adjfund_setting', 'this region remits nothing to an adjustment fund (region file: '
      '[adjustment_fund] remit_rate or remit_amount)');
  END IF;
  comp := coalesce(nullif(bk.pooled_component, ''), '');
  PERFORM fl._imp_clear(NULL);
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT un.code AS unit,
         CASE WHEN cfg ->> 'remit_amount' IS NOT NULL THEN (cfg ->> 'remit_amount')::bigint
              ELSE round((cfg ->> 'remit_rate')::numeric * coalesce(c.amount, 0))::bigint END AS amount
    FROM fl.unit un
    LEFT JOIN LATERAL (SELECT -sum(f.net) AS amount FROM fl.year_flows(p_book, make_date(p_year, 1, 1), p_date) f
                        WHERE f.unit = un.code AND split_part(f.chart_code, '.', 1) = '4001'
                          AND f.component = comp) c ON true;
  DELETE FROM pg_temp.fl_imp_work w WHERE w.amount <= 0;
  IF NOT EXISTS (SELECT 1 FROM pg_temp.fl_imp_work) THEN
    PERFORM fl.refuse('adjfund_setting', format('nothing to remit for %s %s (no contributions received yet)',
      p_year, p_book));
  END IF;
  SELECT array_agg(ROW(r.o, p_book, p_date, format('上解调剂金 remittance to the provincial adjustment fund %s, unit %s',
                       p_year, r.unit), 'adjfund_remit', format('adjfund-remit:%s:%s:%s', p_year, p_book, r.unit),
                       NULL, '', jsonb_build_object('year', p_year), NULL)::fl.new_entry ORDER BY r.o),
         array_agg(ROW(r.o, 1, p_book, '5301', r.unit, '', comp, 'D', r.amount, NULL, NULL)::fl.new_posting ORDER BY r.o)
         || array_agg(ROW(r.o, 2, p_book, '1003', r.unit, 'special', comp, 'C', r.amount, NULL, NULL)::fl.new_posting
                      ORDER BY r.o)
    INTO es, ps
    FROM (SELECT w.*, row_number() OVER (ORDER BY w.unit)::int AS o FROM pg_temp.fl_imp_work w) r;
  RETURN QUERY
  SELECT (SELECT w.unit FROM pg_temp.fl_imp_work w ORDER BY w.unit OFFSET h.ord - 1 LIMIT 1),
         (SELECT w.amount FROM pg_temp.fl_imp_work w ORDER BY w.unit OFFSET h.ord - 1 LIMIT 1),
         h.held_id, h.status
    FROM fl._hold(u, 'adjfund_remit', es, ps) h ORDER BY h.ord;
  DROP TABLE pg_temp.fl_imp_work;
END $$;

-- ---------------------------------------------------------------------------
-- 调剂金下拨: an allocation for p_year, shared among the units by the rule.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.adjfund_allocate(p_year int, p_book text, p_amount bigint, p_date date, p_key text)
RETURNS TABLE (unit text, amount bigint, entry_id bigint, status text, settles text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u      fl.app_user := fl.require_role(ARRAY['finance'], 'record an adjustment-fund allocation');
  cfg    jsonb := fl._adjfund();
  bk     fl.book;
  comp   text;
  closed boolean;
  units  text[];
  caps   bigint[];
  bad    record;
  r      record;
  it     fl.register_item;
  res    record;
  k      text;
  prev   fl.register_clearing;
BEGIN
  SELECT * INTO bk FROM fl.book b WHERE b.code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF coalesce((cfg ->> 'in_order')::boolean, false) IS NOT TRUE THEN
    PERFORM fl.refuse('adjfund_setting', 'this region''s shortfall order has no adjustment fund (region file: '
      '[adjustment_fund] in_order = true); an allocation here is an ordinary receipt (fundledger entry post)');
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the allocation must be a positive number of fen');
  END IF;
  IF coalesce(trim(p_key), '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'an allocation needs an idempotency key');
  END IF;
  comp := coalesce(nullif(bk.pooled_component, ''), '');
  closed := EXISTS (SELECT 1 FROM fl.year_close c WHERE c.year = p_year AND c.book = p_book);
  IF p_date IS NULL OR p_date < make_date(p_year, 1, 1) THEN
    PERFORM fl.refuse('adjfund_date', format('an allocation for %s cannot be dated before %s (got %s)',
      p_year, make_date(p_year, 1, 1), coalesce(p_date::text, 'no date')));
  END IF;
  IF NOT closed AND p_date > make_date(p_year, 12, 31) THEN
    PERFORM fl.refuse('adjfund_date', format(
      'an allocation for %s arriving on %s settles %s''s government share, which exists once %s is closed: '
      'close year %s first', p_year, p_date, p_year, p_year, p_year));
  END IF;

  -- The same allocation again (its key already used): what it recorded, nothing more. The
  -- caps below have moved since (the allocation itself filled them), so this comes first.
  IF EXISTS (SELECT 1 FROM fl.entry e WHERE e.idempotency_key LIKE format('adjfund-alloc:%s:%%', p_key)
             OR e.idempotency_key LIKE format('adjfund-late:%s:%%', p_key)) THEN
    SELECT sum(p.amount) AS total, min(e.entry_date) AS d0, max(e.entry_date) AS d1,
           bool_and((e.source ->> 'year') = p_year::text AND e.book = p_book) AS same INTO bad
      FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id
     WHERE (e.idempotency_key LIKE format('adjfund-alloc:%s:%%', p_key)
            OR e.idempotency_key LIKE format('adjfund-late:%s:%%', p_key)) AND p.side = 'C';
    IF bad.total IS DISTINCT FROM p_amount OR bad.d0 IS DISTINCT FROM p_date OR bad.d1 IS DISTINCT FROM p_date
       OR NOT bad.same THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'key %s was already used for an allocation of %s on %s; nothing was written', p_key, fl.fmt_fen(bad.total),
        bad.d0), 'unique_violation');
    END IF;
    RETURN QUERY
    SELECT a.unit, p.amount, e.id, 'duplicate'::text,
           CASE WHEN e.kind = 'adjfund_alloc' THEN p_year::text
                ELSE (SELECT i.reference FROM fl.register_item i WHERE i.id = (e.source ->> 'register_item')::bigint) END
      FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id AND p.side = 'C' JOIN fl.account a ON a.id = p.account_id
     WHERE e.idempotency_key LIKE format('adjfund-alloc:%s:%%', p_key)
        OR e.idempotency_key LIKE format('adjfund-late:%s:%%', p_key)
     ORDER BY a.unit;
    RETURN;
  END IF;

  -- The caps: in the year, each unit's gap after its surplus and after what the fund already
  -- gave for the year; after the close, the government share of the year still owed.
  IF NOT closed THEN
    SELECT array_agg(f.unit ORDER BY f.unit),
           array_agg(greatest(greatest(f.expenditure - f.revenue, 0)
                              - least(greatest(f.expenditure - f.revenue, 0), greatest(f.surplus_before, 0))
                              - f.adjustment_receipts, 0)::bigint ORDER BY f.unit)
      INTO units, caps FROM fl.year_figures_v3(p_year, p_book) f;
  ELSE
    SELECT array_agg(s.unit ORDER BY s.unit), array_agg(s.outstanding::bigint ORDER BY s.unit)
      INTO units, caps FROM fl.government_shares(p_date, p_book) s WHERE s.fiscal_year = p_year;
  END IF;
  PERFORM fl._imp_clear(NULL);
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT w.unit, w.cap, w.weight, coalesce(s.share, 0) AS share
    FROM fl._adjfund_weights(coalesce(units, '{}'), coalesce(caps, '{}')) w
    LEFT JOIN fl._shares(p_amount, (SELECT array_agg(x.unit ORDER BY x.unit) FROM fl._adjfund_weights(
                                      coalesce(units, '{}'), coalesce(caps, '{}')) x WHERE x.weight > 0),
                         (SELECT array_agg(x.weight ORDER BY x.unit) FROM fl._adjfund_weights(
                                      coalesce(units, '{}'), coalesce(caps, '{}')) x WHERE x.weight > 0)) s
      ON s.unit = w.unit;
  IF p_amount > (SELECT coalesce(sum(w.cap), 0) FROM pg_temp.fl_imp_work w WHERE w.weight > 0) THEN
    PERFORM fl.refuse('adjfund_cap', format(
      'the allocation of %s for %s %s is more than the gaps it covers (%s: %s); nothing was recorded',
      fl.fmt_fen(p_amount), p_year, p_book,
      CASE WHEN closed THEN 'government shares still owed' ELSE 'gaps after the units'' surplus' END,
      fl.fmt_fen((SELECT coalesce(sum(w.cap), 0) FROM pg_temp.fl_imp_work w WHERE w.weight > 0))));
  END IF;
  SELECT * INTO bad FROM pg_temp.fl_imp_work w WHERE w.share > w.cap ORDER BY w.unit LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('adjfund_cap', format(
      'unit %s''s share of the allocation (%s) is more than the gap it covers (%s); nothing was recorded',
      bad.unit, fl.fmt_fen(bad.share), fl.fmt_fen(bad.cap)));
  END IF;

  IF NOT closed THEN
    RETURN QUERY
    SELECT w.unit, w.share, x.entry_id, x.status, p_year::text
      FROM (SELECT w0.*, row_number() OVER (ORDER BY w0.unit)::int AS o FROM pg_temp.fl_imp_work w0
             WHERE w0.share > 0) w
      JOIN fl._post(
        (SELECT array_agg(ROW(w1.o, p_book, p_date, format('调剂金 adjustment-fund allocation for %s, unit %s', p_year,
                              w1.unit), 'adjfund_alloc', format('adjfund-alloc:%s:%s', p_key, w1.unit), NULL, '',
                              jsonb_build_object('year', p_year, 'allocation', p_amount), NULL)::fl.new_entry
                          ORDER BY w1.o)
           FROM (SELECT w0.*, row_number() OVER (ORDER BY w0.unit)::int AS o FROM pg_temp.fl_imp_work w0
                  WHERE w0.share > 0) w1),
        (SELECT array_agg(ROW(w1.o, l.pos, p_book, CASE l.pos WHEN 1 THEN '1003' ELSE '4401' END, w1.unit,
                              CASE l.pos WHEN 1 THEN 'special' ELSE '' END, comp,
                              CASE l.pos WHEN 1 THEN 'D' ELSE 'C' END, w1.share, NULL, NULL)::fl.new_posting
                          ORDER BY w1.o, l.pos)
           FROM (SELECT w0.*, row_number() OVER (ORDER BY w0.unit)::int AS o FROM pg_temp.fl_imp_work w0
                  WHERE w0.share > 0) w1 CROSS JOIN (VALUES (1), (2)) AS l(pos))) x ON x.ord = w.o
     ORDER BY w.unit;
  ELSE
    -- Late: each share clears the unit's government share of p_year in the government's place.
    FOR r IN SELECT * FROM pg_temp.fl_imp_work w WHERE w.share > 0 ORDER BY w.unit LOOP
      k := format('adjfund-late:%s:%s', p_key, r.unit);
      SELECT * INTO it FROM fl.register_item i
       WHERE i.kind = 'government_share' AND i.book = p_book AND i.unit = r.unit AND i.fiscal_year = p_year
       ORDER BY i.id LIMIT 1 FOR UPDATE;
      SELECT * INTO prev FROM fl.register_clearing c WHERE c.idempotency_key = k;
      IF FOUND THEN
        IF prev.item_id = it.id AND prev.amount = r.share AND prev.cleared_on = p_date THEN
          unit := r.unit; amount := r.share; entry_id := prev.entry_id; status := 'duplicate';
          settles := format('govshare:%s:%s:%s', p_year, p_book, r.unit);
          RETURN NEXT;
          CONTINUE;
        END IF;
        PERFORM fl.refuse('idempotency_conflict', format(
          'key %s was already used to clear %s of item %s on %s; nothing was written', k, fl.fmt_fen(prev.amount),
          prev.item_id, prev.cleared_on), 'unique_violation');
      END IF;
      SELECT * INTO res FROM fl._post(
        ARRAY[ROW(1, p_book, p_date,
                  format('调剂金 adjustment-fund allocation for %s settles register item %s (%s): %s', p_year, it.id,
                         it.reference, fl.fmt_fen(r.share)),
                  'register_clear', k, NULL, NULL,
                  jsonb_build_object('register_item', it.id, 'kind', it.kind, 'year', p_year,
                                     'allocation', p_amount), NULL)::fl.new_entry],
        ARRAY[ROW(1, 1, p_book, '1003', r.unit, 'special', comp, 'D', r.share, it.reference, NULL)::fl.new_posting,
              ROW(1, 2, p_book, '4401', r.unit, '', comp, 'C', r.share, it.reference, NULL)::fl.new_posting]);
      INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
      VALUES (it.id, r.share, p_date, res.entry_id, k);
      UPDATE fl.register_item i SET cleared = i.cleared + r.share WHERE i.id = it.id;
      unit := r.unit; amount := r.share; entry_id := res.entry_id; status := res.status;
      settles := it.reference;
      RETURN NEXT;
    END LOOP;
  END IF;
  DROP TABLE pg_temp.fl_imp_work;
END $$;

REVOKE ALL ON FUNCTION fl._adjfund(), fl.year_figures_v3(int, text), fl._shares(bigint, text[], bigint[]),
  fl._adjfund_weights(text[], bigint[]), fl.adjfund_remit(int, text, date),
  fl.adjfund_allocate(int, text, bigint, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.year_figures_v3(int, text) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
GRANT EXECUTE ON FUNCTION fl.adjfund_remit(int, text, date), fl.adjfund_allocate(int, text, bigint, date, text)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- 0027's waiters rule for the functions above (a CREATE OR REPLACE drops a function's SET
-- clauses: fl.close_year's lock_timeout with it): every writing API function runs with
-- lock_timeout = 5s unless it sets its own.
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
