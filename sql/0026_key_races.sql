-- 0026: issue 14's leftovers of the write side (h14).
--
-- 1. Two writers with one key at the same moment. The second waits on the key's unique index
--    and, once the first commits, PostgreSQL raised unique_violation (23505: "duplicate key value
--    violates unique constraint fund_request_idempotency_key_key", import_line_pkey,
--    register_item_reference_key, budget_year_unit_book_version_key, entry_reverses_key,
--    monitor_ack_key) instead of the idempotent answer. The library's door (ledger/store/db.py
--    run_tx) now runs such a transaction again: the function then sees the committed row and
--    answers as if the two had come one after the other (the same request, skipped rows, the
--    same budget version, "already reversed by"). The single-key functions below answer
--    without a retry: they take a transaction lock on their key before they look it up.
-- 2. An import whose entry's key was used for other content (a concurrent import of the same
--    reference, or a key found in the journal but not in the import register) was refused by
--    _post without the file or row: the refusal now names them and what to do.

CREATE OR REPLACE FUNCTION fl._post(p_entries fl.new_entry[], p_postings fl.new_posting[])
RETURNS TABLE(ord integer, entry_id bigint, status text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET search_path = pg_catalog, fl, pg_temp AS $$
-- Few statements on purpose: at one entry per call, each statement's executor start-up
-- costs about as much as its work (docs/benchmarks.md), so checks are fused and every
-- posting's account is resolved once, by position, not re-joined on text keys.
DECLARE
  bad    record;
  acc    int[];    -- account id of each posting, by position in p_postings
  e_ord  int[]; e_id bigint[]; e_status text[]; e_date date[];
  clash  text;
  gone   text;
  src    jsonb;
BEGIN
  -- Shape checks with friendly messages (the table constraints would refuse anyway).
  SELECT e.ord, e.idempotency_key, e.book, e.entry_date, 1 AS n INTO bad
    FROM unnest(p_entries) e
   WHERE e.idempotency_key IS NULL OR e.idempotency_key = '' OR e.entry_date IS NULL
      OR NOT EXISTS (SELECT 1 FROM fl.book b WHERE b.code = e.book)
   LIMIT 1;
  IF NOT FOUND AND cardinality(p_entries) > 1 THEN
    SELECT NULL::int AS ord, e.idempotency_key, NULL::text AS book, NULL::date AS entry_date, count(*) AS n INTO bad
      FROM unnest(p_entries) e GROUP BY e.idempotency_key HAVING count(*) > 1 LIMIT 1;
  END IF;
  IF FOUND THEN
    IF bad.n > 1 THEN
      PERFORM fl.refuse('idempotency_conflict', format('idempotency key %s appears %s times in one batch', bad.idempotency_key, bad.n));
    ELSIF coalesce(bad.idempotency_key, '') = '' THEN
      PERFORM fl.refuse('idempotency_key', format('entry %s has no idempotency key; every write needs one', bad.ord));
    ELSIF bad.entry_date IS NULL THEN
      PERFORM fl.refuse('entry_date', format('entry %s (%s) has no date', bad.ord, bad.idempotency_key));
    ELSE
      PERFORM fl.refuse('account_book', format('entry %s (%s): unknown book ''%s''', bad.ord, bad.idempotency_key, bad.book), 'foreign_key_violation');
    END IF;
  END IF;
  SELECT p.ord, p.pos, p.side, p.amount, p.book, e.book AS ebook, e.idempotency_key INTO bad
    FROM unnest(p_postings) p LEFT JOIN unnest(p_entries) e ON e.ord = p.ord
   WHERE e.ord IS NULL OR p.book IS DISTINCT FROM e.book
      OR p.side IS NULL OR p.side NOT IN ('D','C') OR p.amount IS NULL OR p.amount <= 0 LIMIT 1;
  IF FOUND THEN
    IF bad.ebook IS NULL OR bad.book IS DISTINCT FROM bad.ebook THEN
      PERFORM fl.refuse('posting_book', format('posting %s of entry %s does not belong to that entry''s book', bad.pos, bad.ord));
    ELSIF bad.side IS NULL OR bad.side NOT IN ('D','C') THEN
      PERFORM fl.refuse('posting_side', format('%s, posting %s: side must be debit or credit', bad.idempotency_key, bad.pos));
    ELSE
      PERFORM fl.refuse('posting_amount_positive', format('%s, posting %s: amount must be a positive number of fen, got %s',
        bad.idempotency_key, bad.pos, coalesce(bad.amount::text, 'nothing')));
    END IF;
  END IF;

  -- Each posting's account in one join: the holder defaults where the chart allows
  -- only one for that unit; an account not used before is created by fl.account_for,
  -- which also refuses combinations the chart does not allow (COALESCE calls it only
  -- when the lookup found nothing).
  SELECT array_agg(coalesce(a.id, fl.account_for(p.book, p.chart_code, p.unit, coalesce(p.holder, dh.holder, ''),
                                                  coalesce(p.component, ''))) ORDER BY p.i)
    INTO acc
    FROM unnest(p_postings) WITH ORDINALITY
         AS p(ord, pos, book, chart_code, unit, holder, component, side, amount, line_ref, memo, i)
    LEFT JOIN LATERAL (SELECT CASE WHEN count(*) = 1 THEN min(h.code) END AS holder
                         FROM fl.holder h JOIN fl.unit u ON u.code = p.unit
                        WHERE p.holder IS NULL AND h.chart_code = p.chart_code
                          AND (NOT h.counties_only OR u.kind = 'county')) dh ON true
    LEFT JOIN LATERAL (SELECT a1.id FROM fl.account a1
                        WHERE a1.book = p.book AND a1.chart_code = p.chart_code AND a1.unit = p.unit
                          AND a1.holder = coalesce(p.holder, dh.holder, '') AND a1.component = coalesce(p.component, '')
                       OFFSET 0) a ON true;
  acc := coalesce(acc, '{}');

  -- Content hashes (what a key promises: same key + same hash = the same entry).
  -- Callers that stage many postings per entry may supply their own.
  SELECT array_agg(ROW(e.ord, e.book, e.entry_date, e.memo, e.kind, e.idempotency_key, e.reverses, e.reason, e.source,
                       coalesce(e.content_hash, sha256(convert_to(jsonb_build_object(
                         'book', e.book, 'date', e.entry_date, 'memo', coalesce(e.memo, ''),
                         'kind', coalesce(e.kind, 'manual'), 'reverses', e.reverses,
                         'postings', encode(h.ph, 'hex'))::text, 'UTF8'))))::fl.new_entry)
    INTO p_entries
    FROM unnest(p_entries) e
    LEFT JOIN (SELECT p.ord, sha256(convert_to(jsonb_agg(jsonb_build_array(acc[p.i], p.side, p.amount, p.line_ref)
                                                         ORDER BY p.pos)::text, 'UTF8')) AS ph
                 FROM unnest(p_postings) WITH ORDINALITY
                      AS p(ord, pos, book, chart_code, unit, holder, component, side, amount, line_ref, memo, i)
                GROUP BY p.ord) h ON h.ord = e.ord AND e.content_hash IS NULL;

  -- Insert the new entries in input order. A key already in the journal is a duplicate
  -- (same content: its entry is returned) or a conflict (different content: refused).
  -- Lookups by key are LATERAL … OFFSET 0 index probes: a cached generic plan may
  -- otherwise hash-join the whole journal, a cost that grows with every entry.
  WITH ins AS (
    INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, reverses, reason, source,
                          created_by, created_at, created_xid)
    SELECT e.book, e.entry_date, coalesce(e.memo, ''), coalesce(e.kind, 'manual'), e.idempotency_key, e.content_hash,
           e.reverses, coalesce(e.reason, ''), e.source, session_user, now(), pg_current_xact_id()
      FROM unnest(p_entries) e
     ORDER BY e.ord
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key)
  -- (The four arrays run in parallel: one Agg feeds them the same rows in the same order.)
  SELECT array_agg(e.ord), array_agg(coalesce(ins.id, x.id)),
         array_agg(CASE WHEN ins.id IS NOT NULL THEN 'posted' ELSE 'duplicate' END),
         array_agg(e.entry_date),
         min(e.idempotency_key || chr(1) || x.id) FILTER (WHERE ins.id IS NULL AND x.content_hash <> e.content_hash),
         min(e.idempotency_key) FILTER (WHERE ins.id IS NULL AND x.id IS NULL)
    INTO e_ord, e_id, e_status, e_date, clash, gone
    FROM unnest(p_entries) e
    LEFT JOIN ins ON ins.idempotency_key = e.idempotency_key
    LEFT JOIN LATERAL (SELECT x1.id, x1.content_hash FROM fl.entry x1
                        WHERE x1.idempotency_key = e.idempotency_key OFFSET 0) x ON ins.id IS NULL;
  IF clash IS NOT NULL THEN
    -- An import's entry carries its file and row (or its rows) in its source: the refusal
    -- names them and says what to do, as the import's own row checks do (0026).
    SELECT e.source INTO src FROM unnest(p_entries) e WHERE e.idempotency_key = split_part(clash, chr(1), 1) LIMIT 1;
    IF src ? 'file' AND src ? 'row' THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        '%s, row %s: key %s was already used by %s with different content; nothing was written: '
        'correct the row or give it a new reference',
        src ->> 'file', src ->> 'row', split_part(clash, chr(1), 1),
        fl.entry_label(split_part(clash, chr(1), 2)::bigint)), 'unique_violation');
    ELSIF src ? 'file' THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        '%s: the rows of key %s were already posted as %s with different content; nothing was written: '
        'correct those rows or give them new references',
        src ->> 'file', split_part(clash, chr(1), 1), fl.entry_label(split_part(clash, chr(1), 2)::bigint)),
        'unique_violation');
    END IF;
    PERFORM fl.refuse('idempotency_conflict', format(
      'idempotency key %s was already used by %s with different content; nothing was written',
      split_part(clash, chr(1), 1), fl.entry_label(split_part(clash, chr(1), 2)::bigint)), 'unique_violation');
  END IF;
  IF gone IS NOT NULL THEN
    -- Another transaction committed this key after this statement's snapshot began:
    -- a retry (the store retries serialization failures) sees it as a duplicate.
    PERFORM fl.refuse('idempotency_race', format('idempotency key %s was committed concurrently; retry', gone),
                      'serialization_failure');
  END IF;

  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT st.entry_id, acc[p.i], p.side, p.amount, st.entry_date, p.unit, p.line_ref, p.memo
    FROM unnest(p_postings) WITH ORDINALITY
         AS p(ord, pos, book, chart_code, unit, holder, component, side, amount, line_ref, memo, i)
    JOIN unnest(e_ord, e_id, e_status, e_date) AS st(ord, entry_id, status, entry_date)
      ON st.ord = p.ord AND st.status = 'posted'
   ORDER BY p.ord, p.pos;

  RETURN QUERY SELECT st.ord, st.entry_id, st.status FROM unnest(e_ord, e_id, e_status) AS st(ord, entry_id, status)
                ORDER BY st.ord;
END $$;
