-- fundledger migration 0011: year after year (issue 16, BRIEF §4, §5 corrected 2026-12).
--
-- 1. The shortfall rule across years, on the cash basis. Year Y's government share lives
--    in the obligations register (备查簿) from Y's close; the rule's S before / S after
--    count it as owed to the fund, so S after (Y) = S before (Y+1) exactly. When the money
--    arrives (Y+1 or later, whole or in parts) it is 4101.shortfall revenue in the income
--    statement of the year it arrives, and it is EXCLUDED from that year's C: it settles
--    Y's item and must not cover the new year's gap. fl.year_figures_v2 returns both
--    readings and the reconciling line between them:
--      revenue            = revenue_on_books − share_receipts        (the rule's revenue)
--      surplus_before     = surplus_before_on_books + outstanding_before
--    fl.year_figures (v1, the one-year reading) stays as it was for old callers.
-- 2. The components of the employees' book never pay for each other (不得相互挤占):
--    a unit's personal-account money in a physical account never below zero, the pooled
--    money in a physical account never below zero in total (a deferred constraint
--    trigger on fl.account, queued only when such a balance falls below zero).
-- 3. A handover (基金清算) happens once per county and book: after its transfer up, new
--    opening rows for that county and book are refused (corrections are reversals).

-- ---------------------------------------------------------------------------
-- Government shares (缺口分担 register items) as of the end of a date, per item.
-- SECURITY INVOKER: an officer sees their own unit's items only (row security).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.government_shares(p_as_of date, p_book text DEFAULT NULL)
RETURNS TABLE (item_id bigint, unit text, book text, fiscal_year int, opened_on date, amount bigint,
               paid bigint, outstanding bigint, last_paid_on date)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT i.id, i.unit, i.book, i.fiscal_year, i.opened_on, i.amount,
         coalesce(c.paid, 0)::bigint, (i.amount - coalesce(c.paid, 0))::bigint, c.last_on
    FROM fl.register_item i
    LEFT JOIN LATERAL (SELECT sum(x.amount) AS paid, max(x.cleared_on) AS last_on FROM fl.register_clearing x
                        WHERE x.item_id = i.id AND x.cleared_on <= p_as_of) c ON true
   WHERE i.kind = 'government_share' AND i.opened_on <= p_as_of AND (p_book IS NULL OR i.book = p_book)
   ORDER BY i.book, i.unit, i.fiscal_year, i.id
$$;

-- ---------------------------------------------------------------------------
-- The inputs of the shortfall rule across years, per unit of a book (employees: the
-- pooled component). On top of v1's figures:
--   share_receipts          government-share money received in p_year (for earlier years)
--   outstanding_before      shares owed to the fund at the start of p_year
--   revenue                 revenue_on_books − share_receipts (what C is computed from)
--   surplus_before          surplus_before_on_books + outstanding_before
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.year_figures_v2(p_year int, p_book text)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint,
               revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
               outstanding_before bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH receipts AS (
    SELECT i.unit, sum(c.amount) AS amount
      FROM fl.register_clearing c JOIN fl.register_item i ON i.id = c.item_id
     WHERE i.kind = 'government_share' AND i.book = p_book
       AND c.cleared_on BETWEEN make_date(p_year, 1, 1) AND make_date(p_year, 12, 31)
     GROUP BY i.unit),
  owed AS (
    SELECT s.unit, sum(s.outstanding) AS amount
      FROM fl.government_shares(make_date(p_year, 1, 1) - 1, p_book) s
     GROUP BY s.unit)
  SELECT f.unit, f.book, f.component,
         (f.revenue - coalesce(r.amount, 0))::bigint, f.expenditure,
         (f.surplus_before + coalesce(o.amount, 0))::bigint,
         f.revenue, coalesce(r.amount, 0)::bigint, f.surplus_before, coalesce(o.amount, 0)::bigint
    FROM fl.year_figures(p_year, p_book) f
    LEFT JOIN receipts r ON r.unit = f.unit
    LEFT JOIN owed o ON o.unit = f.unit
   ORDER BY f.unit
$$;

-- ---------------------------------------------------------------------------
-- Year-end close: 0008's definition (no temp work table), with the shortfall table
-- checked against fl.year_figures_v2 (the rule across years) and its reconciling columns.
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
  -- The balances to close, per book (was the temp table close_bal: see the header).
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
    -- The year before must not still hold revenue or expenditure: it is closed first.
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
    -- (0011) The rule across years: fl.year_figures_v2 and its reconciling columns.
    SELECT coalesce(f.unit, x.unit) AS unit INTO bad
      FROM fl.year_figures_v2(p_year, bk.code) f
      FULL JOIN jsonb_to_recordset(rows) AS x(unit text, revenue bigint, expenditure bigint, current_balance bigint,
                 surplus_before bigint, covered_by_surplus bigint, government_share bigint, surplus_after bigint,
                 revenue_on_books bigint, share_receipts bigint, surplus_before_on_books bigint,
                 outstanding_before bigint, outstanding_after bigint, surplus_after_on_books bigint)
        ON x.unit = f.unit
     WHERE f.unit IS NULL OR x.unit IS NULL
        OR (f.revenue, f.expenditure, f.surplus_before, f.revenue_on_books, f.share_receipts,
            f.surplus_before_on_books, f.outstanding_before)
           IS DISTINCT FROM (x.revenue, x.expenditure, x.surplus_before, x.revenue_on_books, x.share_receipts,
                             x.surplus_before_on_books, x.outstanding_before)
        OR x.current_balance IS DISTINCT FROM x.revenue - x.expenditure
        OR x.covered_by_surplus IS DISTINCT FROM least(greatest(-x.current_balance, 0), greatest(x.surplus_before, 0))
        OR x.government_share IS DISTINCT FROM greatest(-x.current_balance, 0) - x.covered_by_surplus
        OR x.surplus_after IS DISTINCT FROM x.surplus_before + x.current_balance + x.government_share
        OR x.outstanding_after IS DISTINCT FROM x.outstanding_before - x.share_receipts + x.government_share
        OR x.surplus_after_on_books IS DISTINCT FROM x.surplus_after - x.outstanding_after
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_result', format(
        'the shortfall table for book %s does not match the books or the rule (unit %s); nothing was closed',
        bk.code, bad.unit));
    END IF;

    -- Closing entries: per unit, one entry for revenue (Dr each 4xxx / Cr 3001) and one
    -- for expenditure (Dr 3001 / Cr each 5xxx), per component; dated p_date, closing the
    -- balances of the whole year.
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

    -- The local government's share goes to the obligations register (备查簿).
    INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, fiscal_year, reference, note)
    SELECT 'government_share', x.unit, bk.code, bk.pooled_component, x.government_share, p_date, p_year,
           format('govshare:%s:%s:%s', p_year, bk.code, x.unit),
           format('缺口分担 local government share of the %s shortfall of unit %s (%s)', p_year, x.unit, bk.code)
      FROM jsonb_to_recordset(rows) AS x(unit text, government_share bigint)
     WHERE x.government_share > 0;
    GET DIAGNOSTICS n_g = ROW_COUNT;

    INSERT INTO fl.year_close (year, book, closed_on, result)
    VALUES (p_year, bk.code, p_date, jsonb_build_object('component', bk.pooled_component, 'rows', rows,
                                                        'rule', 'across_years'));
    book := bk.code; entries := n_e; government_items := n_g;
    RETURN NEXT;
  END LOOP;

  -- Lock the year: after the closing entries, so they could still be posted.
  INSERT INTO fl.closed_period (month, reason)
  SELECT m::date, format('year-end close %s', p_year)
    FROM generate_series(v_start, make_date(p_year, 12, 1), interval '1 month') AS m
  ON CONFLICT (month) DO NOTHING;
