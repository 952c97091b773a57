-- 0078 (ATTACK10 X2): the daily cap on manual writing counts postings as well as entries.
--
-- X2 (MED). 0073 (ATTACK9 W7) bounded a user's manual entries per region day (2,000 for an
-- officer, 10,000 for the city bureau and city finance) by one counter row, fl.manual_day. But
-- an entry is not what grows: 0050's per-call bounds (1,000 entries, 20,000 postings, 8 MB) let
-- all 20,000 postings sit in ONE entry, and 1101/2001 entries post at once (no second person).
-- One officer appended 60,000 net-zero postings in three calls (six seconds) while the counter
-- said 3 of its 2,000: the day's entries could carry 40,000,000 postings per officer, each
-- sealed, chained and re-read by every verify for ever (W7 x5,000).
--
-- Now the same counter row also counts the postings of every manual call (posted at once or
-- held; imports, workflow steps and reversals are not manual and are not counted), with a cap
-- of its own: 20,000 postings a region day for an officer (2,000 entries of ten lines; a county
-- office writes tens of entries of a few lines a day) and 100,000 for the city bureau and city
-- finance. Still one row per user and day, incremented and read by the statement that checks
-- both caps (INSERT ... ON CONFLICT DO UPDATE ... RETURNING): O(1) per call, one user's
-- concurrent calls queue on that row, and a refused call rolls its increment back. The call's
-- postings are counted once (np) for both 0050's per-call bound and this one. The refusal is
-- 0073's code, manual_daily_cap (Chinese first: how many, post the rest tomorrow in the
-- region's time, or have the city bureau or finance post them).
--
-- No bound on postings per manual entry: it would not bound growth (2,000 entries of the
-- bound's size), the day's postings do; and 0050's 20,000-posting entry stays one call's
-- all-or-nothing unit (test_attack7_writes' U10 shapes).
--
-- Rows written before this migration count 0 postings (the column's default): at most one
-- day's allowance more on the day of the upgrade.
--
-- fl.post_entries below is its latest migrated definition (0073's), changed only in the 0050
-- postings bound (np, computed once) and the block marked 0073/0078.

ALTER TABLE fl.manual_day ADD COLUMN postings bigint NOT NULL DEFAULT 0 CHECK (postings >= 0);

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
    INSERT INTO fl.manual_day AS m (user_name, day, n, postings) VALUES (u.name, today, k, np)
      ON CONFLICT (user_name, day) DO UPDATE SET n = m.n + EXCLUDED.n, postings = m.postings + EXCLUDED.postings
      RETURNING m.n, m.postings INTO n, pn;
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
