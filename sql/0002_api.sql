-- fundledger API functions, migration 0002.
--
-- Application roles own no tables and hold no INSERT/UPDATE/DELETE privilege on
-- them: every write is one of these SECURITY DEFINER functions, which check the
-- caller (session_user, as authenticated by PostgreSQL) against fl.app_user first.

-- ---------------------------------------------------------------------------
-- Who is calling.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.caller() RETURNS fl.app_user
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
DECLARE u fl.app_user;
BEGIN
  SELECT * INTO u FROM fl.app_user WHERE name = session_user;
  IF NOT FOUND THEN
    PERFORM fl.refuse('permission_denied',
      format('%s is not a fundledger user; an admin adds users with `fundledger user add`', session_user),
      'insufficient_privilege');
  END IF;
  RETURN u;
END $$;

CREATE FUNCTION fl.require_role(p_roles text[], p_action text) RETURNS fl.app_user
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
DECLARE u fl.app_user := fl.caller();
BEGIN
  IF NOT u.role = ANY (p_roles) THEN
    PERFORM fl.refuse('permission_denied',
      format('%s (role %s) may not %s; that needs the %s role', u.name, u.role, p_action,
             array_to_string(p_roles, ' or ')), 'insufficient_privilege');
  END IF;
  RETURN u;
END $$;

-- The unit an officer is bound to; NULL for city roles who see every unit.
CREATE FUNCTION fl.my_unit() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
  SELECT unit FROM fl.app_user WHERE name = session_user
$$;

CREATE FUNCTION fl.sees_unit(p_unit text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
  SELECT EXISTS (SELECT 1 FROM fl.app_user u
                  WHERE u.name = session_user AND (u.unit IS NULL OR u.unit = p_unit))
$$;

-- ---------------------------------------------------------------------------
-- The one inserter. Every write of entries — one manual entry, a reversal, a
-- million-line import (in chunks) — goes through fl._post(entries[], postings[]):
-- it resolves accounts, applies idempotency and inserts set-based. Arrays of
-- composite values rather than temp tables: creating a temp table writes the
-- catalog (~2 ms), which would dominate a single entry's latency.
-- ---------------------------------------------------------------------------
CREATE TYPE fl.new_entry AS (
  ord int, book text, entry_date date, memo text, kind text, idempotency_key text,
  reverses bigint, reason text, source jsonb, content_hash bytea
);
CREATE TYPE fl.new_posting AS (
  ord int, pos int, book text, chart_code text, unit text, holder text, component text,
  side text, amount bigint, line_ref text, memo text
);

CREATE FUNCTION fl._post(p_entries fl.new_entry[], p_postings fl.new_posting[])
RETURNS TABLE (ord int, entry_id bigint, status text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
-- Few statements on purpose: at one entry per call, each statement's executor start-up
-- costs about as much as its work (docs/benchmarks.md), so checks are fused and every
-- posting's account is resolved once, by position, not re-joined on text keys.
DECLARE
  bad    record;
  acc    int[];    -- account id of each posting, by position in p_postings
  e_ord  int[]; e_id bigint[]; e_status text[]; e_date date[];
  clash  text;
  gone   text;
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

-- Officers may only write for their own unit.
CREATE FUNCTION fl._check_units(u fl.app_user, p_postings fl.new_posting[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE other text;
BEGIN
  IF u.role = 'officer' THEN
    SELECT p.unit INTO other FROM unnest(p_postings) p WHERE p.unit IS DISTINCT FROM u.unit LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may not post for unit %s',
        u.name, u.unit, other), 'insufficient_privilege');
    END IF;
  END IF;
END $$;

-- Entry documents (jsonb: one object or an array). Keys: date, book, memo, kind,
-- idempotency_key, source, postings[]: account (chart code), unit, holder, component,
-- side ('D'/'C'), amount (integer fen), line_ref, memo.
CREATE FUNCTION fl.post_entries(p_docs jsonb) RETURNS TABLE (ord int, entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'post entries');
  es fl.new_entry[];
  ps fl.new_posting[];
  reverses boolean;
BEGIN
  IF jsonb_typeof(p_docs) = 'object' THEN p_docs := jsonb_build_array(p_docs); END IF;
  IF jsonb_typeof(p_docs) IS DISTINCT FROM 'array' THEN
    PERFORM fl.refuse('bad_document', 'expected an entry object or a list of entries');
  END IF;
  -- Entries and postings in one statement (one executor start-up, not three).
  SELECT (SELECT bool_or(d.doc ? 'reverses') FROM jsonb_array_elements(p_docs) d(doc)),
         (SELECT array_agg(ROW(d.i, d.doc->>'book', (d.doc->>'date')::date, d.doc->>'memo', d.doc->>'kind',
                               d.doc->>'idempotency_key', NULL, NULL, d.doc->'source', NULL)::fl.new_entry ORDER BY d.i)
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i)),
         (SELECT coalesce(array_agg(ROW(d.i, p.j, d.doc->>'book', p.x->>'account', p.x->>'unit', p.x->>'holder',
                               p.x->>'component', p.x->>'side', (p.x->>'amount')::bigint, p.x->>'line_ref',
                               p.x->>'memo')::fl.new_posting ORDER BY d.i, p.j), '{}')
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i),
                 jsonb_array_elements(coalesce(d.doc->'postings', '[]')) WITH ORDINALITY AS p(x, j))
    INTO reverses, es, ps;
  IF reverses THEN
    PERFORM fl.refuse('bad_document', 'reversals are posted with fl.reverse_entry (fundledger entry reverse)');
  END IF;
  PERFORM fl._check_units(u, ps);
  RETURN QUERY SELECT * FROM fl._post(es, ps);
