-- 0050 (ATTACK6 T6, T16, T7): what one call may leave behind, cost, and post alone.

-- ---------------------------------------------------------------------------
-- T6: fl.close_year_lock (0040) took the close's table locks (SHARE ROW EXCLUSIVE on
-- fl.year_close and fl.closed_period) in the caller's transaction and returned. A reviewer who
-- then stayed idle in that transaction (its idle timeout set to 0) stopped every posting writer
-- of the ledger, and the stuck-writer guard did not see it (LOCK TABLE assigns no xid). Rule: no
-- API leaves a lock behind after its call returns. The close now computes its table itself,
-- under its own locks, in one call: fl.close_year_from_books(year, date) takes the locks,
-- computes the shortfall table from fl.year_figures_v3 by the rule (BRIEF §5, the across-years
-- rule with the adjustment fund: the same the three-argument fl.close_year checks a table
-- against) and closes with it (its own name: the sweep reads functions by name, no overloads).
-- No writer commits a posting between the table and the close (0040's reason for the lock);
-- the lock-only function is gone. The guard (0050_db) also ends an idle holder of any lock
-- stronger than ROW EXCLUSIVE on a table of fl, with or without an xid.
-- ---------------------------------------------------------------------------
DROP FUNCTION fl.close_year_lock(int);

CREATE FUNCTION fl.close_year_from_books(p_year int, p_date date)
RETURNS TABLE (book text, entries integer, government_items integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
  res jsonb;
BEGIN
  LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
  SELECT coalesce(jsonb_object_agg(b.code, t.rows_), '{}'::jsonb) INTO res
    FROM fl.book b
    CROSS JOIN LATERAL (
      SELECT coalesce(jsonb_agg(jsonb_build_object(
               'unit', f.unit, 'book', f.book, 'revenue', f.revenue, 'expenditure', f.expenditure,
               'current_balance', r.cur, 'surplus_before', f.surplus_before, 'covered_by_surplus', r.cov,
               'government_share', r.gov, 'surplus_after', r.aft,
               'revenue_on_books', f.revenue + f.share_receipts + f.adjustment_receipts,
               'share_receipts', f.share_receipts, 'surplus_before_on_books', f.surplus_before - f.outstanding_before,
               'outstanding_before', f.outstanding_before,
               'outstanding_after', f.outstanding_before - f.share_receipts + r.gov,
               'surplus_after_on_books', r.aft - (f.outstanding_before - f.share_receipts + r.gov),
               'adjustment_receipts', f.adjustment_receipts, 'covered_by_adjustment_fund', r.fund)
             ORDER BY f.unit), '[]'::jsonb) AS rows_
        FROM fl.year_figures_v3(p_year, b.code) f
        CROSS JOIN LATERAL (SELECT f.revenue - f.expenditure AS cur,
                                   greatest(f.expenditure - f.revenue, 0) AS gap) g
        CROSS JOIN LATERAL (SELECT least(g.gap, greatest(f.surplus_before, 0)) AS cov) c
        CROSS JOIN LATERAL (SELECT least(g.gap - c.cov, f.adjustment_receipts) AS fund) a
        CROSS JOIN LATERAL (SELECT g.cur AS cur, c.cov AS cov, a.fund AS fund, g.gap - c.cov - a.fund AS gov,
                                   f.surplus_before + g.cur + f.adjustment_receipts + (g.gap - c.cov - a.fund) AS aft) r
    ) t;
  RETURN QUERY SELECT x.book, x.entries, x.government_items FROM fl.close_year(p_year, p_date, res) x;
END $$;
REVOKE ALL ON FUNCTION fl.close_year_from_books(int, date) FROM PUBLIC;
-- Every role may call it (as the three-argument close): fl.require_role refuses the others by name.
GRANT EXECUTE ON FUNCTION fl.close_year_from_books(int, date) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- ---------------------------------------------------------------------------
-- T7: an officer posted entries of 10^15 fen on 1201 (bond investment) / 2101 (borrowing) at
-- once, alone: 0036 let every entry on 1101/1201/2001/2101 post at once as a reclassification.
-- Buying bonds and borrowing move money (BRIEF §2: 1201 债券投资, 2101 借入款项): an entry by
-- hand on either is held for a second person, whoever makes it, like one on real money or on
-- the year-end rule's inputs (3xxx-5xxx). Only temporary payments and receipts (1101/2001) post
-- at once. fl._held_by_hand is the one rule post_entries and reverse_entry apply.
-- T16: one post_entries call of 5,000 held entries with 2 KB memos ran > 10 minutes: fl._hold
-- scanned the whole postings array several times per entry. A call is bounded (1,000 entries,
-- 20,000 postings, 8 MB: the CLI sends a file per call, the bench's largest is 100 entries of
-- 100 postings), fl._hold is set-based (each check one pass over the postings, grouped by
-- entry), and a maker has at most 2,000 held entries open.
-- post_entries and reverse_entry are 0036's, manual_policy 0051's with two rows more, each but
-- for the lines marked 0050.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._held_by_hand(p_chart text, p_holder text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT fl._real_money(p_chart, p_holder)
      -- (0027, ATTACK3 R4; 0030 for every role) revenue, expenditure and fund-balance figures
      -- are the year-end rule's inputs (who pays a deficit).
      OR pg_catalog.left(p_chart, 1) IN ('3', '4', '5')
      -- (0050, ATTACK6 T7) bonds bought and money borrowed.
      OR pg_catalog.split_part(p_chart, '.', 1) IN ('1201', '2101')
$$;
REVOKE ALL ON FUNCTION fl._held_by_hand(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.post_entries(p_docs jsonb)
 RETURNS TABLE(ord integer, entry_id bigint, status text, held_id bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'post entries');
  ns  text := 'manual:' || u.name || ':';
  es  fl.new_entry[];
  ps  fl.new_posting[];
  reverses boolean;
  kind_bad text;
  money int[];
  src_bad text;
BEGIN
  IF jsonb_typeof(p_docs) = 'object' THEN p_docs := jsonb_build_array(p_docs); END IF;
  IF jsonb_typeof(p_docs) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'expected an entry object or a list of entries');
  END IF;
  -- (0050, ATTACK6 T16) What one call may cost is bounded here, not by the caller's own
  -- statement_timeout (its to switch off): entries, postings and bytes per call.
  IF pg_column_size(p_docs) > 8388608 THEN
    PERFORM fl.refuse('post_call_size', format(
      'one call posts at most 8 MB of entries; this one is %s bytes: split the entries into several files or calls '
      '(all or nothing holds per call)', pg_column_size(p_docs)), 'program_limit_exceeded');
  END IF;
  IF jsonb_array_length(p_docs) > 1000 THEN
    PERFORM fl.refuse('post_call_size', format(
      'one call posts at most 1000 entries; this one has %s: split the entries into several files or calls '
      '(all or nothing holds per call)', jsonb_array_length(p_docs)), 'program_limit_exceeded');
  END IF;
  IF (SELECT sum(CASE WHEN jsonb_typeof(d.doc->'postings') = 'array' THEN jsonb_array_length(d.doc->'postings') ELSE 0 END)
        FROM jsonb_array_elements(p_docs) d(doc)) > 20000 THEN
    PERFORM fl.refuse('post_call_size', format(
      'one call posts at most 20000 postings; this one has %s: split the entries into several files or calls '
      '(all or nothing holds per call)',
      (SELECT sum(CASE WHEN jsonb_typeof(d.doc->'postings') = 'array' THEN jsonb_array_length(d.doc->'postings') ELSE 0 END)
         FROM jsonb_array_elements(p_docs) d(doc))), 'program_limit_exceeded');
  END IF;
  -- Entries and postings in one statement (one executor start-up, not three), with the first
  -- document that names a kind other than manual, and the entries that move real money. The
  -- caller's key is filed under manual:<caller>: (a key already there is taken as it is).
  SELECT (SELECT bool_or(d.doc ? 'reverses') FROM jsonb_array_elements(p_docs) d(doc)),
         (SELECT array_agg(ROW(d.i, d.doc->>'book', (d.doc->>'date')::date, d.doc->>'memo', 'manual',
                               CASE WHEN coalesce(d.doc->>'idempotency_key', '') = '' THEN NULL
                                    WHEN left(d.doc->>'idempotency_key', length(ns)) = ns THEN d.doc->>'idempotency_key'
                                    ELSE ns || (d.doc->>'idempotency_key') END,
                               NULL, NULL, d.doc->'source', NULL)::fl.new_entry ORDER BY d.i)
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i)),
         (SELECT coalesce(array_agg(ROW(d.i, p.j, d.doc->>'book', p.x->>'account', p.x->>'unit', p.x->>'holder',
                               p.x->>'component', p.x->>'side', (p.x->>'amount')::bigint, p.x->>'line_ref',
                               p.x->>'memo')::fl.new_posting ORDER BY d.i, p.j), '{}')
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i),
                 jsonb_array_elements(coalesce(d.doc->'postings', '[]')) WITH ORDINALITY AS p(x, j)),
         (SELECT d.i::text || chr(1) || (d.doc ->> 'kind') FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i)
           WHERE coalesce(d.doc ->> 'kind', 'manual') <> 'manual' ORDER BY d.i LIMIT 1),
         (SELECT array_agg(DISTINCT d.i::int)
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i),
                 jsonb_array_elements(coalesce(d.doc->'postings', '[]')) AS p(x)
           WHERE fl._held_by_hand(p.x->>'account', p.x->>'holder')),
         -- (0027, ATTACK3 R18) keys of a source that the ledger writes itself: a caller's
         -- {"held": true} made verify report a second person missing, forever.
         (SELECT d.i::text || chr(1) || k.key
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i),
                 jsonb_object_keys(CASE WHEN jsonb_typeof(d.doc->'source') = 'object' THEN d.doc->'source'
                                        ELSE '{}'::jsonb END) AS k(key)
           WHERE k.key = ANY (ARRAY['held', 'made_by', 'confirmed_by', 'request', 'import_batch', 'file', 'row',
                                    'reverses', 'register_item', 'entry_id', 'batch_id'])
           ORDER BY d.i LIMIT 1)
    INTO reverses, es, ps, kind_bad, money, src_bad;
  IF kind_bad IS NOT NULL THEN
    PERFORM fl.refuse('workflow_kind', format(
      'entry %s: kind ''%s'' is set only by the command that performs it (%s); an entry posted by hand is always '
      'manual: leave kind out', split_part(kind_bad, chr(1), 1), split_part(kind_bad, chr(1), 2),
      coalesce(fl._kind_command(split_part(kind_bad, chr(1), 2)), 'no such kind')), 'insufficient_privilege');
  END IF;
  IF reverses THEN
    PERFORM fl.refuse('bad_document', 'reversals are posted with fl.reverse_entry (fundledger entry reverse)');
  END IF;
  IF src_bad IS NOT NULL THEN
    PERFORM fl.refuse('source_reserved', format(
      'entry %s: its source may not carry ''%s'': the ledger writes that key itself (who made and confirmed a held '
      'entry, its request, an import''s file and row); give your own notes other names',
      split_part(src_bad, chr(1), 1), split_part(src_bad, chr(1), 2)), 'insufficient_privilege');
  END IF;
  IF u.role = 'officer' THEN
    PERFORM fl._check_units(u, ps);
    PERFORM fl._manual_policy(u, ps);
  END IF;
  IF money IS NULL THEN
    RETURN QUERY SELECT r.ord, r.entry_id, r.status, NULL::bigint FROM fl._post(es, ps) r;
    RETURN;
  END IF;
  -- Entries that move no real money post at once; the others are held (in input order, the
  -- direct ones first: both are written in this transaction, all or nothing).
  IF EXISTS (SELECT 1 FROM unnest(es) e WHERE NOT e.ord = ANY (money)) THEN
    RETURN QUERY SELECT r.ord, r.entry_id, r.status, NULL::bigint
      FROM fl._post((SELECT array_agg(e ORDER BY e.ord) FROM unnest(es) e WHERE NOT e.ord = ANY (money)),
                    (SELECT coalesce(array_agg(p ORDER BY p.ord, p.pos), '{}') FROM unnest(ps) p
                      WHERE NOT p.ord = ANY (money))) r;
  END IF;
  -- (0050, ATTACK6 T16) A maker's open held entries are bounded: each waits for a second person.
  IF (SELECT count(*) FROM fl.pending_entry pe WHERE pe.made_by = u.name AND pe.state = 'held')
     + cardinality(money) > 2000 THEN
    PERFORM fl.refuse('held_open_cap', format(
      '%s already has %s held entries waiting for a second person (at most 2000 open per user): have them confirmed '
      'or rejected (fundledger entry held) before holding more', u.name,
      (SELECT count(*) FROM fl.pending_entry pe WHERE pe.made_by = u.name AND pe.state = 'held')),
      'program_limit_exceeded');
  END IF;
  RETURN QUERY SELECT h.ord, h.entry_id, h.status, h.held_id
    FROM fl._hold(u, 'manual', (SELECT array_agg(e ORDER BY e.ord) FROM unnest(es) e WHERE e.ord = ANY (money)),
                  (SELECT array_agg(p ORDER BY p.ord, p.pos) FROM unnest(ps) p WHERE p.ord = ANY (money))) h;