END $$;

-- ---------------------------------------------------------------------------
-- Components never pay for each other (BRIEF §4, 不得相互挤占). Queued only when a
-- component's deposit balance falls below zero (the WHEN clause is evaluated in the
-- executor: nothing runs on the write path otherwise); checked at commit, when the
-- posting trigger holds the physical account's row lock, so a concurrent writer on the
-- same physical account has either committed (and is seen) or waits for us.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.component_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  a      record;
  total  bigint;
BEGIN
  SELECT x.id, x.book, x.unit, x.holder, x.component, x.balance, x.bank_account_id, b.pooled_component,
         h.name_en AS holder_name
    INTO a
    FROM fl.account x JOIN fl.book b ON b.code = x.book LEFT JOIN fl.holder h ON h.code = x.holder
   WHERE x.id = NEW.id;
  IF a.balance >= 0 THEN
    RETURN NULL;   -- a later statement of the transaction brought it back
  END IF;
  IF a.component <> a.pooled_component THEN
    PERFORM fl.refuse('components_separate', format(
      'unit %s''s %s money in the %s (%s) would be %s: it pays only from its own %s money, never from the %s fund',
      a.unit, a.component, a.holder_name, a.book, fl.fmt_fen(a.balance), a.component, a.pooled_component));
  END IF;
  SELECT sum(x.balance) INTO total FROM fl.account x
   WHERE x.bank_account_id = a.bank_account_id AND x.component = a.component;
  IF total < 0 THEN
    PERFORM fl.refuse('components_separate', format(
      'the %s money in the %s (%s) would be %s in total: the %s fund may not draw on other components'' money',
      a.component, a.holder_name, a.book, fl.fmt_fen(total), a.component));
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER account_components_separate AFTER UPDATE OF balance ON fl.account
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.component <> '' AND NEW.bank_account_id IS NOT NULL AND NEW.balance < 0 AND NEW.balance < OLD.balance)
  EXECUTE FUNCTION fl.component_guard();

