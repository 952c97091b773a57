-- 0084 (issue 15): an adjustment-fund allocation in its year records what its shares came from.
--
-- fl.adjfund_allocate (0025b, 0074) shares an allocation for year Y paid before Y's close among
-- the units by the region's rule (their gap after their surplus and after what the fund already
-- gave for Y, or fixed weights), largest remainder, ties by unit code, never more to a unit than
-- its gap (adjfund_cap). The independent verdict could not re-derive that cap (it was a gap):
-- the gap is the one at the allocation's moment, and entries written later in the year change
-- it. Now each share's entry records, beside the year and the allocation, every unit's cap and
-- weight the shares were computed from:
--   "caps": {"230822": 60000, …}, "weights": {"230822": 60000, …}   (the units with a weight)
-- ledger.core.fund_rules judges each allocation against them — its shares add up to it, are the
-- rule's over the recorded weights, none above its unit's recorded cap — and the recorded caps
-- against the books (the year's figures less the allocations written after it) whenever no
-- other entry of the book dated in the year was written after the allocation. Allocations paid
-- after the close (settling the year's government shares) are judged by register_overpaid.
--
-- fl.adjfund_allocate below is its latest migrated definition (0074's), changed only in the
-- in-year entries' source (marked 0084).

CREATE OR REPLACE FUNCTION fl.adjfund_allocate(p_year int, p_book text, p_amount bigint, p_date date, p_key text)
RETURNS TABLE (unit text, amount bigint, entry_id bigint, status text, settles text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout TO '5s' AS $$
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
    -- (0074) What is still owed now: each unit's item of p_year less everything cleared
    -- from it so far, whatever the clearing's date (a government payment dated after this
    -- allocation but recorded before it has settled that much already). The items are
    -- locked first, in id order as fl.government_pay locks them, so a payment recorded at
    -- the same time cannot clear what these caps still count. Only items open on p_date:
    -- an allocation cannot settle a share before the close made it.
    PERFORM 1 FROM fl.register_item i
     WHERE i.kind = 'government_share' AND i.book = p_book AND i.fiscal_year = p_year
     ORDER BY i.id FOR UPDATE;
    SELECT array_agg(x.unit ORDER BY x.unit), array_agg(x.owed ORDER BY x.unit)
      INTO units, caps
      FROM (SELECT DISTINCT ON (i.unit) i.unit, (i.amount - i.cleared)::bigint AS owed
              FROM fl.register_item i
             WHERE i.kind = 'government_share' AND i.book = p_book AND i.fiscal_year = p_year
               AND i.opened_on <= p_date
             ORDER BY i.unit, i.id) x;
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
  -- (0074) Late: the same, saying what is still owed now and what to do.
  IF closed AND p_amount > (SELECT coalesce(sum(w.cap), 0) FROM pg_temp.fl_imp_work w WHERE w.weight > 0) THEN
    PERFORM fl.refuse('adjfund_cap', format(
      'the allocation of %s for %s %s is more than the government shares of %s still owed now (%s, after every '
      'payment recorded so far, whatever its date); nothing was recorded: check the amount against the province''s '
      'notice and allocate at most what is still owed (fundledger register list shows each unit''s share)',
      fl.fmt_fen(p_amount), p_year, p_book, p_year,
      fl.fmt_fen((SELECT coalesce(sum(w.cap), 0) FROM pg_temp.fl_imp_work w WHERE w.weight > 0))));
  END IF;
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
                              -- (0084) what the shares came from: each unit's cap (its gap
                              -- after its surplus and the fund's earlier allocations) and weight
                              jsonb_build_object('year', p_year, 'allocation', p_amount,
                                                 'caps', (SELECT jsonb_object_agg(c.unit, c.cap ORDER BY c.unit)
                                                            FROM pg_temp.fl_imp_work c WHERE c.weight > 0),
                                                 'weights', (SELECT jsonb_object_agg(c.unit, c.weight ORDER BY c.unit)
                                                               FROM pg_temp.fl_imp_work c WHERE c.weight > 0)),
                              NULL)::fl.new_entry
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
