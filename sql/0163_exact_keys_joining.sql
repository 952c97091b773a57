-- 0163 (ATTACK19 J4, J2, J5): idempotency keys compared exactly; no posting on a unit without a
-- registered joining date; no pre-allocation before a county joined.
--
--   * J4 (LOW-MED): fl.adjfund_allocate (0094) found "the same allocation again" by
--     e.idempotency_key LIKE format('adjfund-alloc:%s:%%', p_key): the caller's key was a LIKE
--     pattern ('调剂_1' matched '调剂-1''s entries: the province's second allocation was reported
--     duplicate and never booked). Now the keys its entries would carry (adjfund-alloc:<key>:<unit>,
--     adjfund-late:<key>:<unit>, one per registered unit) are compared by equality, each with the
--     unit of its own credit posting. Its sibling fl.government_pay (0005) took every clearing whose
--     key started with '<key>:' as this payment's ('G' took 'G:2''s) and did not compare the date:
--     now a clearing is this payment's when its key is exactly <key>:<its item>, and a re-run under
--     the key with another amount, unit, book or date is an idempotency conflict.
--     fl._prealloc_state (0046) matched a line's key by LIKE key || '#%' (its unit, book and
--     component are the caller's text): now the key before any '#n' is compared by equality.
--     Every other LIKE / left() on a key in the functions' latest definitions has a constant
--     pattern (a namespace check) or is built from registered codes only (fl.handover_transfer's
--     numbering).
--   * J2 (LOW-MED): a unit with no fl.unit_joined row (registered around init by a raw INSERT) was
--     bounded by nothing: fl.unit_first_day_record (0157's) now refuses a posting on it
--     (before_unit_joined), saying how to register its joining date.
--   * J5 (LOW): fl.preallocate (0094's) refuses a line for a county whose joining date is after the
--     pre-allocation's date (held, it could only be rejected, and finance's all-or-nothing
--     confirmation of the city's pre-allocations was refused with it); `fundledger preallocate`
--     leaves such a county out and names it with its joining date.

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
  seen   jsonb;
  mine   text[];
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
  -- (0163, ATTACK19 J4) The keys this allocation's entries would carry, compared exactly: the
  -- caller's key is text, never a LIKE pattern (an '_' or '%' in it matched another allocation's
  -- key before) nor a prefix (key A matched A:x's entries). An entry is this allocation's when its
  -- key is one of these AND names the unit its credit posting is on.
  mine := ARRAY(SELECT format(f.ns, p_key, un.code) FROM fl.unit un
                 CROSS JOIN (VALUES ('adjfund-alloc:%s:%s'), ('adjfund-late:%s:%s')) AS f(ns));
  IF EXISTS (SELECT 1 FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id AND p.side = 'C'
               JOIN fl.account a ON a.id = p.account_id
              WHERE e.idempotency_key = ANY (mine)
                AND e.idempotency_key IN (format('adjfund-alloc:%s:%s', p_key, a.unit),
                                          format('adjfund-late:%s:%s', p_key, a.unit))) THEN
    SELECT sum(p.amount) AS total, min(e.entry_date) AS d0, max(e.entry_date) AS d1,
           bool_and((e.source ->> 'year') = p_year::text AND e.book = p_book) AS same INTO bad
      FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a ON a.id = p.account_id
     WHERE e.idempotency_key = ANY (mine) AND p.side = 'C'
       AND e.idempotency_key IN (format('adjfund-alloc:%s:%s', p_key, a.unit),
                                 format('adjfund-late:%s:%s', p_key, a.unit));
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
     WHERE e.idempotency_key = ANY (mine)
       AND e.idempotency_key IN (format('adjfund-alloc:%s:%s', p_key, a.unit),
                                 format('adjfund-late:%s:%s', p_key, a.unit))
     ORDER BY a.unit;
    RETURN;
  END IF;

  -- The caps: in the year, each unit's gap after its surplus and after what the fund already
  -- gave for the year; after the close, the government share of the year still owed.
  IF NOT closed THEN
    SELECT array_agg(f.unit ORDER BY f.unit),
           array_agg(greatest(greatest(f.expenditure - f.revenue, 0)
                              - least(greatest(f.expenditure - f.revenue, 0), greatest(f.surplus_before, 0))
                              - f.adjustment_receipts, 0)::bigint ORDER BY f.unit),
           fl._read_mark()      -- (0094, ATTACK13 W6) what the caps read, in the same snapshot
      INTO units, caps, seen FROM fl.year_figures_v3(p_year, p_book) f;
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
                                                               FROM pg_temp.fl_imp_work c WHERE c.weight > 0),
                                                 'seen', seen),
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
REVOKE ALL ON FUNCTION fl.adjfund_allocate(int, text, bigint, date, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.government_pay(p_unit text, p_book text, p_amount bigint, p_date date, p_key text)
RETURNS TABLE (item_id bigint, fiscal_year int, amount bigint, entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
#variable_conflict use_column
DECLARE
  u      fl.app_user := fl.require_role(ARRAY['finance'], 'record government payments');
  it     record;
  owed   bigint;
  left_  bigint := p_amount;
  take   bigint;
  prior  bigint;
  pfx    text := p_key || ':';
BEGIN
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a government payment needs an idempotency key');
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the amount paid must be positive');
  END IF;
  -- The same payment again (same key): report what it did. (0163, ATTACK19 J4) Its clearings are
  -- those whose key is exactly <key>:<the item each clears> — not every key that starts with
  -- '<key>:' (a payment under G took G:2's clearings for its own and was never booked) — and
  -- the same payment is the same amount, unit, book and date; anything else under the key is
  -- an idempotency conflict.
  SELECT coalesce(sum(c.amount), 0) INTO prior
    FROM fl.register_item i JOIN fl.register_clearing c ON c.idempotency_key = pfx || i.id AND c.item_id = i.id;
  IF prior > 0 THEN
    IF prior <> p_amount OR EXISTS (SELECT 1 FROM fl.register_item i
                                      JOIN fl.register_clearing c ON c.idempotency_key = pfx || i.id AND c.item_id = i.id
                                     WHERE (i.unit, i.book) IS DISTINCT FROM (p_unit, p_book)
                                        OR c.cleared_on IS DISTINCT FROM p_date) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'key %s was already used for a different government payment (%s on %s); nothing was written — '
        'a second payment needs its own key (its document number)',
        p_key, fl.fmt_fen(prior),
        (SELECT min(c.cleared_on) FROM fl.register_item i
           JOIN fl.register_clearing c ON c.idempotency_key = pfx || i.id AND c.item_id = i.id)), 'unique_violation');
    END IF;
    RETURN QUERY SELECT c.item_id, i.fiscal_year, c.amount, c.entry_id, 'duplicate'::text
      FROM fl.register_item i JOIN fl.register_clearing c ON c.idempotency_key = pfx || i.id AND c.item_id = i.id
     ORDER BY c.id;
    RETURN;
  END IF;

  PERFORM 1 FROM fl.register_item i
   WHERE i.kind = 'government_share' AND i.unit = p_unit AND i.book = p_book
   ORDER BY i.id FOR UPDATE;
  SELECT coalesce(sum(i.amount - i.cleared), 0) INTO owed FROM fl.register_item i
   WHERE i.kind = 'government_share' AND i.unit = p_unit AND i.book = p_book;
  IF owed = 0 THEN
    PERFORM fl.refuse('not_found', format('unit %s owes no government share in book %s', p_unit, p_book), 'no_data_found');
  END IF;
  IF p_amount > owed THEN
    PERFORM fl.refuse('register_overpaid', format(
      'unit %s''s government owes %s in book %s; a payment of %s is more than that', p_unit, fl.fmt_fen(owed),
      p_book, fl.fmt_fen(p_amount)));
  END IF;
  FOR it IN SELECT i.* FROM fl.register_item i
             WHERE i.kind = 'government_share' AND i.unit = p_unit AND i.book = p_book AND i.cleared < i.amount
             ORDER BY i.opened_on, i.id LOOP
    EXIT WHEN left_ = 0;
    take := least(left_, it.amount - it.cleared);
    PERFORM fl.clear_register(it.id, take, p_date, pfx || it.id);
    left_ := left_ - take;
    RETURN QUERY SELECT it.id, it.fiscal_year, take,
                        (SELECT c.entry_id FROM fl.register_clearing c WHERE c.idempotency_key = pfx || it.id),
                        'posted'::text;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION fl.government_pay(text, text, bigint, date, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl._prealloc_state(p_year int, p_lines jsonb)
RETURNS TABLE (ord int, unit text, book text, component text, amount bigint, key text, entry_id bigint, held_id bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT l.ord, l.unit, l.book, l.component, l.amount,
         CASE WHEN r.n = 0 THEN l.key ELSE l.key || '#' || r.n END,
         (SELECT e.id FROM fl.entry e
           WHERE e.kind = 'preallocation' AND (e.idempotency_key = l.key OR pg_catalog.split_part(e.idempotency_key, '#', 1) = l.key)
           ORDER BY e.id LIMIT 1),
         (SELECT pe.id FROM fl.pending_entry pe
           WHERE pe.kind = 'preallocation' AND pe.state = 'held'
             AND (pe.idempotency_key = l.key OR pg_catalog.split_part(pe.idempotency_key, '#', 1) = l.key)
           ORDER BY pe.id LIMIT 1)
    FROM fl._prealloc_lines(p_year, p_lines) l
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM fl.pending_entry pe
                         WHERE pe.kind = 'preallocation' AND pe.state = 'rejected'
                           AND (pe.idempotency_key = l.key OR pg_catalog.split_part(pe.idempotency_key, '#', 1) = l.key)) r
$$;
REVOKE ALL ON FUNCTION fl._prealloc_state(int, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.unit_first_day_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  books text[];
  units text[];
  days  date[];
  bad   record;
BEGIN
  -- (0154) No day on a unit's account before the unit joined (fl.unit_joined): the statement's new
  -- day rows only (an account's first posting of a day), each found by its unit's primary key.
  -- (0163, ATTACK19 J2) and none on a unit with no registered joining date at all: since 0154
  -- init registers one with every unit and the migration registered one for each, a unit without
  -- one was registered around init (a raw INSERT INTO fl.unit) and nothing would bound its first day.
  SELECT n.day, a.unit, j.joined_on, n.account_id INTO bad
    FROM new_days n JOIN fl.account a ON a.id = n.account_id
    LEFT JOIN fl.unit_joined j ON j.unit = a.unit
   WHERE j.unit IS NULL OR n.day < j.joined_on
   ORDER BY n.day, a.unit LIMIT 1;
  IF FOUND AND bad.joined_on IS NULL THEN
    PERFORM fl.refuse('before_unit_joined', format(
      '%s posts on unit %s, which has no registered joining date (the day it joined the pooled fund): nothing was '
      'written; register it first — add joined = YYYY-MM-DD to the unit''s [[units]] table in the region file and '
      'run fundledger init --region FILE — then post again', fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p
                                          WHERE p.account_id = bad.account_id AND p.entry_date = bad.day)),
      bad.unit));
  END IF;
  IF FOUND THEN
    PERFORM fl.refuse('before_unit_joined', format(
      '%s posts on unit %s dated %s, before the unit joined the pooled fund on %s (its joining date, registered '
      'with the unit): nothing was written; date it on or after %s — a unit''s first day in the ledger is never '
      'before it joined', fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p
                                          WHERE p.account_id = bad.account_id AND p.entry_date = bad.day)),
      bad.unit, bad.day, bad.joined_on, bad.joined_on));
  END IF;

  -- The statement's new day rows on a fund figure of a book and unit that has no first day yet and
  -- no registered joining date (0157: a registered one is its basis; no row is written for it).
  -- (Nearly always none: the unit has its row since its first posting; nothing more is read.)
  SELECT array_agg(k.book), array_agg(k.unit), array_agg(k.day)
    INTO books, units, days
    FROM (SELECT a.book, a.unit, min(n.day) AS day
            FROM new_days n JOIN fl.account a ON a.id = n.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE fc.kind IN ('net_assets', 'revenue', 'expenditure')
             AND NOT EXISTS (SELECT 1 FROM fl.unit_first_day f WHERE f.book = a.book AND f.unit = a.unit)
             AND NOT EXISTS (SELECT 1 FROM fl.unit_joined j WHERE j.unit = a.unit AND j.source = 'region')
           GROUP BY a.book, a.unit) k;
  IF books IS NULL THEN
    RETURN NULL;
  END IF;
  -- The entry that dated it: the lowest id posting that day on one of the unit's fund figures (the
  -- unit's first: every one of them is this statement's, the unit had no fund figure before).
  INSERT INTO fl.unit_first_day (book, unit, first_day, entry_id)
  SELECT x.book, x.unit, x.day,
         (SELECT min(p.entry_id) FROM fl.posting p
            JOIN fl.account a ON a.id = p.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE p.account_id IN (SELECT n.account_id FROM new_days n WHERE n.day = x.day)
             AND p.entry_date = x.day AND a.book = x.book AND a.unit = x.unit
             AND fc.kind IN ('net_assets', 'revenue', 'expenditure'))
    FROM unnest(books, units, days) AS x(book, unit, day)
   ORDER BY x.book, x.unit
  ON CONFLICT (book, unit) DO NOTHING;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.unit_first_day_record() FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.preallocate(p_year integer, p_date date, p_lines jsonb)
 RETURNS TABLE(unit text, book text, component text, idempotency_key text, entry_id bigint, status text, held_id bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'pre-allocate funds (预拨)');
  bad record;
  es  fl.new_entry[];
  ps  fl.new_posting[];
  st_ord int[]; st_id bigint[]; st_status text[]; st_held bigint[];
