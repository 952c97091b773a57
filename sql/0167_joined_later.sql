-- 0167 (G5/G9 left open): a unit's real joining date (加入统筹日期) registered after the fact, by the city
-- bureau, with its reason and document; chained; the date in force for postings, pre-allocation and
-- months payable from then on.
--
-- 0154 registers one joining date per unit (fl.unit_joined), never changed; 0157 makes a date the
-- office registered (source 'region', the region file's `joined`) the unit's months-payable basis.
-- A unit whose date was DEFAULTED (source 'first_year': every unit of the default Jiamusi region file)
-- or DERIVED (source 'upgrade': every unit of an upgraded ledger) could never have its real date
-- registered: fl.unit_joined is append-only and `init` refuses a file naming another date. The G5/G9
-- fix did not reach them; their basis stayed 0130's recorded first day (the first statement's date).
--
-- Now:
--   * fl.unit_joined_later (id, unit, joined_on, reason, document, idempotency_key, was_on, was_source,
--     first_posting, registered_by, registered_at, prev_hash, hash): one row per later registration,
--     append-only (UPDATE, DELETE, TRUNCATE refused), chained like the journal and the monitoring
--     acknowledgements (hash = sha256(prev_hash || the row's link text), one writer at a time) and
--     hooked into the record history (fl._chain_table). Written only through
--     fl.register_unit_joined, by the city medical-insurance bureau (the reviewer role): the bureau
--     keeps the units' insurance registration (参保登记) and answers for the pooling's policy documents;
--     city finance moves money and does not decide who joined when; an officer would date their own
--     unit's basis; the administrator reads no figures (0149) and manages logins only. A reason and
--     the document's reference (文号) are required and kept; an idempotency key makes a re-run
--     harmless (the same key with other content is refused).
--   * The date in force (fl.unit_joining, a view: unit, joined_on, source, registered, registration):
--     the unit's latest later registration if it has one (source 'later'), else fl.unit_joined's. A
--     later registration is a registration: the date is the unit's months-payable basis (0157's rule,
--     per book as ATTACK19b K6 reads it: ledger.store.monitor._BASIS) for every figure computed after
--     it; the records of fl.unit_first_day stay (judged as before) and are no longer its basis.
--   * Bounds, in the table's own BEFORE INSERT trigger (every writer, raw SQL too): the date is on or
--     after 1 January of the first year (as the region file's `joined`) and never after the unit's
--     first posting (the earliest day on any of its accounts, fl.account_day, read under a SHARE lock
--     so no posting commits meanwhile): nothing is ever posted on a unit before its joining date. The
--     row records that first posting day and the date it replaced (was_on, was_source): the auditor
--     reads the whole history (`fundledger unit joined-history`, the table, its chain).
--   * fl.unit_first_day_record (0130's trigger, from 0163) and fl.preallocate (from 0163) read the date
--     in force (fl.unit_joining): before_unit_joined and J5's pre-allocation check bound by it; no
--     first-day row is written for a unit registered later, as for a 'region' one.
--   * The independent verdict (online and offline) reads the table: the date in force re-derived
--     (latest id per unit) bounds every posting (first_days), a later-registered unit needs no first-day
--     row; the chain and the history (record_links, histories) and who wrote each row, with which role
--     (actors: a registered reviewer), are judged like every other chained record.

CREATE TABLE fl.unit_joined_later (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  unit            text NOT NULL REFERENCES fl.unit (code),
  joined_on       date NOT NULL,
  reason          text NOT NULL CONSTRAINT unit_joined_later_reason CHECK (btrim(reason) <> '' AND length(reason) <= 2000),
  document        text NOT NULL CONSTRAINT unit_joined_later_document CHECK (btrim(document) <> '' AND length(document) <= 200),
  idempotency_key text NOT NULL CONSTRAINT unit_joined_later_key UNIQUE,
  was_on          date,                       -- the date in force before it (NULL: the unit had none)
  was_source      text,                       -- how that one was set: region | first_year | upgrade | later
  first_posting   date,                       -- the unit's earliest posting day then (NULL: none yet)
  registered_by   text NOT NULL DEFAULT session_user,
  registered_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  prev_hash       bytea NOT NULL,
  hash            bytea NOT NULL,
  CONSTRAINT unit_joined_later_bound CHECK (first_posting IS NULL OR joined_on <= first_posting)
);
CREATE INDEX unit_joined_later_unit ON fl.unit_joined_later (unit, id);

CREATE FUNCTION fl.unit_joined_later_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' AS $$
DECLARE
  prev  bytea;
  fp    date;
  lo    date := make_date(coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000), 1, 1);
  was   record;
BEGIN
  -- One writer at a time (the chain), and no posting on any unit commits while the bound is read:
  -- a posting's day row is written under ROW EXCLUSIVE on fl.account_day, which SHARE waits for.
  LOCK TABLE fl.unit_joined_later IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.account_day IN SHARE MODE;
  IF NEW.joined_on IS NULL OR NEW.joined_on < lo THEN
    PERFORM fl.refuse('joined_later_date', format(
      'unit %s: a joining date of %s is before the ledger''s first year (%s); nothing was registered: the joining '
      'date is the unit''s first day in the ledger, on or after %s', NEW.unit, coalesce(NEW.joined_on::text, 'none'),
      lo, lo));
  END IF;
  SELECT min(d.day) INTO fp FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id WHERE a.unit = NEW.unit;
  IF fp IS NOT NULL AND NEW.joined_on > fp THEN
    PERFORM fl.refuse('joined_later_after_posting', format(
      'unit %s: a joining date of %s is after its first posting, %s dated %s; nothing was registered: nothing is '
      'ever posted on a unit before it joined, so register a date on or before %s (the day its document says it '
      'joined the pooled fund); if that posting itself is dated wrong, reverse it (fundledger entry reverse) and '
      'ask the auditor — a reversal keeps the date on the books', NEW.unit, NEW.joined_on,
      fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
                       WHERE a.unit = NEW.unit AND p.entry_date = fp)), fp, fp));
  END IF;
  SELECT j.joined_on, j.source INTO was FROM fl.unit_joining j WHERE j.unit = NEW.unit;
  SELECT l.hash INTO prev FROM fl.unit_joined_later l ORDER BY l.id DESC LIMIT 1;
  NEW.was_on := was.joined_on;
  NEW.was_source := was.source;
  NEW.first_posting := fp;
  NEW.registered_by := session_user;
  NEW.registered_at := clock_timestamp();
  NEW.prev_hash := coalesce(prev, '\x'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|', NEW.id, NEW.unit, to_char(NEW.joined_on, 'YYYY-MM-DD'),
                                                           NEW.reason, NEW.document, NEW.idempotency_key,
                                                           coalesce(to_char(NEW.was_on, 'YYYY-MM-DD'), ''),
                                                           coalesce(NEW.was_source, ''),
                                                           coalesce(to_char(NEW.first_posting, 'YYYY-MM-DD'), ''),
                                                           NEW.registered_by,
                                                           to_char(NEW.registered_at AT TIME ZONE 'UTC',
                                                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), 'UTF8'));
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.unit_joined_later_chain() FROM PUBLIC;

