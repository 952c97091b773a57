-- 0096 (issue 24): a posted entry's statement trigger on fl.entry in one statement, and its
-- call's day counter and its commit's voucher counter without a lock record each.
--
-- Measured first (bench/history/2026-12-06-write-path-commit.md: valgrind callgrind of the posting
-- backend, pg_stat_statements with track = all, the WAL by pg_current_wal_lsn over 200
-- posted-at-once entries, full_page_writes off): ~6.4 M instructions, 45 SQL statements, 28
-- PL/pgSQL calls, 13 rows written and ~3.8 kB of WAL per entry. Two places do more than their
-- work needs:
--
-- 1. fl.entry_inserted (fl.entry's AFTER INSERT statement trigger) read the first year's setting
--    and the region's today in two statements of its DECLARE, then ran three more after its
--    LOCK: the closed month or date range, the year its book last closed, whether the caller is
--    an officer (and then a fourth, the kinds an officer may not post). Now one statement reads
--    them all after the LOCK (its fresh snapshot sees a close that waited for the lock, as
--    before), each check the query it was, refused in the same order with the same names and
--    words: entry_date_range, period_closed, entry_date_range (a closed year), permission_denied.
-- 2. The voucher counter was written by INSERT … ON CONFLICT DO UPDATE at every commit; the row
--    exists but for a book and year's first voucher, and ON CONFLICT locks it before updating it
--    (a heap lock record per commit besides the update). Now a plain UPDATE, and an INSERT of a
--    missing counter in the same statement, in the single entry's commit (fl.seal_transaction)
--    and in fl._seal: the same numbers. Only the chain head's holder writes the counters, as
--    before, so nothing races between the two (a duplicate would be refused by the primary key).
--
-- 3. The same for the caller's day counter (fl.manual_day, 0073/0078) in fl.post_entries: a plain
--    UPDATE of the day's row, INSERT … ON CONFLICT DO UPDATE (as before) only when the day has
--    none yet, so two first calls of one user still meet in the ON CONFLICT. The same caps, the
--    same refusals.
--
-- What is not done here, and why, is in the hand note (the one row per commit for the heads).
--
-- Every function below starts from its latest migrated definition (read back from a database at
-- 0099 (main's head) by pg_get_functiondef: 0065's for fl.entry_inserted, fl._seal and fl.seal_transaction,
-- 0078's for fl.post_entries, each identical to its file), changed only where
-- "(0096)" says.

CREATE OR REPLACE FUNCTION fl.entry_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  first     int;
  last      int;
  bad_id    bigint;
  bad_date  date;
  bad_month date;
  yc_id     bigint;
  yc_date   date;
  yc_book   text;
  yc_y      int;
  bad_kind  text;
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  -- (0096) The three checks below read in one statement, not five (the first year's setting,
  -- the region's today, the closed month or date range, the closed year, the officer's kinds):
  -- each is the query it was, refused in the same order with the same words.
  SELECT lim.first, lim.last, b1.id, b1.entry_date, b1.month, b2.id, b2.entry_date, b2.book, b2.y, b3.kind
    INTO first, last, bad_id, bad_date, bad_month, yc_id, yc_date, yc_book, yc_y, bad_kind
    FROM (SELECT coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000) AS first,
                 extract(year FROM fl._region_today())::int + 1 AS last
           OFFSET 0) lim   -- (once, not per entry: a pulled-up subquery is evaluated where it is used)
    LEFT JOIN LATERAL (
      SELECT n.id, n.entry_date, c.month
        FROM new_entries n LEFT JOIN fl.closed_period c ON c.month = date_trunc('month', n.entry_date)::date
       WHERE c.month IS NOT NULL OR n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31)
       LIMIT 1) b1 ON true
    -- (0039, ATTACK5 S4) Nothing is dated in a year before the last year its book closed:
    -- that year can never be closed again, and one fen there stopped every later year's close.
    -- A reversal dated in the same year as the entry it reverses is how such an entry is undone.
    LEFT JOIN LATERAL (
      SELECT n.id, n.entry_date, n.book, c.y
        FROM new_entries n
        JOIN (SELECT yc0.book, max(yc0.year) AS y FROM fl.year_close yc0 GROUP BY yc0.book) c ON c.book = n.book
       WHERE n.entry_date < make_date(c.y, 1, 1)
         AND NOT (n.kind = 'reversal' AND EXISTS (SELECT 1 FROM fl.entry r WHERE r.id = n.reverses
                                                    AND date_trunc('year', r.entry_date) = date_trunc('year', n.entry_date)))
       LIMIT 1) b2 ON true
    -- (0039, ATTACK5 S1) An officer posts by hand (manual entries, held when they move money or
    -- touch revenue, expenditure or the fund balance) and imports its unit's payments.
    -- Every other kind — collections and subsidies into the special account, openings,
    -- pre-allocations, disbursements, settlements, interest, closes — is a city role's record,
    -- whichever function or path wrote it.
    LEFT JOIN LATERAL (
      SELECT n.kind
        FROM new_entries n
       WHERE n.kind NOT IN ('manual', 'payments')
         AND EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer')
       LIMIT 1) b3 ON true;
  IF bad_id IS NOT NULL THEN
    IF bad_month IS NULL THEN
      PERFORM fl.refuse('entry_date_range', format(
        'entry dated %s refused: this ledger takes dates from %s (the region''s first handover year) to %s',
        bad_date, first, last));
    END IF;
    PERFORM fl.refuse('period_closed',
      format('entry dated %s refused: the period %s is closed', bad_date, to_char(bad_date, 'YYYY-MM')));
  END IF;
  IF yc_id IS NOT NULL THEN
    PERFORM fl.refuse('entry_date_range', format(
      'entry dated %s refused: book %s closed year %s, and nothing may be dated in a year before it (such a year '
      'can no longer be closed); date it in an open period',
      yc_date, yc_book, yc_y));
  END IF;
  IF bad_kind IS NOT NULL THEN
    PERFORM fl.refuse('permission_denied', format(
      '%s is an officer and may not post %s entries: collections and subsidies, openings and the workflow''s '
      'money are recorded by finance or the bureau (an officer posts manual entries and its unit''s payments)',
      session_user, bad_kind), 'insufficient_privilege');
  END IF;
  -- (0065) No gate row: each entry's own deferred event (fl.seal_transaction) is the commit hook.
  RETURN NULL;
END $function$;

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
  -- (0096) A plain UPDATE of the counters that exist and an INSERT of the others, not INSERT …
  -- ON CONFLICT DO UPDATE (which locked each existing row before updating it: one more WAL
  -- record per counter per commit). Nothing races between the two: see above.
  WITH c AS (SELECT t.b, t.y, count(*)::int AS k FROM unnest(p_books, p_years) AS t(b, y) GROUP BY 1, 2),
  u0 AS (UPDATE fl.voucher_counter vc SET last_no = vc.last_no + c.k
           FROM c WHERE vc.book = c.b AND vc.fiscal_year = c.y
         RETURNING vc.book, vc.fiscal_year, vc.last_no),
  i0 AS (INSERT INTO fl.voucher_counter (book, fiscal_year, last_no)
         SELECT c.b, c.y, c.k FROM c
          WHERE NOT EXISTS (SELECT 1 FROM u0 WHERE u0.book = c.b AND u0.fiscal_year = c.y)
          ORDER BY c.b, c.y
         RETURNING book, fiscal_year, last_no),
  u AS (SELECT u0.book, u0.fiscal_year, u0.last_no FROM u0
        UNION ALL SELECT i0.book, i0.fiscal_year, i0.last_no FROM i0)
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
  -- (0096) The counter by a plain UPDATE: INSERT … ON CONFLICT DO UPDATE locked the existing row
  -- before updating it, one more WAL record per commit. A book and year with no counter yet (its
  -- first voucher) seals nothing here and goes through fl._seal, which inserts it. Only the holder
  -- of the chain head writes the counters, so nothing races.
  WITH v AS (UPDATE fl.voucher_counter vc SET last_no = vc.last_no + 1
              WHERE vc.book = books[1] AND vc.fiscal_year = years[1]
             RETURNING vc.last_no),
  s AS (INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
        SELECT ids[1], n + 1, books[1], years[1], v.last_no, digests[1], h,
               sha256(h || digests[1] || convert_to(v.last_no::text, 'UTF8'))
          FROM v
        RETURNING hash)
  UPDATE fl.chain_head SET seq = n + 1, hash = s.hash FROM s WHERE id;
  IF NOT FOUND THEN
    PERFORM fl._seal(NULL, n, h, ids, books, years, digests);
  END IF;
  RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION fl.post_entries(p_docs jsonb)
 RETURNS TABLE(ord integer, entry_id bigint, status text, held_id bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
 SET lock_timeout TO '5s'
 SET "DateStyle" TO 'ISO, YMD'
 SET work_mem TO '32MB'
AS $function$
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
  np  bigint;   -- (0078) the call's postings, counted once for two bounds
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
  np := coalesce((SELECT sum(CASE WHEN jsonb_typeof(d.doc->'postings') = 'array' THEN jsonb_array_length(d.doc->'postings') ELSE 0 END)
                    FROM jsonb_array_elements(p_docs) d(doc)), 0);
  IF np > 20000 THEN
    PERFORM fl.refuse('post_call_size', format(
      'one call posts at most 20000 postings; this one has %s: split the entries into several files or calls '
      '(all or nothing holds per call)', np), 'program_limit_exceeded');
  END IF;
  -- (0073, ATTACK9 W7) Manual entries per user and region day: 2000 for an officer, 10000 for
  -- the city bureau and city finance. One counter row, incremented and read in one statement.
  -- (0078, ATTACK10 X2) The same row counts the day's postings too, with its own cap: 20000 for
  -- an officer, 100000 for the city (one entry may carry a whole call's 20,000 postings).
  DECLARE
    cap   int := CASE WHEN u.role = 'officer' THEN 2000 ELSE 10000 END;
    pcap  int := CASE WHEN u.role = 'officer' THEN 20000 ELSE 100000 END;
    k     int := jsonb_array_length(p_docs);
    today date := fl._region_today();
    n     int;
    pn    bigint;
  BEGIN
    -- (0096) A plain UPDATE of the day's row; INSERT … ON CONFLICT only for the day's first call.
    -- ON CONFLICT DO UPDATE locked the existing row before updating it: one more WAL record per
    -- call. Two first calls of one user at once still meet in the ON CONFLICT below.
    UPDATE fl.manual_day m SET n = m.n + k, postings = m.postings + np
     WHERE m.user_name = u.name AND m.day = today
    RETURNING m.n, m.postings INTO n, pn;
    IF NOT FOUND THEN
      INSERT INTO fl.manual_day AS m (user_name, day, n, postings) VALUES (u.name, today, k, np)
        ON CONFLICT (user_name, day) DO UPDATE SET n = m.n + EXCLUDED.n, postings = m.postings + EXCLUDED.postings
        RETURNING m.n, m.postings INTO n, pn;
    END IF;
    IF n > cap THEN
      PERFORM fl.refuse('manual_daily_cap', format(
        '%s has already written %s manual entries today (%s, the region''s day; at most %s a day for a %s); this '
        'call''s %s would pass that, and nothing was written. Post them tomorrow (from 00:00 of %s, the region''s '
        'time), or have the city bureau (a reviewer) or city finance post them; imports are not counted',
        u.name, n - k, today, cap, u.role, k, today + 1), 'program_limit_exceeded');
    END IF;
    IF pn > pcap THEN
      PERFORM fl.refuse('manual_daily_cap', format(
        '%s has already written %s postings in manual entries today (%s, the region''s day; at most %s a day for a '
        '%s); this call''s %s postings would pass that, and nothing was written. A manual entry needs a few lines: '
        'post the rest tomorrow (from 00:00 of %s, the region''s time), or have the city bureau (a reviewer) or '
        'city finance post them; imports are not counted',
        u.name, pn - np, today, pcap, u.role, np, today + 1), 'program_limit_exceeded');
    END IF;
  END;
  -- Entries and postings in one statement (one executor start-up, not three), with the first
  -- document that names a kind other than manual, and the entries that move real money. The
  -- caller's key is filed under manual:<caller>: (a key already there is taken as it is).
  -- (0062, ATTACK7 U10) Each document is parsed once: the entries' fields into d, the
  -- postings' fields into p (scalars only), both MATERIALIZED. Before, every posting row
  -- carried its whole entry document into the ordered aggregate's sort: a 2,000-posting
  -- entry of 0.8 MB wrote 1.7 GB of temp files (postings x entry size); now linear.
  WITH d AS MATERIALIZED (
         SELECT x.i::int AS i, x.doc ->> 'book' AS book, x.doc ->> 'date' AS date, x.doc ->> 'memo' AS memo,
                x.doc ->> 'idempotency_key' AS key, x.doc -> 'source' AS source, x.doc ->> 'kind' AS kind,
                x.doc ? 'reverses' AS reverses, coalesce(x.doc -> 'postings', '[]') AS postings
           FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS x(doc, i)),
       p AS MATERIALIZED (
         SELECT d.i, y.j::int AS j, d.book, y.x ->> 'account' AS account, y.x ->> 'unit' AS unit,
                y.x ->> 'holder' AS holder, y.x ->> 'component' AS component, y.x ->> 'side' AS side,
                (y.x ->> 'amount')::bigint AS amount, y.x ->> 'line_ref' AS line_ref, y.x ->> 'memo' AS memo
           FROM d CROSS JOIN LATERAL jsonb_array_elements(d.postings) WITH ORDINALITY AS y(x, j))
  SELECT (SELECT bool_or(d.reverses) FROM d),
         (SELECT array_agg(ROW(d.i, d.book, d.date::date, d.memo, 'manual',
                               CASE WHEN coalesce(d.key, '') = '' THEN NULL
                                    WHEN left(d.key, length(ns)) = ns THEN d.key
                                    ELSE ns || d.key END,
                               NULL, NULL, d.source, NULL)::fl.new_entry ORDER BY d.i) FROM d),
         (SELECT coalesce(array_agg(ROW(p.i, p.j, p.book, p.account, p.unit, p.holder, p.component, p.side, p.amount,
                                        p.line_ref, p.memo)::fl.new_posting ORDER BY p.i, p.j), '{}') FROM p),
         (SELECT d.i::text || chr(1) || d.kind FROM d WHERE coalesce(d.kind, 'manual') <> 'manual' ORDER BY d.i LIMIT 1),
         (SELECT array_agg(DISTINCT p.i) FROM p WHERE fl._held_by_hand(p.account, p.holder)),
         -- (0027, ATTACK3 R18) keys of a source that the ledger writes itself: a caller's
         -- {"held": true} made verify report a second person missing, forever.
         (SELECT d.i::text || chr(1) || k.key
            FROM d, jsonb_object_keys(CASE WHEN jsonb_typeof(d.source) = 'object' THEN d.source ELSE '{}'::jsonb END) AS k(key)
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
END $function$;
