-- 0094 (ATTACK13 W6): a write that records the inputs it computed from the books also records
-- exactly what it read of them.
--
-- Three writes record inputs the independent verdict re-derives "as the books stood at the
-- write" (ATTACK12 Z1, Z2): an interest allocation's weights (0079), an in-year adjustment-fund
-- allocation's caps and weights (0084), a pre-allocation's basis (0046). Until now the verdict
-- knew the moment only by the clock (a transaction's time is its start), so it widened each
-- figure by every write within WRITE_SLACK (5 minutes) of it, both ways: an import of
-- ¥2,000,000 and its reversal beside a forged allocation were room enough for the forgery (W6).
--
-- Now the statement that computes the inputs also records, in the same snapshot, what that
-- snapshot held of the journal (source key "seen", fl._read_mark()):
--   "seq":    the chain head's position (fl.chain_head.seq);
--   "queued": the entries waiting in fl.seal_queue;
--   "own":    the entries its own transaction wrote before it (none for the CLI's calls);
--   "at":     the clock when it read them.
-- In one snapshot, the entries it saw are exactly those sealed at positions 1..seq and those
-- listed: an entry commits sealed or queued (fl.seal_transaction, at its commit, in its own
-- transaction); the head moves only under its row lock, so every head holder's seals are
-- committed before the next holder's, and a snapshot that sees head value N sees every seal at
-- or below it and none above it; a queued entry's queue row is deleted in the transaction that
-- seals it (then its seal is at or below N), or is still there (then it is listed). No lock is
-- taken: the chain head is read, not held (a read of one row, the queue — empty unless the head
-- was busy — and the own transaction's entries by fl.entry's created_xid index).
--
-- "seen" is part of the entry's source: the posted entry's history version (chained, 0055)
-- holds it, so a DBA who rewrites it afterwards is named by the history check. The verdict
-- (ledger.core.fund_rules) re-derives the inputs of such an entry from exactly the entries
-- at or below the position and those listed — no slack, no widening — and holds the mark
-- itself to the chain and the clock. Entries written before this migration carry no mark and
-- are judged as before (Z1's widening).
--
-- The three writers below are their latest migrated definitions (fl.allocate_interest: 0079;
-- fl.adjfund_allocate: 0084; fl.preallocate: 0046), changed only where "(0094" says, their SET
-- clauses kept.

CREATE FUNCTION fl._read_mark() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  -- STABLE: it reads in the snapshot of the statement that calls it (a volatile function would
  -- take a snapshot of its own), so the mark is what that statement's other reads saw.
  SELECT jsonb_build_object(
    'seq', (SELECT ch.seq FROM fl.chain_head ch WHERE ch.id),
    'queued', coalesce((SELECT jsonb_agg(q.entry_id ORDER BY q.entry_id) FROM fl.seal_queue q), '[]'::jsonb),
    'own', coalesce((SELECT jsonb_agg(e.id ORDER BY e.id) FROM fl.entry e
                      WHERE e.created_xid = pg_current_xact_id_if_assigned()), '[]'::jsonb),
    'at', clock_timestamp())
$$;
REVOKE ALL ON FUNCTION fl._read_mark() FROM PUBLIC;

-- fl.allocate_interest (0079's), the hold's source records what the weights read
CREATE OR REPLACE FUNCTION fl.allocate_interest(p_book text, p_date date, p_key text, p_total bigint, p_start date, p_end date,
                                     p_shares jsonb)
RETURNS TABLE (entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout TO '5s' AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['finance'], 'allocate special-account interest');
  bad record;
  n   int;
  k   text;
BEGIN
  IF jsonb_typeof(p_shares) IS DISTINCT FROM 'array' OR jsonb_array_length(p_shares) = 0 THEN
    PERFORM fl.refuse('bad_document', 'expected a non-empty list of interest shares');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.book b WHERE b.code = p_book) THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF p_total IS NULL OR p_total <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the interest to share must be a positive number of fen');
  END IF;
  IF p_start IS NULL OR p_end IS NULL OR p_date IS NULL OR p_start > p_end OR p_end > p_date THEN
    PERFORM fl.refuse('interest_period', format(
      'the interest period %s … %s must be a range of days ending on or before the entry date %s',
      coalesce(p_start::text, '?'), coalesce(p_end::text, '?'), coalesce(p_date::text, '?')));
  END IF;
  SELECT x->>'unit' AS unit, x->>'amount' AS amount INTO bad
    FROM jsonb_array_elements(p_shares) x
   WHERE jsonb_typeof(x) <> 'object' OR jsonb_typeof(x->'amount') IS DISTINCT FROM 'number'
      OR (x->>'amount')::numeric <> trunc((x->>'amount')::numeric) OR (x->>'amount')::numeric <= 0
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('posting_amount_positive', format('interest share of unit %s must be a positive number of fen',
                                                        coalesce(bad.unit, '?')));
  END IF;
  IF (SELECT sum((x->>'amount')::numeric) FROM jsonb_array_elements(p_shares) x) <> p_total THEN
    PERFORM fl.refuse('interest_shares', format(
      'the interest shares add up to %s, not to the %s the bank paid; nothing was posted',
      fl.fmt_fen((SELECT sum((x->>'amount')::numeric) FROM jsonb_array_elements(p_shares) x)), fl.fmt_fen(p_total)));
  END IF;
  SELECT count(*) INTO n FROM fl.interest_shares(p_book, p_total, p_start, p_end) s WHERE s.share > 0;
  IF n = 0 THEN
    PERFORM fl.refuse('interest_shares', format(
      'no unit held a positive balance in the %s special account over %s … %s; there is nobody to credit interest to',
      p_book, p_start, p_end));
  END IF;
  SELECT coalesce(s.unit, g.unit) AS unit, coalesce(s.component, g.component, '') AS component,
         s.share AS rule, g.amount AS given INTO bad
    FROM (SELECT * FROM fl.interest_shares(p_book, p_total, p_start, p_end) s0 WHERE s0.share > 0) s
    FULL JOIN (SELECT x->>'unit' AS unit, coalesce(x->>'component', '') AS component,
                      sum((x->>'amount')::numeric) AS amount, count(*) AS n
                 FROM jsonb_array_elements(p_shares) x GROUP BY 1, 2) g
      ON g.unit = s.unit AND g.component = s.component
   WHERE s.share IS DISTINCT FROM g.amount OR g.n > 1
   ORDER BY 1, 2 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('interest_shares', format(
      'the interest share of unit %s%s is %s, but the rule (average daily balance %s … %s, largest remainder) '
      'gives %s; nothing was posted (recompute the table: fundledger interest allocate)',
      bad.unit, CASE WHEN bad.component <> '' THEN ' ' || bad.component ELSE '' END,
      coalesce(fl.fmt_fen(bad.given), 'missing'), p_start, p_end, coalesce(fl.fmt_fen(bad.rule), 'nothing')));
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'an interest allocation needs an idempotency key');
  END IF;
  k := CASE WHEN p_key LIKE 'interest:%' THEN p_key ELSE 'interest:' || p_key END;
  -- Held for a second person (0017): finance allocates, the bureau or another finance user confirms.
  RETURN QUERY SELECT x.entry_id, x.status, x.held_id FROM fl._hold(u, 'interest',
    ARRAY[ROW(1, p_book, p_date, format('专户利息 special-account interest %s, %s', p_book, p_date),
              'interest', k, NULL, '',
              jsonb_build_object('shares', p_shares, 'from', p_start, 'to', p_end,
                                 -- (0079) what the shares were computed from: the total and each
                                 -- unit[/component]'s sum of end-of-day balances (positive only)
                                 'total', p_total,
                                 -- (0094, ATTACK13 W6) what it read: the chain position, the queued
                                 -- entries and its own transaction's, in this statement's snapshot
                                 'seen', fl._read_mark(),
                                 'weights', (SELECT jsonb_object_agg(s.unit || CASE WHEN s.component <> ''
                                                                                   THEN '/' || s.component ELSE '' END,
                                                                     s.weight ORDER BY s.unit, s.component)
                                               FROM fl.interest_shares(p_book, p_total, p_start, p_end) s
                                              WHERE s.weight > 0)), NULL)::fl.new_entry],
    (SELECT array_agg(ROW(1, (2 * s.i - 2 + l.pos)::int, p_book, CASE l.pos WHEN 1 THEN '1003' ELSE '4201' END,
                          s.x->>'unit', CASE l.pos WHEN 1 THEN 'special' ELSE '' END,
                          coalesce(s.x->>'component', ''), CASE l.pos WHEN 1 THEN 'D' ELSE 'C' END,
                          (s.x->>'amount')::bigint, NULL, NULL)::fl.new_posting ORDER BY s.i, l.pos)
       FROM jsonb_array_elements(p_shares) WITH ORDINALITY AS s(x, i) CROSS JOIN (VALUES (1), (2)) AS l(pos))) x;
END $$;

-- fl.adjfund_allocate (0084's), the in-year entries' source records what the caps read
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

-- fl.preallocate (0046's), each held line's source records what its basis read
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