-- The date in force for each unit: its latest later registration, else fl.unit_joined's. With the
-- caller's rights, as every view of fl (its three tables are readable by every role that reads it).
CREATE VIEW fl.unit_joining WITH (security_invoker = true) AS
SELECT u.code AS unit,
       coalesce(l.joined_on, j.joined_on) AS joined_on,
       CASE WHEN l.id IS NOT NULL THEN 'later' ELSE j.source END AS source,
       (l.id IS NOT NULL OR j.source = 'region') AS registered,
       l.id AS registration
  FROM fl.unit u
  LEFT JOIN fl.unit_joined j ON j.unit = u.code
  LEFT JOIN LATERAL (SELECT x.id, x.joined_on FROM fl.unit_joined_later x WHERE x.unit = u.code
                      ORDER BY x.id DESC LIMIT 1) l ON true;

CREATE TRIGGER unit_joined_later_chain BEFORE INSERT ON fl.unit_joined_later
  FOR EACH ROW EXECUTE FUNCTION fl.unit_joined_later_chain();
CREATE TRIGGER unit_joined_later_append_only BEFORE UPDATE OR DELETE ON fl.unit_joined_later
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER unit_joined_later_no_truncate BEFORE TRUNCATE ON fl.unit_joined_later
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

SELECT fl._chain_table('fl.unit_joined_later', ARRAY['id']);

