-- 0065 (issue 24): the commit-time bookkeeping without a gate row, and no index entry for the
-- reversal key of an entry that reverses nothing.
--
-- Measured first (bench/history/2026-12-06-commit-hook-without-gate.md, pg_waldump of one
-- posted-at-once entry at rest): 42 WAL records and 3,729 B, of which the gate — the row
-- fl.entry_inserted wrote per INSERT statement on fl.entry so that its deferred constraint
-- trigger would fire the seal at commit, deleted again by the seal — was an insert, a primary-key
-- entry and a delete (218 B), plus a statement in the entry trigger and a CTE in the seal; and
-- fl.entry's UNIQUE (reverses) wrote an index entry for the NULL of every entry that reverses
-- nothing (64 B; all but the reversals).
--
-- 1. The commit hook is the entry's own row: a deferred constraint trigger AFTER INSERT ON
--    fl.entry FOR EACH ROW (named seal_transaction, as the gate's was). Its first event in a
--    transaction seals every entry the transaction wrote and has not sealed or queued (by
--    created_xid, the index fl.entry already had, and NEW.id itself); every later event of the
--    transaction finds its entry sealed or queued by two primary-key probes and returns. What
--    the gate guaranteed still holds, more directly: every inserted entry carries its own event
--    (the row as inserted — entries are never updated or deleted), so nothing can hide an entry
--    from the seal; SET CONSTRAINTS ALL IMMEDIATE still fires it before the postings exist, and
--    it refuses. fl.txn_gate is dropped.
-- 2. UNIQUE (reverses) becomes a unique index of the same name on the entries that reverse
--    something (WHERE reverses IS NOT NULL): the same rule — an entry is reversed at most once,
--    the same 23505 naming entry_reverses_key that ledger/store/db.py retries on — with no
--    index entry for the others.
-- 3. A single entry's commit that takes the chain head and finds the queue empty (the head's
--    select now reads whether anything is queued) writes its voucher counter, its seal and the
--    head in one statement in fl.seal_transaction, not through fl._seal's four; several
--    entries, or a queue to seal first, go through fl._seal as before.
--
-- The functions below are their definitions as migrated (pg_get_functiondef of a database at
-- 0058; 0063, 0064 and 0066 leave them as they were), each changed only where "(0065)" says.

-- fl.entry_inserted(): no gate row
CREATE OR REPLACE FUNCTION fl.entry_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  bad   record;
  first int := coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000);
  last  int := extract(year FROM fl._region_today())::int + 1;
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
  -- (0065) No gate row: each entry's own deferred event (fl.seal_transaction) is the commit hook.
  RETURN NULL;
END $function$;

-- fl._seal(...): no gate row to delete
CREATE OR REPLACE FUNCTION fl._seal(p_gate bigint, p_seq bigint, p_hash bytea, p_ids bigint[], p_books text[], p_years integer[], p_digests bytea[])
 RETURNS integer
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  q_ids   bigint[];
  q_books text[];
  q_years int[];
  q_dig   bytea[];
  n       bigint := p_seq;
  h       bytea := p_hash;
  k       int;
  vno     int;
  seqs    bigint[] := '{}';
  nos     int[] := '{}';
  prevs   bytea[] := '{}';
  hashes  bytea[] := '{}';
  g_book  text[];
  g_year  int[];
  g_next  int[];