END $$;

CREATE OR REPLACE FUNCTION fl.reverse_entry(p_entry bigint, p_reason text, p_date date, p_key text)
RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer','finance'], 'reverse entries');
  ns    text := 'reversal:' || u.name || ':';
  k     text;
  o     fl.entry;
  prior bigint;
  es    fl.new_entry[];
  ps    fl.new_posting[];
BEGIN
  SELECT * INTO o FROM fl.entry x WHERE x.id = p_entry;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no entry %s', p_entry), 'no_data_found');
  END IF;
  IF coalesce(trim(p_reason), '') = '' THEN
    PERFORM fl.refuse('reversal_reason', 'a reversal needs a reason');
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a reversal needs an idempotency key');
  END IF;
  k := CASE WHEN left(p_key, length(ns)) = ns THEN p_key ELSE ns || p_key END;
  SELECT x.id INTO prior FROM fl.entry x WHERE x.reverses = p_entry;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM fl.entry x WHERE x.id = prior AND x.idempotency_key = k) THEN
    PERFORM fl.refuse('reversed_once', format('%s was already reversed by %s', fl.entry_label(p_entry), fl.entry_label(prior)),
      'unique_violation');
  END IF;
  SELECT pe.id INTO prior FROM fl.pending_entry pe
   WHERE pe.reverses = p_entry AND pe.state = 'held' AND pe.idempotency_key <> k;
  IF FOUND THEN
    PERFORM fl.refuse('reversed_once', format(
      'a reversal of %s is already held (held entry %s): confirm or reject that one', fl.entry_label(p_entry), prior),
      'unique_violation');
  END IF;
  es := ARRAY[ROW(1, o.book, coalesce(p_date, current_date),
                  '红字冲销 reversal of ' || fl.entry_label(p_entry) || ': ' || p_reason,
                  'reversal', k, p_entry, p_reason, jsonb_build_object('reverses', p_entry), NULL)::fl.new_entry];
  SELECT array_agg(ROW(1, p.rn, a.book, a.chart_code, a.unit, a.holder, a.component,
                       CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, p.line_ref, p.memo)::fl.new_posting
                   ORDER BY p.rn)
    INTO ps
    FROM (SELECT q.*, row_number() OVER (ORDER BY q.id)::int AS rn FROM fl.posting q WHERE q.entry_id = p_entry) p
    JOIN fl.account a ON a.id = p.account_id;
  -- (0030) Held for a second person: a reversal that moves real money, one on revenue,
  -- expenditure or fund balance (the year-end rule's inputs), and any reversal of a workflow
  -- entry (a year-end close, a pre-allocation, an import, a settlement: each had its own steps).
  IF o.kind <> 'manual'
     OR EXISTS (SELECT 1 FROM unnest(ps) p
                 WHERE fl._held_by_hand(p.chart_code, p.holder)) THEN
    RETURN QUERY SELECT h.ord, h.entry_id, h.status, h.held_id FROM fl._hold(u, 'reversal', es, ps) h;
  ELSE
    RETURN QUERY SELECT r.ord, r.entry_id, r.status, NULL::bigint FROM fl._post(es, ps) r;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION fl.manual_policy() RETURNS TABLE (role text, rule text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  VALUES
    ('officer', 'posts by hand only for its own unit'),
    ('officer', 'never credits (moves money out of) the special account 1003, the city expenditure account '
                '(1004 city_exp) or the treasury account 1005'),
    ('officer', 'confirms or rejects only another officer''s held entry of its own unit'),
    ('reviewer', 'posts by hand for any unit; confirms any held entry it did not make, but a pre-allocation'),
    ('reviewer', 'posts the city proper''s audited opening balance (opening post); reverses entries'),
    ('reviewer', 'pre-allocates (held until a finance user confirms it); clears unpaid provider claims (held until '
                 'city finance or a second reviewer confirms it)'),
    ('finance', 'posts by hand for any unit; confirms any held entry it did not make; reverses entries'),
    ('finance', 'clears fiscal arrears, employer arrears and local-government shares (money arriving in the special '
                'account) at once, like a collection import'),
    ('auditor', 'posts nothing'),
    ('admin', 'posts nothing'),
    ('any', 'an entry posted by hand is always kind manual; its key is filed under manual:<user>:'),
    ('any', 'a manual entry, reversal, interest allocation or city opening balance (opening post) that moves real '
            'money (1001-1005 or an account with a holder) is held until a different user confirms it'),
    ('any', 'a clearing of unpaid provider claims (register clear: Dr 5001.other / Cr 1004 county expenditure account, '
            'money out of a county''s bank account) is held until city finance or a second reviewer confirms it; '
            'the clearing counts against the item only when confirmed'),
    ('any', 'a county''s audited opening balances (handover open) are not held: they post on the reviewer''s word'),
    ('any', 'a pre-allocation (preallocate: Dr 1004 county expenditure / Cr 1003 special) is held until a finance user '
            'confirms it'),
    ('any', 'a manual entry on bond investment (1201) or borrowing (2101) is held until a different user '
            'confirms it, whoever makes it: buying bonds and borrowing move money; only temporary payments and '
            'receipts (1101/2001) post at once'),
    ('any', 'one call posts at most 1000 entries, 20000 postings and 8 MB; a user has at most 2000 held entries '
            'waiting for a second person'),
    ('any', 'a manual entry on revenue, expenditure or fund balance (3xxx-5xxx, the year-end rule''s inputs), '
            'and a reversal of a workflow entry (a year-end close, an import, a pre-allocation, a request''s '
            'step) or of an entry on 3xxx-5xxx, is held until a different user confirms it, whoever makes it'),
    ('any', 'a unit''s share of the city expenditure account (1004 city_exp) and of the treasury (1005) never '
            'goes below zero, whoever posts')
$$;

-- fl._hold, set-based (0017's checks, messages and content hash unchanged): the entries' own
-- checks per entry (no postings read), every postings check one pass over the array grouped by
-- entry, the accounts resolved once, the held lines written in one statement.
CREATE OR REPLACE FUNCTION fl._hold(u fl.app_user, p_kind text, p_entries fl.new_entry[], p_postings fl.new_posting[])
RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  e     record;
  bad   record;
  acc   int[];
  prior fl.pending_entry;
  hid   bigint;
  n_ord int[] := '{}';
  n_id  bigint[] := '{}';
  first int := coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000);
  last  int := extract(year FROM current_date)::int + 1;
BEGIN
  -- The entries' own checks, in input order.
  FOR e IN SELECT x.ord, x.book, x.entry_date, x.idempotency_key FROM unnest(p_entries) x ORDER BY x.ord LOOP
    IF coalesce(e.idempotency_key, '') = '' THEN
      PERFORM fl.refuse('idempotency_key', format('entry %s has no idempotency key; every write needs one', e.ord));
    END IF;
    IF e.entry_date IS NULL THEN
      PERFORM fl.refuse('entry_date', format('entry %s (%s) has no date', e.ord, e.idempotency_key));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM fl.book b WHERE b.code = e.book) THEN
      PERFORM fl.refuse('account_book', format('entry %s (%s): unknown book ''%s''', e.ord, e.idempotency_key, e.book),
                        'foreign_key_violation');
    END IF;
    IF e.entry_date < make_date(first, 1, 1) OR e.entry_date > make_date(last, 12, 31) THEN
      PERFORM fl.refuse('entry_date_range', format(
        'entry dated %s refused: this ledger takes dates from %s (the region''s first handover year) to %s',
        e.entry_date, first, last));
    END IF;
    IF EXISTS (SELECT 1 FROM fl.closed_period c WHERE c.month = date_trunc('month', e.entry_date)::date) THEN
      PERFORM fl.refuse('period_closed',
        format('entry dated %s refused: the period %s is closed', e.entry_date, to_char(e.entry_date, 'YYYY-MM')));
    END IF;
  END LOOP;

  -- The postings' checks: one pass each, the first entry (then posting) that fails.
  SELECT p.pos, p.side, p.amount, p.book, x.ord, x.book AS ebook, x.idempotency_key INTO bad
    FROM unnest(p_postings) p JOIN unnest(p_entries) x ON x.ord = p.ord
   WHERE p.book IS DISTINCT FROM x.book OR p.side IS NULL OR p.side NOT IN ('D', 'C')
      OR p.amount IS NULL OR p.amount <= 0 OR p.amount > 1000000000000000
   ORDER BY x.ord, p.pos LIMIT 1;
  IF FOUND THEN
    IF bad.book IS DISTINCT FROM bad.ebook THEN
      PERFORM fl.refuse('posting_book', format('posting %s of entry %s does not belong to that entry''s book', bad.pos, bad.ord));
    ELSIF bad.side IS NULL OR bad.side NOT IN ('D', 'C') THEN
      PERFORM fl.refuse('posting_side', format('%s, posting %s: side must be debit or credit', bad.idempotency_key, bad.pos));
    ELSIF bad.amount > 1000000000000000 THEN
      PERFORM fl.refuse('posting_amount_cap', format('%s, posting %s: %s is more than one posting may hold',
        bad.idempotency_key, bad.pos, fl.fmt_fen(bad.amount)));
    ELSE
      PERFORM fl.refuse('posting_amount_positive', format('%s, posting %s: amount must be a positive number of fen, got %s',
        bad.idempotency_key, bad.pos, coalesce(bad.amount::text, 'nothing')));
    END IF;
  END IF;
  SELECT x.idempotency_key, coalesce(n.n, 0) AS n INTO bad
    FROM unnest(p_entries) x
    LEFT JOIN (SELECT p.ord, count(*) AS n FROM unnest(p_postings) p GROUP BY p.ord) n ON n.ord = x.ord
   WHERE coalesce(n.n, 0) < 2 ORDER BY x.ord LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('entry_min_postings', format('%s has %s posting(s); an entry needs at least two',
      bad.idempotency_key, bad.n));
  END IF;
  SELECT x.idempotency_key, x.book, g.unit, g.component, g.dr, g.cr INTO bad
    FROM (SELECT p.ord, p.unit, coalesce(p.component, '') AS component,
                 coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
                 coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr
            FROM unnest(p_postings) p GROUP BY 1, 2, 3) g
    JOIN unnest(p_entries) x ON x.ord = g.ord
   WHERE g.dr <> g.cr ORDER BY x.ord, g.unit, g.component LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('entry_balanced', format('%s: debits %s ≠ credits %s for unit %s, book %s%s',
      bad.idempotency_key, fl.fmt_fen(bad.dr), fl.fmt_fen(bad.cr), bad.unit, bad.book,
      CASE WHEN bad.component <> '' THEN ', component ' || bad.component ELSE '' END));
  END IF;

  -- The accounts, resolved as fl._post resolves them (the default holder where the chart
  -- allows one; an account not used before is created, or the combination refused), in the
  -- order of p_postings.
  SELECT array_agg(coalesce(a.id, fl.account_for(p.book, p.chart_code, p.unit, coalesce(p.holder, dh.holder, ''),
                                                  coalesce(p.component, ''))) ORDER BY p.k)
    INTO acc
    FROM unnest(p_postings) WITH ORDINALITY AS p(ord, pos, book, chart_code, unit, holder, component, side, amount,
                                                line_ref, memo, k)
    LEFT JOIN LATERAL (SELECT CASE WHEN count(*) = 1 THEN min(hh.code) END AS holder
                         FROM fl.holder hh JOIN fl.unit un ON un.code = p.unit
                        WHERE p.holder IS NULL AND hh.chart_code = p.chart_code
                          AND (NOT hh.counties_only OR un.kind = 'county')) dh ON true
    LEFT JOIN LATERAL (SELECT a1.id FROM fl.account a1
                        WHERE a1.book = p.book AND a1.chart_code = p.chart_code AND a1.unit = p.unit
                          AND a1.holder = coalesce(p.holder, dh.holder, '') AND a1.component = coalesce(p.component, '')
                       OFFSET 0) a ON true;

  -- Per entry, its content hash (0017's, unchanged) and units: the key new, the same document
  -- again, or a conflict named.
  FOR e IN SELECT x.*, g.units,
                  sha256(convert_to(jsonb_build_object(
                    'book', x.book, 'date', x.entry_date, 'memo', coalesce(x.memo, ''), 'kind', p_kind,
                    'reverses', x.reverses, 'postings', g.lines)::text, 'UTF8')) AS h
             FROM unnest(p_entries) x
             JOIN (SELECT p.ord, jsonb_agg(jsonb_build_array(acc[p.k], p.side, p.amount, p.line_ref) ORDER BY p.pos) AS lines,
                          array_agg(DISTINCT p.unit ORDER BY p.unit) AS units
                     FROM unnest(p_postings) WITH ORDINALITY AS p(ord, pos, book, chart_code, unit, holder, component,
                                                                  side, amount, line_ref, memo, k)
                    GROUP BY p.ord) g ON g.ord = x.ord
            ORDER BY x.ord LOOP
    SELECT * INTO prior FROM fl.pending_entry pe WHERE pe.idempotency_key = e.idempotency_key FOR UPDATE;
    IF FOUND THEN
      IF prior.content_hash <> e.h OR prior.kind <> p_kind OR prior.made_by <> u.name THEN
        PERFORM fl.refuse('idempotency_conflict', format(
          'idempotency key %s already holds held entry %s (%s by %s, %s) with different content; nothing was written',
          e.idempotency_key, prior.id, prior.kind, prior.made_by, prior.state), 'unique_violation');
      END IF;
      IF prior.state = 'rejected' THEN
        PERFORM fl.refuse('held_rejected', format(
          'idempotency key %s was held as entry %s and rejected by %s (%s); post it again under a new key',
          e.idempotency_key, prior.id, prior.decided_by, prior.decision_reason));
      END IF;
      ord := e.ord; entry_id := prior.entry_id; held_id := prior.id;
      status := CASE prior.state WHEN 'confirmed' THEN 'duplicate' ELSE 'held' END;
      RETURN NEXT;
      CONTINUE;
    END IF;
    SELECT x.id, x.kind, x.created_by INTO bad FROM fl.entry x WHERE x.idempotency_key = e.idempotency_key;
    IF FOUND THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by %s (%s by %s); nothing was written',
        e.idempotency_key, fl.entry_label(bad.id), bad.kind, bad.created_by), 'unique_violation');
    END IF;

    INSERT INTO fl.pending_entry (kind, book, entry_date, memo, idempotency_key, content_hash, reverses, reason, source,
                                  units, maker_role, maker_unit)
    VALUES (p_kind, e.book, e.entry_date, coalesce(e.memo, ''), e.idempotency_key, e.h, e.reverses, coalesce(e.reason, ''),
            e.source, e.units, u.role, u.unit)
    RETURNING id INTO hid;
    n_ord := n_ord || e.ord;
    n_id := n_id || hid;
    ord := e.ord; entry_id := NULL; status := 'held'; held_id := hid;
    RETURN NEXT;
  END LOOP;

  -- The held lines of every new held entry, in one statement (numbered 1.. per entry in pos order).
  INSERT INTO fl.pending_posting (pending_id, pos, account_id, unit, side, amount, line_ref, memo)
  SELECT m.hid, row_number() OVER (PARTITION BY p.ord ORDER BY p.pos)::int, acc[p.k], p.unit, p.side, p.amount,
         p.line_ref, p.memo
    FROM unnest(p_postings) WITH ORDINALITY AS p(ord, pos, book, chart_code, unit, holder, component, side, amount,
                                                line_ref, memo, k)
    JOIN unnest(n_ord, n_id) AS m(ord, hid) ON m.ord = p.ord
   ORDER BY m.hid, p.pos;
END $$;

-- Waiters never hang (0027): the functions this migration redefined get their lock_timeout back.
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