END $$;

-- 红字冲销: post the mirror of an entry (same accounts and amounts, sides swapped),
-- pointing back at it. An entry is reversed at most once (UNIQUE on reverses).
CREATE FUNCTION fl.reverse_entry(p_entry bigint, p_reason text, p_date date, p_key text)
RETURNS TABLE (ord int, entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer','finance'], 'reverse entries');
  o fl.entry;
  prior bigint;
BEGIN
  SELECT * INTO o FROM fl.entry WHERE id = p_entry;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no entry %s', p_entry), 'no_data_found');
  END IF;
  IF coalesce(trim(p_reason), '') = '' THEN
    PERFORM fl.refuse('reversal_reason', 'a reversal needs a reason');
  END IF;
  SELECT id INTO prior FROM fl.entry WHERE reverses = p_entry;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM fl.entry WHERE id = prior AND idempotency_key = p_key) THEN
    PERFORM fl.refuse('reversed_once', format('%s was already reversed by %s', fl.entry_label(p_entry), fl.entry_label(prior)),
      'unique_violation');
  END IF;
  RETURN QUERY SELECT * FROM fl._post(
    ARRAY[ROW(1, o.book, coalesce(p_date, current_date),
              '红字冲销 reversal of ' || fl.entry_label(p_entry) || ': ' || p_reason,
              'reversal', p_key, p_entry, p_reason, jsonb_build_object('reverses', p_entry), NULL)::fl.new_entry],
    (SELECT array_agg(ROW(1, p.rn, a.book, a.chart_code, a.unit, a.holder, a.component,
                          CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, p.line_ref, p.memo)::fl.new_posting
                      ORDER BY p.rn)
       FROM (SELECT q.*, row_number() OVER (ORDER BY q.id)::int AS rn FROM fl.posting q WHERE q.entry_id = p_entry) p
       JOIN fl.account a ON a.id = p.account_id));
END $$;

-- ---------------------------------------------------------------------------
-- Periods.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.close_period(p_month date, p_reason text DEFAULT '') RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
DECLARE u fl.app_user := fl.require_role(ARRAY['reviewer'], 'close periods');
BEGIN
  IF extract(day FROM p_month) <> 1 THEN
    PERFORM fl.refuse('closed_period_month', 'a period is a month: give its first day');
  END IF;
  -- Serialise with writers: an entry in flight for this month either commits before
  -- the close or is refused after it.
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
  INSERT INTO fl.closed_period (month, reason) VALUES (p_month, coalesce(p_reason, '')) ON CONFLICT DO NOTHING;
  RETURN FOUND;
END $$;

