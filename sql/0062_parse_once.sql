-- 0062 (ATTACK7 U10): one fl.post_entries call inside 0050's bounds (1,000 entries, 20,000
-- postings, 8 MB) wrote GBs of temp files: the statement that reads the document sorted every
-- posting row together with its whole entry document (the ordered aggregate's sort), so the
-- cost was postings x entry size — 2,000 postings of a 0.8 MB entry: 17 s and 1.7 GB, 5,000:
-- past the 4 GB temp_file_limit. Any officer could fill the server's disk, ten connections at a
-- time. Each document is now parsed once into MATERIALIZED CTEs keyed by the entry's ordinal
-- (the entries' fields, then the postings' scalar fields) and only those are sorted: linear.
-- The call's sorts of at most 8 MB of document run in memory (work_mem 32 MB, as the imports
-- pin theirs), so a call at the bounds writes no temp file at all.
-- fl.post_opening (the reviewer's city opening) read its document the same way and is fixed
-- the same way. The other functions that take a caller's jsonb read one level (import_statement,
-- allocate_interest, budget_adjust, plan_import's rows per group, close_year's recordset) or no
-- list at all (record_matches, preallocate): none sorts a row carrying its whole document.

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

CREATE OR REPLACE FUNCTION fl.post_opening(p_docs jsonb)
 RETURNS TABLE(ord integer, entry_id bigint, status text, held_id bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
 SET "DateStyle" TO 'ISO, YMD'
 SET work_mem TO '32MB'
AS $function$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'post the city proper''s opening balance');
  es  fl.new_entry[];
  ps  fl.new_posting[];
  bad record;
BEGIN
  IF jsonb_typeof(p_docs) = 'object' THEN p_docs := jsonb_build_array(p_docs); END IF;
  IF jsonb_typeof(p_docs) IS DISTINCT FROM 'array' OR jsonb_array_length(p_docs) = 0 THEN
    PERFORM fl.refuse('bad_document', 'expected an opening-balance entry object or a list of them');
  END IF;
  SELECT d.i, d.doc ->> 'kind' AS kind INTO bad FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i)
   WHERE coalesce(d.doc ->> 'kind', 'opening') <> 'opening' OR d.doc ? 'reverses' LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('workflow_kind', format('entry %s: an opening balance is kind opening and reverses nothing', bad.i),
      'insufficient_privilege');
  END IF;
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
  SELECT (SELECT array_agg(ROW(d.i, d.book, d.date::date,
                               coalesce(nullif(d.memo, ''), '期初余额 audited opening balance of the city proper'),
                               'opening',
                               format('opening-city:%s:%s', d.book, coalesce(nullif(d.key, ''), 'audited')),
                               NULL, NULL, d.source, NULL)::fl.new_entry ORDER BY d.i) FROM d),
         (SELECT coalesce(array_agg(ROW(p.i, p.j, p.book, p.account, p.unit, p.holder, p.component, p.side, p.amount,
                                        p.line_ref, p.memo)::fl.new_posting ORDER BY p.i, p.j), '{}') FROM p)
    INTO es, ps;
  SELECT p.ord, p.unit INTO bad FROM unnest(ps) p LEFT JOIN fl.unit un ON un.code = p.unit
   WHERE un.kind IS DISTINCT FROM 'city' LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('opening_city_only', format(
      'entry %s: unit %s is not the city proper; a county''s opening balances come from its handover audit '
      '(fundledger handover open)', bad.ord, coalesce(bad.unit, 'none')));
  END IF;
  -- Once per book and component: an opening already posted, or held and not rejected.
  SELECT e.ord, e.book, coalesce(p.component, '') AS component, x.what INTO bad
    FROM unnest(es) e JOIN unnest(ps) p ON p.ord = e.ord
    CROSS JOIN LATERAL (
      SELECT fl.entry_label(q.entry_id) AS what FROM fl.posting q JOIN fl.entry oe ON oe.id = q.entry_id
        JOIN fl.account a ON a.id = q.account_id
       WHERE oe.kind = 'opening' AND oe.book = e.book AND a.unit = p.unit AND a.component = coalesce(p.component, '')
         AND oe.idempotency_key <> e.idempotency_key
         AND NOT EXISTS (SELECT 1 FROM fl.entry rv WHERE rv.reverses = oe.id)
      UNION ALL
      SELECT 'held entry ' || pe.id FROM fl.pending_entry pe JOIN fl.pending_posting pp ON pp.pending_id = pe.id
        JOIN fl.account a ON a.id = pp.account_id
       WHERE pe.kind = 'opening' AND pe.state = 'held' AND pe.book = e.book AND a.unit = p.unit
         AND a.component = coalesce(p.component, '') AND pe.idempotency_key <> e.idempotency_key
      LIMIT 1) x
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('opening_once', format(
      'entry %s: the city proper''s opening balance of book %s%s is already recorded (%s); correct it by a reversal',
      bad.ord, bad.book, CASE WHEN bad.component <> '' THEN ' (' || bad.component || ')' ELSE '' END, bad.what),
      'unique_violation');
  END IF;
  RETURN QUERY SELECT h.ord, h.entry_id, h.status, h.held_id FROM fl._hold(u, 'opening', es, ps) h;
END $function$;
