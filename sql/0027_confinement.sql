-- 0027: issue 14's write side after the third attack (/work/coord/ATTACK3.md) and ATTACK2's B4 (the
-- rows) and B1b (h14). Each part says what it closes; docs/security.md says what is left.

-- ---------------------------------------------------------------------------
-- R4: an officer alone took ¥300,000,000 off its unit's benefit expenditure with a made-up
-- counter-entry (Cr 5001 / Dr 2001): nothing held it, as it touched no bank account. Revenue,
-- expenditure and fund balance (3xxx, 4xxx, 5xxx) are the inputs of the year-end rule (who pays a
-- deficit): an officer's manual entry on any of them is held for a second person, like one that
-- moves real money.
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
              -- (0027, ATTACK3 R4) an officer's revenue, expenditure or fund-balance figures are
              -- the year-end rule's inputs (who pays a deficit): a second person confirms them.
              OR (u.role = 'officer' AND left(p.x->>'account', 1) IN ('3', '4', '5'))),
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


-- ---------------------------------------------------------------------------
-- R7: one reviewer moved ¥500,000,000 from the pool to one county in one call: fl.preallocate took
-- the amounts from the caller. The database now caps each line by the policy's own figures.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fl.preallocate(p_year integer, p_date date, p_lines jsonb)
 RETURNS TABLE(unit text, book text, component text, idempotency_key text, entry_id bigint, status text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'pre-allocate funds (预拨)');
  bad record;
  es  fl.new_entry[];
  ps  fl.new_posting[];
  st_ord int[]; st_id bigint[]; st_status text[];
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
    FROM fl._prealloc_lines(p_year, p_lines) l
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
   WHERE NOT EXISTS (SELECT 1 FROM fl.entry e WHERE e.idempotency_key = l.key)
     AND l.amount > greatest(12 * c.basis - c.held, 0)
   ORDER BY l.ord LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('preallocation_cap', format(
      'pre-allocation for unit %s, book %s%s: %s is more than twelve months of its monthly basis (%s, from the '
      'budget in force or last year''s spending) beyond the %s its expenditure account holds; nothing was '
      'pre-allocated', bad.unit, bad.book, CASE WHEN bad.component <> '' THEN ' ' || bad.component ELSE '' END,
      fl.fmt_fen(bad.amount), fl.fmt_fen(bad.basis), fl.fmt_fen(bad.held)));
  END IF;

  -- Lines already pre-allocated this year (their key holds a pre-allocation) are not posted again.
  SELECT array_agg(ROW(l.ord, l.book, p_date,
                       format('预拨 pre-allocation %s: unit %s%s', p_year, l.unit,
                              CASE WHEN l.component <> '' THEN ' (' || l.component || ')' ELSE '' END),
                       'preallocation', l.key, NULL, '', jsonb_build_object('year', p_year), NULL)::fl.new_entry
                   ORDER BY l.ord)
    INTO es
    FROM fl._prealloc_lines(p_year, p_lines) l
   WHERE NOT EXISTS (SELECT 1 FROM fl.entry e WHERE e.idempotency_key = l.key);
  SELECT array_agg(ROW(l.ord, s.pos, l.book, s.code, l.unit, s.holder, l.component, s.side, l.amount, NULL, NULL)::fl.new_posting
                   ORDER BY l.ord, s.pos)
    INTO ps
    FROM fl._prealloc_lines(p_year, p_lines) l
    CROSS JOIN (VALUES (1, '1004', 'county_exp', 'D'), (2, '1003', 'special', 'C')) AS s(pos, code, holder, side)
   WHERE NOT EXISTS (SELECT 1 FROM fl.entry e WHERE e.idempotency_key = l.key);
  IF es IS NOT NULL THEN
    SELECT array_agg(x.ord), array_agg(x.entry_id), array_agg(x.status) INTO st_ord, st_id, st_status
      FROM fl._post(es, ps) x;
  END IF;
  RETURN QUERY
    SELECT l.unit, l.book, l.component, l.key, coalesce(p.entry_id, e.id), coalesce(p.status, 'duplicate')
      FROM fl._prealloc_lines(p_year, p_lines) l
      LEFT JOIN unnest(st_ord, st_id, st_status) AS p(ord, entry_id, status) ON p.ord = l.ord
      LEFT JOIN fl.entry e ON e.idempotency_key = l.key
     ORDER BY l.ord;
END $$;