REVOKE ALL ON fl.unit_joined_later, fl.unit_joining FROM PUBLIC;
-- Reference data like fl.unit_joined: every role that reads units reads them.
GRANT SELECT ON fl.unit_joined_later, fl.unit_joining TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

-- Register a unit's joining date after the fact: the city bureau (reviewer), with a reason and the
-- document's reference, under an idempotency key. Bounds in the table's trigger (every writer).
CREATE FUNCTION fl.register_unit_joined(p_unit text, p_joined date, p_reason text, p_document text, p_key text)
RETURNS TABLE (id bigint, status text, unit text, joined_on date, was_on date, was_source text, first_posting date)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
#variable_conflict use_column
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer'], 'register a unit''s joining date (加入统筹日期)');
  r fl.unit_joined_later;
BEGIN
  IF coalesce(btrim(p_key), '') = '' OR length(p_key) > 200 THEN
    PERFORM fl.refuse('idempotency_key', 'a joining-date registration needs an idempotency key (at most 200 characters)');
  END IF;
  -- One registration at a time: a second one under the same key waits, then finds the first.
  LOCK TABLE fl.unit_joined_later IN SHARE ROW EXCLUSIVE MODE;
  SELECT * INTO r FROM fl.unit_joined_later x WHERE x.idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.joined_on, r.reason, r.document, r.registered_by)
       IS DISTINCT FROM (p_unit, p_joined, btrim(p_reason), btrim(p_document), session_user::text) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by joining-date registration %s (unit %s, %s, by %s) with other '
        'content; nothing was written', p_key, r.id, r.unit, r.joined_on, r.registered_by), 'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text, r.unit, r.joined_on, r.was_on, r.was_source, r.first_posting;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit x WHERE x.code = p_unit) THEN
    PERFORM fl.refuse('not_found', format('unknown unit %s', p_unit), 'no_data_found');
  END IF;
  IF coalesce(btrim(p_reason), '') = '' OR length(p_reason) > 2000 THEN
    PERFORM fl.refuse('unit_joined_later_reason', 'a joining-date registration needs its reason (at most 2000 '
      'characters): why the date in force is not the unit''s real one; it is kept in the record');
  END IF;
  IF coalesce(btrim(p_document), '') = '' OR length(p_document) > 200 THEN
    PERFORM fl.refuse('unit_joined_later_document', 'a joining-date registration needs the reference of the '
      'document that gives the date (文号, at most 200 characters); it is kept in the record');
  END IF;
  INSERT INTO fl.unit_joined_later (unit, joined_on, reason, document, idempotency_key, prev_hash, hash)
  VALUES (p_unit, p_joined, btrim(p_reason), btrim(p_document), p_key, '\x', '\x')
  RETURNING * INTO r;
  RETURN QUERY SELECT r.id, 'registered'::text, r.unit, r.joined_on, r.was_on, r.was_source, r.first_posting;