-- ---------------------------------------------------------------------------
-- A handover once per county and book: once its transfer up (上划) is made, new
-- opening rows for that county and book are refused. (An import that repeats rows
-- already recorded writes no import_line and is not refused.)
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.handover_once() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  v_unit text;
  v_book text;
  done   record;
BEGIN
  SELECT a.unit, a.book INTO v_unit, v_book
    FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
   WHERE p.entry_id = NEW.entry_id LIMIT 1;
  IF v_unit IS NULL THEN
    SELECT i.unit, i.book INTO v_unit, v_book FROM fl.register_item i WHERE i.reference = NEW.reference;
  END IF;
  IF v_unit IS NULL THEN
    RETURN NEW;
  END IF;
  -- The first transfer of each (book, component) has the key handover-transfer:UNIT:BOOK:COMP
  -- (fl.handover_transfer); equality on the unique key is an index probe.
  SELECT e.id, e.entry_date INTO done FROM fl.entry e
   WHERE e.idempotency_key = ANY (SELECT format('handover-transfer:%s:%s:%s', v_unit, v_book, c)
                                    FROM fl.book b
                                    CROSS JOIN LATERAL unnest(CASE WHEN cardinality(b.components) = 0 THEN ARRAY['-']
                                                                   ELSE b.components END) AS c
                                   WHERE b.code = v_book)
     AND e.kind = 'handover_transfer'
   ORDER BY e.id LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('handover_once', format(
      'unit %s already handed over book %s (transferred up on %s, entry %s): a handover happens once per county '
      'and book; correct it with a reversal entry in the open year', v_unit, v_book, done.entry_date, done.id),
      'unique_violation');
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER import_line_handover_once BEFORE INSERT ON fl.import_line
  FOR EACH ROW WHEN (NEW.namespace = 'opening') EXECUTE FUNCTION fl.handover_once();

REVOKE ALL ON FUNCTION fl.government_shares(date, text), fl.year_figures_v2(int, text), fl.component_guard(),
  fl.handover_once() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.government_shares(date, text), fl.year_figures_v2(int, text)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