BEGIN
  -- (In key order from the primary key, not four ordered aggregates: each of those sets
  -- up a sort of its own on every commit, the queue empty or not.)
  SELECT array_agg(q.entry_id), array_agg(q.book), array_agg(q.fiscal_year), array_agg(q.content_digest)
    INTO q_ids, q_books, q_years, q_dig
    FROM (SELECT * FROM fl.seal_queue q0 ORDER BY q0.entry_id) q;
  IF q_ids IS NOT NULL THEN
    p_ids := q_ids || p_ids; p_books := q_books || p_books; p_years := q_years || p_years;
    p_digests := q_dig || p_digests;
  END IF;
  IF cardinality(p_ids) = 0 THEN
    RETURN 0;
  END IF;

  -- Voucher numbers, gapless per (book, fiscal year); the counters are only ever
  -- written by the holder of the chain head, so they are never waited for.
  WITH c AS (SELECT t.b, t.y, count(*)::int AS k FROM unnest(p_books, p_years) AS t(b, y) GROUP BY 1, 2),
  u AS (INSERT INTO fl.voucher_counter AS vc (book, fiscal_year, last_no)
        SELECT c.b, c.y, c.k FROM c ORDER BY c.b, c.y
        ON CONFLICT (book, fiscal_year) DO UPDATE SET last_no = vc.last_no + EXCLUDED.last_no
        RETURNING vc.book, vc.fiscal_year, vc.last_no)
  SELECT array_agg(u.book), array_agg(u.fiscal_year), array_agg(u.last_no - c.k + 1)
    INTO g_book, g_year, g_next
    FROM u JOIN c ON c.b = u.book AND c.y = u.fiscal_year;

  -- The hash chain, in sealing order.
  FOR i IN 1 .. cardinality(p_ids) LOOP
    k := 1;
    WHILE g_book[k] <> p_books[i] OR g_year[k] <> p_years[i] LOOP
      k := k + 1;
    END LOOP;
    vno := g_next[k];
    g_next[k] := vno + 1;
    n := n + 1;
    seqs := seqs || n; nos := nos || vno; prevs := prevs || h;
    h := sha256(h || p_digests[i] || convert_to(vno::text, 'UTF8'));
    hashes := hashes || h;
  END LOOP;

  -- (0065) No gate row to delete: p_gate is kept in the signature only (NULL from every caller).
  WITH s AS (INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
             SELECT * FROM unnest(p_ids, seqs, p_books, p_years, nos, p_digests, prevs, hashes))
  UPDATE fl.chain_head SET seq = n, hash = h WHERE id;
  -- (A statement of its own: the queue's delete trigger checks each row is now sealed.)
  IF q_ids IS NOT NULL THEN
    DELETE FROM fl.seal_queue WHERE entry_id = ANY (q_ids);
  END IF;
  RETURN cardinality(p_ids);
END $function$;


-- fl.seal_transaction(): the entry's own deferred event
CREATE OR REPLACE FUNCTION fl.seal_transaction()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
 SET "DateStyle" TO 'ISO, YMD'
AS $function$
DECLARE
  bad     record;
  r       record;
  h       bytea;
  n       bigint;
  rev     boolean := false;
  ids     bigint[] := '{}';
  books   text[] := '{}';
  years   int[] := '{}';
  digests bytea[] := '{}';
  queued  boolean;
BEGIN
  -- 0. (0065) The commit hook is each entry's own deferred row event (there is no gate row
  --    any more). The first event of a transaction to fire seals (or queues) every entry the
  --    transaction wrote that is neither sealed nor queued — found by its created_xid, which
  --    fl.entry_stamp sets from the transaction itself, and NEW.id whatever it says. Every
  --    later event finds its own entry sealed or queued: the two probes on NEW.id are the
  --    query's one-time filter, so it reads nothing else and returns before any lock. NEW is
  --    the row as inserted (an entry is never updated or deleted: fl.refuse_change).
  -- 1. Before taking any shared lock, one pass over those entries and their postings: at
  --    least two postings, debits = credits per unit and component, and the content digest
  --    (the canonical text of fl.entry_canonical, computed set-based). LATERAL … OFFSET 0: each entry
  --    and its postings by index, whatever a cached generic plan thinks of table sizes.
  FOR r IN
    SELECT e.id, e.book, extract(year FROM e.entry_date)::int AS y, e.reverses, pc.n,
           ub.unit, ub.component, ub.dr, ub.cr,
           sha256(convert_to(
             concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''),
                       e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))
             || '#' || pc.lines, 'UTF8')) AS digest
      FROM (SELECT x.id
              FROM (SELECT e0.id FROM fl.entry e0 WHERE e0.created_xid = pg_current_xact_id()
                    UNION
                    SELECT NEW.id) x
             WHERE NOT EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = NEW.id)
               AND NOT EXISTS (SELECT 1 FROM fl.seal_queue q WHERE q.entry_id = NEW.id)
               AND NOT EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = x.id)
               AND NOT EXISTS (SELECT 1 FROM fl.seal_queue q WHERE q.entry_id = x.id)) mi
      CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) e
      CROSS JOIN LATERAL (
        SELECT count(*) AS n,
               string_agg(concat_ws(':', a.book, a.chart_code, a.unit, a.holder, a.component,
                                    p.side, p.amount, coalesce(p.line_ref, '')), ';' ORDER BY p.id) AS lines
          FROM fl.posting p CROSS JOIN LATERAL (SELECT * FROM fl.account a0 WHERE a0.id = p.account_id OFFSET 0) a
         WHERE p.entry_id = e.id) pc
      LEFT JOIN LATERAL (
        SELECT a.unit, a.component,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr
          FROM fl.posting p CROSS JOIN LATERAL (SELECT * FROM fl.account a0 WHERE a0.id = p.account_id OFFSET 0) a
         WHERE p.entry_id = e.id
         GROUP BY a.unit, a.component
        HAVING coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0)
            <> coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)
         ORDER BY 1, 2 LIMIT 1) ub ON true
     ORDER BY e.id
  LOOP
    IF r.n < 2 THEN
      PERFORM fl.refuse('entry_min_postings',
        format('%s has %s posting(s); an entry needs at least two', fl.entry_label(r.id), r.n));
    ELSIF r.unit IS NOT NULL THEN
      PERFORM fl.refuse('entry_balanced', format('%s: debits %s ≠ credits %s for unit %s, book %s%s',
        fl.entry_label(r.id), fl.fmt_fen(r.dr), fl.fmt_fen(r.cr),
        r.unit, r.book, CASE WHEN r.component <> '' THEN ', component ' || r.component ELSE '' END));
    END IF;
    rev := rev OR r.reverses IS NOT NULL;
    ids := ids || r.id; books := books || r.book; years := years || r.y; digests := digests || r.digest;
  END LOOP;

  IF cardinality(ids) = 0 THEN
    RETURN NULL;   -- (0065) sealed or queued by an earlier event of this transaction
  END IF;

  -- 2. A reversal mirrors what it reverses: same accounts and amounts, sides swapped.
  IF rev THEN
    SELECT e.id, e.reverses INTO bad
      FROM unnest(ids) AS mi(id) CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) e
     WHERE e.reverses IS NOT NULL
       AND (EXISTS (SELECT account_id, CASE side WHEN 'D' THEN 'C' ELSE 'D' END, amount FROM fl.posting WHERE entry_id = e.reverses
                    EXCEPT ALL SELECT account_id, side, amount FROM fl.posting WHERE entry_id = e.id)
         OR EXISTS (SELECT account_id, side, amount FROM fl.posting WHERE entry_id = e.id
                    EXCEPT ALL SELECT account_id, CASE side WHEN 'D' THEN 'C' ELSE 'D' END, amount FROM fl.posting WHERE entry_id = e.reverses)
         OR (SELECT o.book FROM fl.entry o WHERE o.id = e.reverses) <> e.book)
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('reversal_mirrors', format('%s does not exactly reverse %s',
        fl.entry_label(bad.id), fl.entry_label(bad.reverses)));
    END IF;
  END IF;

  -- 3. The chain head, if it is free. Its holder keeps it until its commit's WAL flush
  --    is done, so waiting for it put every writer behind one flush at a time (8
  --    writers spent 61 % of their time in that wait). A commit that finds it taken
  --    does not wait: it queues its entries, checked and digested, and commits; the
  --    next commit that takes the head (or fl.seal_pending()) seals them first.
  PERFORM fl._contended_mark();   -- (0058) the lock below is marked for the busy-holder guard
  -- (0065) With it, whether anything is queued: a queue row committed after this statement
  -- began is sealed by the next holder or fl.seal_pending(), as one committed just after
  -- fl._seal's own read of the queue always was.
  SELECT ch.seq, ch.hash, EXISTS (SELECT 1 FROM fl.seal_queue) INTO n, h, queued
    FROM fl.chain_head ch WHERE ch.id FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    INSERT INTO fl.seal_queue (entry_id, book, fiscal_year, content_digest)
    SELECT * FROM unnest(ids, books, years, digests);
    RETURN NULL;
  END IF;
  IF queued OR cardinality(ids) > 1 THEN
    PERFORM fl._seal(NULL, n, h, ids, books, years, digests);
    RETURN NULL;
  END IF;
  -- (0065) One entry and an empty queue (a single entry's commit): what fl._seal does, in one
  -- statement — its voucher number (gapless per book and fiscal year), its seal linked to the
  -- head, sha256(prev_hash || content digest || voucher number text), and the head moved.
  WITH v AS (INSERT INTO fl.voucher_counter AS vc (book, fiscal_year, last_no)
             VALUES (books[1], years[1], 1)
             ON CONFLICT (book, fiscal_year) DO UPDATE SET last_no = vc.last_no + 1
             RETURNING vc.last_no),
  s AS (INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
        SELECT ids[1], n + 1, books[1], years[1], v.last_no, digests[1], h,
               sha256(h || digests[1] || convert_to(v.last_no::text, 'UTF8'))
          FROM v
        RETURNING hash)
  UPDATE fl.chain_head SET seq = n + 1, hash = (SELECT s.hash FROM s) WHERE id;
  RETURN NULL;
END $function$;

-- ---------------------------------------------------------------------------
-- The hook moves from the gate to the entry.
-- ---------------------------------------------------------------------------
DROP TRIGGER seal_transaction ON fl.txn_gate;
DROP TABLE fl.txn_gate;
CREATE CONSTRAINT TRIGGER seal_transaction AFTER INSERT ON fl.entry
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fl.seal_transaction();

-- An entry is reversed at most once; entries that reverse nothing are not indexed.
ALTER TABLE fl.entry DROP CONSTRAINT entry_reverses_key;
CREATE UNIQUE INDEX entry_reverses_key ON fl.entry (reverses) WHERE reverses IS NOT NULL;