END $$;
REVOKE ALL ON FUNCTION fl.register_unit_joined(text, date, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.register_unit_joined(text, date, text, text, text) TO fl_reviewer;

CREATE OR REPLACE FUNCTION fl.unit_first_day_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  books text[];
  units text[];
  days  date[];
  bad   record;
BEGIN
  -- (0154) No day on a unit's account before the unit joined (fl.unit_joined): the statement's new
  -- day rows only (an account's first posting of a day), each found by its unit's primary key.
  -- (0163, ATTACK19 J2) and none on a unit with no registered joining date at all: since 0154
  -- init registers one with every unit and the migration registered one for each, a unit without
  -- one was registered around init (a raw INSERT INTO fl.unit) and nothing would bound its first day.
  -- (0167) The date in force: the city bureau's latest later registration (fl.unit_joined_later),
  -- else fl.unit_joined's (fl.unit_joining).
  SELECT n.day, a.unit, j.joined_on, n.account_id INTO bad
    FROM new_days n JOIN fl.account a ON a.id = n.account_id
    LEFT JOIN fl.unit_joining j ON j.unit = a.unit
   WHERE j.joined_on IS NULL OR n.day < j.joined_on
   ORDER BY n.day, a.unit LIMIT 1;
  IF FOUND AND bad.joined_on IS NULL THEN
    PERFORM fl.refuse('before_unit_joined', format(
      '%s posts on unit %s, which has no registered joining date (the day it joined the pooled fund): nothing was '
      'written; register it first — add joined = YYYY-MM-DD to the unit''s [[units]] table in the region file and '
      'run fundledger init --region FILE, or have the city bureau register it (fundledger unit register-joined) — '
      'then post again', fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p
                                          WHERE p.account_id = bad.account_id AND p.entry_date = bad.day)),
      bad.unit));
  END IF;
  IF FOUND THEN
    PERFORM fl.refuse('before_unit_joined', format(
      '%s posts on unit %s dated %s, before the unit joined the pooled fund on %s (its joining date, registered '
      'with the unit or later by the city bureau): nothing was written; date it on or after %s — a unit''s first '
      'day in the ledger is never before it joined (if it really joined earlier, the city bureau registers its '
      'date with the document that says so: fundledger unit register-joined)', fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p
                                          WHERE p.account_id = bad.account_id AND p.entry_date = bad.day)),
      bad.unit, bad.day, bad.joined_on, bad.joined_on));
  END IF;

  -- The statement's new day rows on a fund figure of a book and unit that has no first day yet and
  -- no registered joining date (0157: a registered one is its basis; no row is written for it; 0167: a
  -- date the city bureau registered later is one too).
  -- (Nearly always none: the unit has its row since its first posting; nothing more is read.)
  SELECT array_agg(k.book), array_agg(k.unit), array_agg(k.day)
    INTO books, units, days
    FROM (SELECT a.book, a.unit, min(n.day) AS day
            FROM new_days n JOIN fl.account a ON a.id = n.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE fc.kind IN ('net_assets', 'revenue', 'expenditure')
             AND NOT EXISTS (SELECT 1 FROM fl.unit_first_day f WHERE f.book = a.book AND f.unit = a.unit)
             AND NOT EXISTS (SELECT 1 FROM fl.unit_joining j WHERE j.unit = a.unit AND j.registered)
           GROUP BY a.book, a.unit) k;
  IF books IS NULL THEN
    RETURN NULL;
  END IF;
  -- The entry that dated it: the lowest id posting that day on one of the unit's fund figures (the
  -- unit's first: every one of them is this statement's, the unit had no fund figure before).
  INSERT INTO fl.unit_first_day (book, unit, first_day, entry_id)
  SELECT x.book, x.unit, x.day,
         (SELECT min(p.entry_id) FROM fl.posting p
            JOIN fl.account a ON a.id = p.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE p.account_id IN (SELECT n.account_id FROM new_days n WHERE n.day = x.day)
             AND p.entry_date = x.day AND a.book = x.book AND a.unit = x.unit
             AND fc.kind IN ('net_assets', 'revenue', 'expenditure'))
    FROM unnest(books, units, days) AS x(book, unit, day)
   ORDER BY x.book, x.unit
  ON CONFLICT (book, unit) DO NOTHING;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.unit_first_day_record() FROM PUBLIC;

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
  -- (0163, ATTACK19 J5) No pre-allocation for a county before it joined the pooled fund: held, it
  -- could only be rejected (its confirmation is refused, before_unit_joined) and finance's
  -- confirmation of the city's pre-allocations together with it. fundledger preallocate leaves
  -- such a county out and says when to pre-allocate for it. (0167) The date in force (fl.unit_joining).
  SELECT l.unit, j.joined_on INTO bad
    FROM fl._prealloc_lines(p_year, p_lines) l LEFT JOIN fl.unit_joining j ON j.unit = l.unit
   WHERE j.joined_on IS NULL OR j.joined_on > p_date
   ORDER BY l.ord LIMIT 1;
  IF FOUND AND bad.joined_on IS NULL THEN
    PERFORM fl.refuse('before_unit_joined', format(
      'the pre-allocation includes unit %s, which has no registered joining date (the day it joined the pooled '
      'fund): nothing was pre-allocated; register it first — add joined = YYYY-MM-DD to the unit''s [[units]] '
      'table in the region file and run fundledger init --region FILE', bad.unit));
  END IF;
  IF FOUND THEN
    PERFORM fl.refuse('before_unit_joined', format(
      'the pre-allocation dated %s includes unit %s, which joins the pooled fund on %s: nothing was '
      'pre-allocated; leave it out (fundledger preallocate does) and pre-allocate for it on or after %s',
      p_date, bad.unit, bad.joined_on, bad.joined_on));
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
REVOKE ALL ON FUNCTION fl.preallocate(integer, date, jsonb) FROM PUBLIC;
