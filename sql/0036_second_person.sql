-- 0036: issue 14, the remaining one-person acts on the year's figures (ATTACK3 R4's addendum) and
-- on the pool (R7's remainder). Each part says what it closes; docs/security.md says what is left.


-- ---------------------------------------------------------------------------
-- R4's addendum (ATTACK3): a reviewer or finance posted a manual entry on revenue, expenditure
-- or fund balance (3xxx-5xxx, the inputs of the year-end rule that decides who pays a deficit)
-- for any unit alone, and reversed a year-close entry alone. Every role's manual entry on
-- 3xxx-5xxx is now held for a second person (as an officer's was since 0027), and so is every
-- reversal of a workflow entry or of an entry on 3xxx-5xxx (fl._decider: a held reversal is
-- confirmed by a reviewer or finance other than its maker). What still posts at once: an
-- entry on 1101/1201/2001/2101 alone (a reclassification between receivables and payables).
-- post_entries is 0027's, reverse_entry 0017's, each but for the lines marked 0030.
-- ---------------------------------------------------------------------------
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
           WHERE fl._real_money(p.x->>'account', p.x->>'holder')
              -- (0027, ATTACK3 R4; 0030 for every role) revenue, expenditure and fund-balance
              -- figures are the year-end rule's inputs (who pays a deficit): a second person
              -- confirms them, whoever makes the entry.
              OR left(p.x->>'account', 1) IN ('3', '4', '5')),
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
                 WHERE fl._real_money(p.chart_code, p.holder) OR left(p.chart_code, 1) IN ('3', '4', '5')) THEN
    RETURN QUERY SELECT h.ord, h.entry_id, h.status, h.held_id FROM fl._hold(u, 'reversal', es, ps) h;
  ELSE
    RETURN QUERY SELECT r.ord, r.entry_id, r.status, NULL::bigint FROM fl._post(es, ps) r;
  END IF;
END $$;

-- The policy in words (0017's, with the rows of 0027 and 0036).
CREATE OR REPLACE FUNCTION fl.manual_policy() RETURNS TABLE (role text, rule text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  VALUES
    ('officer', 'posts by hand only for its own unit'),
    ('officer', 'never credits (moves money out of) the special account 1003, the city expenditure account '
                '(1004 city_exp) or the treasury account 1005'),
    ('officer', 'confirms or rejects only another officer''s held entry of its own unit'),
    ('reviewer', 'posts by hand for any unit; confirms any held entry it did not make'),
    ('reviewer', 'posts the city proper''s audited opening balance (opening post); reverses entries'),
    ('finance', 'posts by hand for any unit; confirms any held entry it did not make; reverses entries'),
    ('auditor', 'posts nothing'),
    ('admin', 'posts nothing'),
    ('any', 'an entry posted by hand is always kind manual; its key is filed under manual:<user>:'),
    ('any', 'a manual entry, reversal, interest allocation or opening balance that moves real money '
            '(1001-1005 or an account with a holder) is held until a different user confirms it'),
    ('any', 'a manual entry on revenue, expenditure or fund balance (3xxx-5xxx, the year-end rule''s inputs), '
            'and a reversal of a workflow entry (a year-end close, an import, a pre-allocation, a request''s '
            'step) or of an entry on 3xxx-5xxx, is held until a different user confirms it, whoever makes it'),
    ('any', 'a unit''s share of the city expenditure account (1004 city_exp) and of the treasury (1005) never '
            'goes below zero, whoever posts')
$$;

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