-- ---------------------------------------------------------------------------
-- ATTACK2 B4, the rows (issue 14 item 6): a session that keeps its transaction open after a call
-- keeps the rows that call locked: an officer's collection import or confirmation locks the pooled
-- special account's bank row, which every collection and payout of the nine offices needs; a writer
-- that seals early (SET CONSTRAINTS ALL IMMEDIATE fires the deferred seal) holds the journal's chain
-- head, which every command waits for after its commit (fl.seal_pending). The user may SET
-- lock_timeout, idle_in_transaction_session_timeout and transaction_timeout to 0 in its own
-- session, so none of them, set per role, holds the attacker. What is bounded here:
--  * the waiters: every API function runs with lock_timeout = 5s (a function's own SET wins over
--    the session's while it runs): a caller queued behind a held row gets "the records are locked
--    by another user's work just now … run the command again" within seconds, never a hang, and no
--    queue builds up behind a stuck session;
--  * fl.seal_pending waits at most 2 s for the chain head: the entries stay queued (the next commit
--    that takes the head seals them), the command returns;
--  * the holder: fl.end_stuck_writers() ends fundledger sessions whose write transaction on the
--    ledger's tables has been open 10 s or more and that are idle in it (for 2 s or more) or asleep
--    in pg_sleep — a fundledger command never is: it commits as soon as its call returns, and an
--    import is busy, not idle. The library calls it when a write times out on a lock, then runs the
--    write again; seal_pending calls it when the head is held. It ends only sessions of fundledger
--    logins in this database, never a superuser's, and records each in the server log (WARNING).
-- What is not bounded: a session that keeps a statement running while it holds the rows (a slow
-- query of its own) or pings more often than every 2 s stays until the operator ends it
-- (docs/security.md, "Locks past a call").
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.end_stuck_writers() RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF pg_catalog.to_regprocedure('fl_guard.end_stuck_writers(interval,interval)') IS NULL THEN
    RETURN 0;                                   -- no guard on this server (0027_db needs a superuser)
  END IF;
  RETURN fl_guard.end_stuck_writers(interval '10 seconds', interval '2 seconds');
END $$;
REVOKE ALL ON FUNCTION fl.end_stuck_writers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.end_stuck_writers() TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

CREATE OR REPLACE FUNCTION fl.seal_pending() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '2s' AS $$
DECLARE
  h bytea;
  n bigint;
BEGIN
  PERFORM fl.require_role(ARRAY['officer','reviewer','finance','admin'], 'seal queued entries');
  IF NOT EXISTS (SELECT 1 FROM fl.seal_queue) THEN
    RETURN 0;
  END IF;
  BEGIN
    SELECT ch.seq, ch.hash INTO n, h FROM fl.chain_head ch WHERE ch.id FOR UPDATE;
  EXCEPTION WHEN lock_not_available THEN
    -- Held past a commit's flush: by a session that sealed early and stayed. The entries stay
    -- queued (sealed by the next commit that takes the head); the holder is ended if stuck.
    PERFORM fl.end_stuck_writers();
    RETURN 0;
  END;
  RETURN fl._seal(NULL, n, h, '{}', '{}', '{}', '{}');
END $$;

-- R11: an officer blocked every month close by staying *active* (pg_sleep) in its write transaction;
-- the close's own guard ends only idle holders. The close also calls the stuck-writer guard (it ends
-- a sleeper whose write transaction is 10 s old) and waits up to 16 s before refusing.
CREATE OR REPLACE FUNCTION fl._lock_closed_period() RETURNS void
LANGUAGE plpgsql SET lock_timeout = '2s' SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  tries int := 0;
BEGIN
  LOOP
    BEGIN
      LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
      RETURN;
    EXCEPTION WHEN lock_not_available THEN
      tries := tries + 1;
      IF pg_catalog.to_regprocedure('fl_guard.end_idle_holders(integer[])') IS NOT NULL THEN
        PERFORM fl_guard.end_idle_holders(ARRAY(
          SELECT l.pid FROM pg_catalog.pg_locks l
           WHERE l.locktype = 'relation' AND l.relation = 'fl.closed_period'::regclass AND l.granted
             AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())));
      END IF;
      PERFORM fl.end_stuck_writers();
      IF tries >= 8 THEN
        PERFORM fl.refuse('lock_busy', 'the period cannot be closed now: other sessions are still writing to the '
          'ledger (waited 16 s); nothing was closed — try again in a moment', 'lock_not_available');
      END IF;
    END;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION fl._lock_closed_period() FROM PUBLIC;

-- R17: the monitor acknowledgements' chain hashed two dates under the writer's DateStyle; an
-- acknowledgement made under DateStyle=German read as rewritten to every verifier, forever. The
-- chain function's presentation settings are pinned, as fl.operation_log_chain's are.
ALTER FUNCTION fl.monitor_ack_chain() SET "DateStyle" = 'ISO, YMD';
ALTER FUNCTION fl.monitor_ack_chain() SET "TimeZone" = 'UTC';
ALTER FUNCTION fl.monitor_ack_chain() SET "IntervalStyle" = 'postgres';

-- Waiters never hang: every API function (EXECUTE granted to a group) that writes.
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

-- ---------------------------------------------------------------------------
-- ATTACK2 B1b: roles are the cluster's. Two ledgers on one server share fl_officer … fl_admin, so
-- every login of ledger B — a member of those groups — could connect to ledger A and read what the
-- groups may read there without row security: the history (fl.record_log: every request, budget,
-- user and held entry of A), the chain head, the voucher counters. A's functions refuse B's users
-- (they are not in A's fl.app_user), but the reads were open. CONNECT on a ledger's database is
-- now its own logins' (and the owner's): revoked from PUBLIC by 0027_db (the database owner's
-- right), granted by fl_owner to each login fl.app_user lists, when it is added.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.app_user_connect() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  -- Only where 0027_db revoked CONNECT from PUBLIC and gave fl_owner the grant (elsewhere every
  -- login may connect anyway; the DBA runs the statements docs/deployment.md lists).
  IF pg_catalog.has_database_privilege('fl_owner', pg_catalog.current_database(), 'CONNECT WITH GRANT OPTION')
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = NEW.name) THEN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', pg_catalog.current_database(), NEW.name);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.app_user_connect() FROM PUBLIC;
CREATE TRIGGER app_user_connect AFTER INSERT ON fl.app_user FOR EACH ROW EXECUTE FUNCTION fl.app_user_connect();