-- ---------------------------------------------------------------------------
-- Users and reference data (admin / migration-time).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.add_user(p_name text, p_role text, p_unit text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl AS $$
DECLARE
  me fl.app_user;
BEGIN
  -- The database owner (or a superuser) bootstraps users; otherwise only admins add them.
  IF NOT (SELECT rolsuper OR pg_has_role(session_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'fl'), 'USAGE')
            FROM pg_roles WHERE rolname = session_user) THEN
    me := fl.require_role(ARRAY['admin'], 'add users');
  END IF;
  IF p_role NOT IN ('officer','reviewer','finance','auditor','admin') THEN
    PERFORM fl.refuse('bad_role', format('unknown role ''%s'' (officer, reviewer, finance, auditor, admin)', p_role));
  END IF;
  IF p_role = 'officer' AND p_unit IS NULL THEN
    PERFORM fl.refuse('officer_has_unit', 'an officer is bound to one unit: give --unit');
  END IF;
  IF p_role <> 'officer' AND p_unit IS NOT NULL THEN
    PERFORM fl.refuse('officer_has_unit', format('only officers are bound to a unit; a %s acts for the whole city', p_role));
  END IF;
  IF p_unit IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fl.unit WHERE code = p_unit) THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  END IF;
  IF EXISTS (SELECT 1 FROM fl.app_user WHERE name = p_name) THEN
    PERFORM fl.refuse('user_exists', format('user %s already exists', p_name), 'unique_violation');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN', p_name);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- roles are cluster-wide: another database (or a racing init) made it
    END;
  END IF;
  EXECUTE format('GRANT %I TO %I', 'fl_' || p_role, p_name);
  INSERT INTO fl.app_user (name, role, unit) VALUES (p_name, p_role, p_unit);
END $$;

-- ---------------------------------------------------------------------------
-- Seal what is queued (fl.seal_queue: entries that committed while another commit held
-- the chain head), waiting for the head if it is held. The library calls this after
-- each write command, so a burst of concurrent writers leaves nothing queued; a
-- commit that finds the head free seals the queue anyway. Returns how many it sealed.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.seal_pending() RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  h bytea;
  n bigint;
BEGIN
  PERFORM fl.require_role(ARRAY['officer','reviewer','finance','admin'], 'seal queued entries');
  IF NOT EXISTS (SELECT 1 FROM fl.seal_queue) THEN
    RETURN 0;
  END IF;
  SELECT ch.seq, ch.hash INTO n, h FROM fl.chain_head ch WHERE ch.id FOR UPDATE;
  RETURN fl._seal(NULL, n, h, '{}', '{}', '{}', '{}');
END $$;

-- ---------------------------------------------------------------------------
-- Privileges: group roles read (row security narrows officers) and execute the API.
-- ---------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA fl FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA fl FROM PUBLIC;
GRANT USAGE ON SCHEMA fl TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
GRANT SELECT ON fl.setting, fl.unit, fl.book, fl.chart, fl.holder, fl.closed_period, fl.app_user
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
GRANT SELECT ON fl.entry, fl.posting, fl.account, fl.account_day, fl.bank_account, fl.seal,
  fl.seal_queue, fl.voucher_counter, fl.chain_head TO fl_officer, fl_reviewer, fl_finance, fl_auditor;
GRANT EXECUTE ON FUNCTION fl.caller(), fl.my_unit(), fl.sees_unit(text), fl.fmt_fen(numeric), fl.entry_label(bigint),
  fl.entry_canonical(bigint) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
-- Every group may call the API; each function checks the caller's role itself and
-- says in words what that role may not do.
GRANT EXECUTE ON FUNCTION fl.post_entries(jsonb), fl.reverse_entry(bigint, text, date, text),
  fl.close_period(date, text), fl.add_user(text, text, text), fl.seal_pending()
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- Row-level security: officers read only their own unit's rows. (Owners bypass it;
-- the SECURITY DEFINER functions filter for themselves.)
GRANT SELECT ON fl.alembic_version TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

ALTER TABLE fl.posting ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.account ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.account_day ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.entry ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.seal ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.seal_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.bank_account ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.posting FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
CREATE POLICY unit_rows ON fl.account FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
CREATE POLICY unit_rows ON fl.account_day FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.account a WHERE a.id = account_id AND a.unit = (SELECT fl.my_unit())));
CREATE POLICY unit_rows ON fl.entry FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = id AND p.unit = (SELECT fl.my_unit())));
CREATE POLICY unit_rows ON fl.seal FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = seal.entry_id AND p.unit = (SELECT fl.my_unit())));
CREATE POLICY unit_rows ON fl.seal_queue FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = seal_queue.entry_id AND p.unit = (SELECT fl.my_unit())));
CREATE POLICY unit_rows ON fl.bank_account FOR SELECT USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