BEGIN
  IF p_date IS NULL OR extract(year FROM p_date)::int IS DISTINCT FROM p_year THEN
    PERFORM fl.refuse('preallocation_date', format('the pre-allocation for %s must be dated in %s, not %s',
      p_year, p_year, coalesce(p_date::text, 'no date')));
  END IF;
  IF jsonb_typeof(p_lines) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'expected a list of pre-allocation lines');
  END IF;
  SELECT l.unit, un.kind, l.amount INTO bad
    FROM fl._prealloc_lines(p_year, p_lines) l LEFT JOIN fl.unit un ON un.code = l.unit
   WHERE un.code IS NULL OR un.kind <> 'county' OR l.amount IS NULL OR l.amount <= 0
   LIMIT 1;
  IF FOUND THEN
    IF bad.kind IS NULL THEN
      PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', bad.unit), 'foreign_key_violation');
    ELSIF bad.kind <> 'county' THEN
      PERFORM fl.refuse('preallocation_county_only', format(
        'unit %s is the city itself; pre-allocation (预拨) goes to county units only', bad.unit));
    ELSE
      PERFORM fl.refuse('posting_amount_positive', format(
        'pre-allocation for unit %s: the amount must be positive, got %s', bad.unit, coalesce(bad.amount::text, 'nothing')));
    END IF;
  END IF;
  -- (0163, ATTACK19 J5) No pre-allocation for a county before it joined the pooled fund: held, it
  -- could only be rejected (its confirmation is refused, before_unit_joined) and finance's
  -- confirmation of the city's pre-allocations together with it. fundledger preallocate leaves
  -- such a county out and says when to pre-allocate for it.
  SELECT l.unit, j.joined_on INTO bad
    FROM fl._prealloc_lines(p_year, p_lines) l LEFT JOIN fl.unit_joined j ON j.unit = l.unit
   WHERE j.unit IS NULL OR j.joined_on > p_date
   ORDER BY l.ord LIMIT 1;
  IF FOUND AND bad.joined_on IS NULL THEN
    PERFORM fl.refuse('before_unit_joined', format(
      'the pre-allocation includes unit %s, which has no registered joining date (the day it joined the pooled '
      'fund): nothing was pre-allocated; register it first — add joined = YYYY-MM-DD to the unit''s [[units]] '
      'table in the region file and run fundledger init --region FILE', bad.unit));
  END IF;
  IF FOUND THEN
    PERFORM fl.refuse('before_unit_joined', format(
      'the pre-allocation dated %s includes unit %s, which joins the pooled fund on %s: nothing was '
      'pre-allocated; leave it out (fundledger preallocate does) and pre-allocate for it on or after %s',
      p_date, bad.unit, bad.joined_on, bad.joined_on));
  END IF;
  SELECT l.key, e.id, e.kind, e.created_by INTO bad
    FROM fl._prealloc_lines(p_year, p_lines) l JOIN fl.entry e ON e.idempotency_key = l.key
   WHERE e.kind <> 'preallocation' LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('idempotency_conflict', format(
      'the pre-allocation key %s is held by %s, a %s entry of %s, not a pre-allocation: nothing was pre-allocated; '
      'reverse that entry (fundledger entry reverse) and ask the administrator to look at who posted it',
      bad.key, fl.entry_label(bad.id), bad.kind, bad.created_by), 'unique_violation');
  END IF;

  -- (0027, ATTACK3 R7) The amount is the policy's, not the caller's: at most twelve months of the
  -- county's monthly basis — from the budget in force or from last year's spending, whichever is
  -- larger (the command's --basis and --months 1-12 choose within it) — beyond what its expenditure
  -- account holds now. ¥500,000,000 left the pool for one county in one call before.
  SELECT l.unit, l.book, l.component, l.amount, c.basis, c.held INTO bad
    FROM fl._prealloc_state(p_year, p_lines) l
    CROSS JOIN LATERAL (
      SELECT greatest(
               coalesce((SELECT div(2 * sum(b.amount)::numeric + 12, 24) FROM fl.budget_current b
                          WHERE b.year = p_year AND b.unit = l.unit AND b.book = l.book
                            AND b.component = l.component AND b.kind = 'expenditure'), 0),
               coalesce((SELECT div(2 * greatest(sum(f.net), 0)::numeric + 12, 24)
                           FROM fl.year_flows(l.book, make_date(p_year - 1, 1, 1), make_date(p_year - 1, 12, 31)) f
                          WHERE f.unit = l.unit AND f.component = l.component AND f.kind = 'expenditure'), 0))::bigint AS basis,
             coalesce((SELECT a.balance FROM fl.account a
                        WHERE a.book = l.book AND a.chart_code = '1004' AND a.unit = l.unit AND a.holder = 'county_exp'
                          AND a.component = l.component), 0) AS held) c
   WHERE l.entry_id IS NULL AND l.held_id IS NULL
     AND l.amount > greatest(12 * c.basis - c.held, 0)
   ORDER BY l.ord LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('preallocation_cap', format(
      'pre-allocation for unit %s, book %s%s: %s is more than twelve months of its monthly basis (%s, from the '
      'budget in force or last year''s spending) beyond the %s its expenditure account holds; nothing was '
      'pre-allocated', bad.unit, bad.book, CASE WHEN bad.component <> '' THEN ' ' || bad.component ELSE '' END,
      fl.fmt_fen(bad.amount), fl.fmt_fen(bad.basis), fl.fmt_fen(bad.held)));
  END IF;

  -- (0046, ATTACK3 R7) Held for city finance's confirmation, not posted: 预拨 is a transfer out of
  -- the finance bureau's special account, which finance executes. Lines already pre-allocated
  -- this year (posted, or held and not yet decided) are not held again; after a rejection the
  -- line is held under the next key (prealloc:…#1, #2 …). Each held line records what its cap was
  -- measured against (the budget in force and who imported it, last year's spending, what the
  -- county's expenditure account held), for the confirmer to see.
  SELECT array_agg(ROW(l.ord, l.book, p_date,
                       format('预拨 pre-allocation %s: unit %s%s', p_year, l.unit,
                              CASE WHEN l.component <> '' THEN ' (' || l.component || ')' ELSE '' END),
                       'preallocation', l.key, NULL, '', jsonb_build_object('year', p_year, 'cap', fl._prealloc_basis(p_year, l.unit, l.book, l.component),
                                          -- (0094, ATTACK13 W6) what the basis read, same snapshot
                                          'seen', fl._read_mark()),
                       NULL)::fl.new_entry
                   ORDER BY l.ord)
    INTO es
    FROM fl._prealloc_state(p_year, p_lines) l
   WHERE l.entry_id IS NULL AND l.held_id IS NULL;
  SELECT array_agg(ROW(l.ord, s.pos, l.book, s.code, l.unit, s.holder, l.component, s.side, l.amount, NULL, NULL)::fl.new_posting
                   ORDER BY l.ord, s.pos)
    INTO ps
    FROM fl._prealloc_state(p_year, p_lines) l
    CROSS JOIN (VALUES (1, '1004', 'county_exp', 'D'), (2, '1003', 'special', 'C')) AS s(pos, code, holder, side)
   WHERE l.entry_id IS NULL AND l.held_id IS NULL;
  IF es IS NOT NULL THEN
    SELECT array_agg(x.ord), array_agg(x.entry_id), array_agg(x.status), array_agg(x.held_id)
      INTO st_ord, st_id, st_status, st_held
      FROM fl._hold(u, 'preallocation', es, ps) x;
  END IF;
  RETURN QUERY
    SELECT l.unit, l.book, l.component, l.key, coalesce(p.entry_id, l.entry_id),
           coalesce(p.status, CASE WHEN l.entry_id IS NOT NULL THEN 'duplicate' ELSE 'held' END),
           coalesce(p.held_id, l.held_id)
      FROM fl._prealloc_state(p_year, p_lines) l
      LEFT JOIN unnest(st_ord, st_id, st_status, st_held) AS p(ord, entry_id, status, held_id) ON p.ord = l.ord
     ORDER BY l.ord;
END $$;
REVOKE ALL ON FUNCTION fl.preallocate(integer, date, jsonb) FROM PUBLIC;
