-- fundledger migration 0017: workflow kinds, key namespaces, a manual-posting policy per
-- role, maker-checker for real money, the city proper's opening balance (issue 14, items 3–4).
--
-- What an attacker did before this migration (docs/security.md, "Manual entries"):
--   * an officer posted Dr 1004 county-exp / Cr 1003 special for ¥500,000,000 labelled
--     kind "request_disburse" through fl.post_entries: no request, no approval, no finance
--     step; an expense labelled "year_close" vanished from the income statement;
--   * an officer posted ¥0.01 under another county's pre-allocation key
--     (prealloc:YEAR:UNIT:BOOK); the reviewer's pre-allocation then said "already posted"
--     and ¥39.8 M silently did not move.
--
-- The rules, each enforced here whoever calls:
--   1. Kinds. fl.post_entries posts only kind 'manual'; any other kind in the caller's
--      document is refused with the command that performs it. Every other kind is set by
--      the function that performs the operation. fl.entry.kind is one of the known kinds.
--   2. Key namespaces. Every new entry's key lies in its kind's namespace (fl.entry_stamp,
--      row trigger): manual:<user>:…, reversal:<user>:…, prealloc:…, request:<id>:…,
--      interest:…, yearclose:…, register-clear:… / govpay:…, payments:…, collections:…,
--      opening:… / opening-city:…, handover-transfer:…. fl.post_entries files a caller's
--      key under manual:<caller>: so no manual entry can take a system key, and a system
--      function given a caller's key cannot take another operation's. Pre-allocation refuses
--      (never skips) a line whose key holds an entry of another kind.
--   3. Policy for manual entries (fl.manual_policy lists it in words): officers post only
--      for their own unit and never credit (move money out of) the special account 1003,
--      the city expenditure account (1004 city_exp) or the treasury account 1005.
--   4. Maker-checker. A manual entry that moves real money (a posting on 1001–1005 or on an
--      account with a holder) is held in fl.pending_entry / fl.pending_posting and posts
--      only when a different user confirms it (fl.confirm_entry); a rejection
--      (fl.reject_entry) needs a reason and is kept. Reversals of real-money entries,
--      special-account interest and the city proper's opening balance are held the same
--      way. The maker never confirms its own; an officer confirms only another officer's
--      entry of its own unit; a held entry is confirmed or rejected once. Both tables are
--      chained (fl._chain_table) and row-secured like the journal.
--   5. fl.post_opening: the city proper's audited opening balance (kind 'opening'), posted by
--      a reviewer, confirmed by finance or a second reviewer; once per book and component.

-- ---------------------------------------------------------------------------
-- 1. Kinds and their key namespaces.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.entry ADD CONSTRAINT entry_kind_known CHECK (kind IN (
  'manual', 'reversal', 'opening', 'collections', 'payments', 'handover_transfer', 'preallocation',
  'request_disburse', 'request_settle', 'interest', 'register_clear', 'year_close')) NOT VALID;

-- Small helpers the planner inlines into the calling statement (LANGUAGE sql, no SET clause:
-- a SET would stop the inlining and cost a call per entry; tests/security/test_sweep.py INLINED).
-- The command that performs each workflow kind (for refusals that say what to do).
CREATE FUNCTION fl._kind_command(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_kind
    WHEN 'reversal' THEN 'fundledger entry reverse'
    WHEN 'opening' THEN 'fundledger opening post (the city proper) or fundledger handover open (a county)'
    WHEN 'collections' THEN 'fundledger collect import'
    WHEN 'payments' THEN 'fundledger pay import'
    WHEN 'handover_transfer' THEN 'fundledger handover transfer'
    WHEN 'preallocation' THEN 'fundledger preallocate'
    WHEN 'request_disburse' THEN 'fundledger request disburse'
    WHEN 'request_settle' THEN 'fundledger request settle'
    WHEN 'interest' THEN 'fundledger interest allocate'
    WHEN 'register_clear' THEN 'fundledger register clear or fundledger government pay'
    WHEN 'year_close' THEN 'fundledger close year'
  END
$$;

-- Whether a key lies in its kind's namespace. Request keys name their request.
CREATE FUNCTION fl._key_in_namespace(p_kind text, p_key text, p_source jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_kind
    WHEN 'manual' THEN p_key LIKE 'manual:%:%'
    WHEN 'reversal' THEN p_key LIKE 'reversal:%:%'
    WHEN 'opening' THEN p_key LIKE 'opening:%' OR p_key LIKE 'opening-city:%'
    WHEN 'collections' THEN p_key LIKE 'collections:%'
    WHEN 'payments' THEN p_key LIKE 'payments:%'
    WHEN 'handover_transfer' THEN p_key LIKE 'handover-transfer:%'
    WHEN 'preallocation' THEN p_key LIKE 'prealloc:%'
    WHEN 'request_disburse' THEN left(p_key, length('request:' || (p_source ->> 'request') || ':'))
                                 = 'request:' || (p_source ->> 'request') || ':'
    WHEN 'request_settle' THEN left(p_key, length('request:' || (p_source ->> 'request') || ':'))
                               = 'request:' || (p_source ->> 'request') || ':'
    WHEN 'interest' THEN p_key LIKE 'interest:%'
    WHEN 'register_clear' THEN p_key LIKE 'register-clear:%' OR p_key LIKE 'govpay:%'
    WHEN 'year_close' THEN p_key LIKE 'yearclose:%'
    ELSE false END
$$;

-- The namespace a kind's keys start with, for messages.
CREATE FUNCTION fl._key_namespace(p_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_kind
    WHEN 'manual' THEN 'manual:<user>:' WHEN 'reversal' THEN 'reversal:<user>:'
    WHEN 'opening' THEN 'opening: or opening-city:' WHEN 'collections' THEN 'collections:'
    WHEN 'payments' THEN 'payments:' WHEN 'handover_transfer' THEN 'handover-transfer:'
    WHEN 'preallocation' THEN 'prealloc:' WHEN 'request_disburse' THEN 'request:<request id>:'
    WHEN 'request_settle' THEN 'request:<request id>:' WHEN 'interest' THEN 'interest:'
    WHEN 'register_clear' THEN 'register-clear: or govpay:' WHEN 'year_close' THEN 'yearclose:'
    ELSE '(none: unknown kind)' END
$$;

-- The entry's stamp (who, when, from where) and, for every new entry, its key's namespace:
-- one row trigger that already runs for every entry. An entry confirmed from a held one
-- (fl.confirm_entry: source.held names it, and that held entry, still undecided, has this
-- very key) was made by the held entry's maker: created_by is the maker (制单), the
-- confirmer is in source.confirmed_by and fl.pending_entry.decided_by (复核). No caller can
-- point source.held at another user's held entry: its key lies in that user's namespace.
CREATE OR REPLACE FUNCTION fl.entry_stamp() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE maker text;
BEGIN
  IF NOT coalesce(fl._key_in_namespace(NEW.kind, NEW.idempotency_key, NEW.source), false) THEN
    PERFORM fl.refuse('key_namespace', format(
      'idempotency key %s is not in the namespace of %s entries (%s…); a key of another operation cannot be taken',
      NEW.idempotency_key, NEW.kind, fl._key_namespace(NEW.kind)), 'insufficient_privilege');
  END IF;
  IF jsonb_typeof(NEW.source) = 'object' AND (NEW.source ->> 'held') ~ '^[0-9]{1,18}$' THEN
    SELECT pe.made_by INTO maker FROM fl.pending_entry pe
     WHERE pe.id = (NEW.source ->> 'held')::bigint AND pe.idempotency_key = NEW.idempotency_key AND pe.state = 'held';
  END IF;
  NEW.created_by  := coalesce(maker, session_user);
  NEW.created_at  := now();
  NEW.client_addr := inet_client_addr();
  NEW.created_xid := pg_current_xact_id();
  RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------
-- 2. The manual-posting policy.
-- ---------------------------------------------------------------------------
-- Real money: cash and the deposit accounts 1001–1005 (and their sub-accounts), and any
-- account with a holder (a physical bank account).
CREATE FUNCTION fl._real_money(p_chart text, p_holder text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT split_part(p_chart, '.', 1) IN ('1001', '1002', '1003', '1004', '1005') OR coalesce(p_holder, '') <> ''
$$;

-- The policy in words, per role (what fl._manual_policy and fl.confirm_entry enforce).
CREATE FUNCTION fl.manual_policy() RETURNS TABLE (role text, rule text)
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
            '(1001-1005 or an account with a holder) is held until a different user confirms it')
$$;

-- Officers' limits on a manual document (their unit is checked by fl._check_units).
CREATE FUNCTION fl._manual_policy(u fl.app_user, p_postings fl.new_posting[]) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  IF u.role <> 'officer' THEN
    RETURN;
  END IF;
  SELECT p.ord, p.pos, p.chart_code, coalesce(p.holder, dh.holder) AS holder INTO bad
    FROM unnest(p_postings) p
    LEFT JOIN LATERAL (SELECT CASE WHEN count(*) = 1 THEN min(h.code) END AS holder
                         FROM fl.holder h JOIN fl.unit un ON un.code = p.unit
                        WHERE p.holder IS NULL AND h.chart_code = split_part(p.chart_code, '.', 1)
                          AND (NOT h.counties_only OR un.kind = 'county')) dh ON true
   WHERE p.side = 'C'
     AND (split_part(p.chart_code, '.', 1) IN ('1003', '1005')
          OR (split_part(p.chart_code, '.', 1) = '1004' AND coalesce(p.holder, dh.holder, 'city_exp') = 'city_exp'))
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('manual_policy', format(
      '%s is an officer and may not move money out of %s %s by hand (entry %s, posting %s): money leaves the '
      'special account, the city expenditure account and the treasury only through fund requests '
      '(fundledger request submit) or an entry posted by the city bureau or city finance',
      u.name, bad.chart_code, coalesce(bad.holder, ''), bad.ord, bad.pos), 'insufficient_privilege');
  END IF;
END $$;

-- ---------------------------------------------------------------------------
-- 3. Held entries (maker-checker).
-- ---------------------------------------------------------------------------
CREATE TABLE fl.pending_entry (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text   NOT NULL CHECK (kind IN ('manual', 'reversal', 'interest', 'opening')),
  book            text   NOT NULL REFERENCES fl.book (code),
  entry_date      date   NOT NULL,
  memo            text   NOT NULL DEFAULT '',
  idempotency_key text   NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  content_hash    bytea  NOT NULL,
  reverses        bigint REFERENCES fl.entry (id),
  reason          text   NOT NULL DEFAULT '',
  source          jsonb,
  units           text[] NOT NULL,
  made_by         text   NOT NULL DEFAULT session_user,
  made_at         timestamptz NOT NULL DEFAULT now(),
  maker_role      text   NOT NULL,
  maker_unit      text,
  state           text   NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'confirmed', 'rejected')),
  decided_by      text,
  decided_at      timestamptz,
  decision_reason text   NOT NULL DEFAULT '',
  entry_id        bigint UNIQUE REFERENCES fl.entry (id),
  CONSTRAINT pending_decided CHECK ((state = 'held') = (decided_by IS NULL) AND (state = 'held') = (decided_at IS NULL)),
  CONSTRAINT pending_confirmed CHECK ((state = 'confirmed') = (entry_id IS NOT NULL)),
  CONSTRAINT pending_rejected_reason CHECK (state <> 'rejected' OR trim(decision_reason) <> ''),
  CONSTRAINT pending_second_person CHECK (decided_by IS NULL OR state = 'rejected' OR decided_by <> made_by)
);
CREATE INDEX pending_entry_held ON fl.pending_entry (id) WHERE state = 'held';

CREATE TABLE fl.pending_posting (
  pending_id bigint NOT NULL REFERENCES fl.pending_entry (id),
  pos        int    NOT NULL,
  -- No foreign key to fl.account: its check takes FOR KEY SHARE on the account rows, which
  -- conflicts with the FOR UPDATE that fl.posting_inserted takes on them, and a hold and a
  -- confirmation of entries on the same accounts in opposite order deadlocked (reliability
  -- kill -9 run). Accounts are never deleted (fl.account_identity_fixed, no DELETE privilege);
  -- fl._hold resolves the id itself and verify's held_entries check reads it back.
  account_id int    NOT NULL,
  unit       text   NOT NULL,
  side       char(1) NOT NULL CHECK (side IN ('D', 'C')),
  amount     bigint NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
  line_ref   text,
  memo       text,
  PRIMARY KEY (pending_id, pos)
);

-- A held entry changes once: held → confirmed (with its entry) or rejected (with a reason);
-- nothing else of it ever changes, and nothing is deleted.
CREATE FUNCTION fl.pending_entry_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.state = 'held' AND NEW.state IN ('confirmed', 'rejected')
     AND (NEW.id, NEW.kind, NEW.book, NEW.entry_date, NEW.memo, NEW.idempotency_key, NEW.content_hash, NEW.reverses,
          NEW.reason, NEW.source, NEW.units, NEW.made_by, NEW.made_at, NEW.maker_role, NEW.maker_unit)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.kind, OLD.book, OLD.entry_date, OLD.memo, OLD.idempotency_key, OLD.content_hash, OLD.reverses,
          OLD.reason, OLD.source, OLD.units, OLD.made_by, OLD.made_at, OLD.maker_role, OLD.maker_unit) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'a held entry is decided once and otherwise never changes: % on fl.pending_entry refused', TG_OP
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'append_only';
END $$;
CREATE TRIGGER pending_entry_guard BEFORE UPDATE OR DELETE ON fl.pending_entry
  FOR EACH ROW EXECUTE FUNCTION fl.pending_entry_guard();
CREATE TRIGGER pending_entry_no_truncate BEFORE TRUNCATE ON fl.pending_entry
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER pending_posting_append_only BEFORE UPDATE OR DELETE ON fl.pending_posting
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER pending_posting_no_truncate BEFORE TRUNCATE ON fl.pending_posting
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER pending_entry_read_committed BEFORE INSERT OR UPDATE OR DELETE ON fl.pending_entry
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_old_snapshot();
CREATE TRIGGER pending_posting_read_committed BEFORE INSERT OR UPDATE OR DELETE ON fl.pending_posting
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_old_snapshot();

-- Hold entries (already shaped like fl._post's arguments). Checks what can be checked before
-- the money moves (shape, accounts, balance per unit and component, dates); the journal's own
-- rules (overdraft, periods, caps) run again when the entry is confirmed. Returns per entry:
-- the held id, and 'held' (new), 'held' (the same document held before under this key),
-- 'duplicate' (held before and since confirmed: its entry) — or refuses a key that holds
-- anything else.
CREATE FUNCTION fl._hold(u fl.app_user, p_kind text, p_entries fl.new_entry[], p_postings fl.new_posting[])
RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  e     fl.new_entry;
  bad   record;
  acc   int[];
  h     bytea;
  prior fl.pending_entry;
  hid   bigint;
  first int := coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000);
  last  int := extract(year FROM current_date)::int + 1;
BEGIN
  FOREACH e IN ARRAY p_entries LOOP
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
    SELECT p.pos, p.side, p.amount, p.book INTO bad FROM unnest(p_postings) p
     WHERE p.ord = e.ord AND (p.book IS DISTINCT FROM e.book OR p.side IS NULL OR p.side NOT IN ('D', 'C')
                              OR p.amount IS NULL OR p.amount <= 0 OR p.amount > 1000000000000000) LIMIT 1;
    IF FOUND THEN
      IF bad.book IS DISTINCT FROM e.book THEN
        PERFORM fl.refuse('posting_book', format('posting %s of entry %s does not belong to that entry''s book', bad.pos, e.ord));
      ELSIF bad.side IS NULL OR bad.side NOT IN ('D', 'C') THEN
        PERFORM fl.refuse('posting_side', format('%s, posting %s: side must be debit or credit', e.idempotency_key, bad.pos));
      ELSIF bad.amount > 1000000000000000 THEN
        PERFORM fl.refuse('posting_amount_cap', format('%s, posting %s: %s is more than one posting may hold',
          e.idempotency_key, bad.pos, fl.fmt_fen(bad.amount)));
      ELSE
        PERFORM fl.refuse('posting_amount_positive', format('%s, posting %s: amount must be a positive number of fen, got %s',
          e.idempotency_key, bad.pos, coalesce(bad.amount::text, 'nothing')));
      END IF;
    END IF;
    IF (SELECT count(*) FROM unnest(p_postings) p WHERE p.ord = e.ord) < 2 THEN
      PERFORM fl.refuse('entry_min_postings', format('%s has %s posting(s); an entry needs at least two',
        e.idempotency_key, (SELECT count(*) FROM unnest(p_postings) p WHERE p.ord = e.ord)));
    END IF;
    SELECT p.unit, coalesce(p.component, '') AS component,
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr INTO bad
      FROM unnest(p_postings) p WHERE p.ord = e.ord
     GROUP BY 1, 2
    HAVING coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) <> coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)
     ORDER BY 1, 2 LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('entry_balanced', format('%s: debits %s ≠ credits %s for unit %s, book %s%s',
        e.idempotency_key, fl.fmt_fen(bad.dr), fl.fmt_fen(bad.cr), bad.unit, e.book,
        CASE WHEN bad.component <> '' THEN ', component ' || bad.component ELSE '' END));
    END IF;

    -- The accounts, resolved as fl._post resolves them (the default holder where the chart
    -- allows one; an account not used before is created, or the combination refused).
    SELECT array_agg(coalesce(a.id, fl.account_for(p.book, p.chart_code, p.unit, coalesce(p.holder, dh.holder, ''),
                                                    coalesce(p.component, ''))) ORDER BY p.pos)
      INTO acc
      FROM unnest(p_postings) p
      LEFT JOIN LATERAL (SELECT CASE WHEN count(*) = 1 THEN min(hh.code) END AS holder
                           FROM fl.holder hh JOIN fl.unit un ON un.code = p.unit
                          WHERE p.holder IS NULL AND hh.chart_code = p.chart_code
                            AND (NOT hh.counties_only OR un.kind = 'county')) dh ON true
      LEFT JOIN LATERAL (SELECT a1.id FROM fl.account a1
                          WHERE a1.book = p.book AND a1.chart_code = p.chart_code AND a1.unit = p.unit
                            AND a1.holder = coalesce(p.holder, dh.holder, '') AND a1.component = coalesce(p.component, '')
                         OFFSET 0) a ON true
     WHERE p.ord = e.ord;
    h := sha256(convert_to(jsonb_build_object(
           'book', e.book, 'date', e.entry_date, 'memo', coalesce(e.memo, ''), 'kind', p_kind, 'reverses', e.reverses,
           'postings', (SELECT jsonb_agg(jsonb_build_array(acc[x.i], x.side, x.amount, x.line_ref) ORDER BY x.i)
                          FROM (SELECT p.side, p.amount, p.line_ref, row_number() OVER (ORDER BY p.pos) AS i
                                  FROM unnest(p_postings) p WHERE p.ord = e.ord) x))::text, 'UTF8'));

    -- The key: new, the same document again, or a conflict named.
    SELECT * INTO prior FROM fl.pending_entry pe WHERE pe.idempotency_key = e.idempotency_key FOR UPDATE;
    IF FOUND THEN
      IF prior.content_hash <> h OR prior.kind <> p_kind OR prior.made_by <> u.name THEN
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
    VALUES (p_kind, e.book, e.entry_date, coalesce(e.memo, ''), e.idempotency_key, h, e.reverses, coalesce(e.reason, ''),
            e.source, (SELECT array_agg(DISTINCT p.unit ORDER BY p.unit) FROM unnest(p_postings) p WHERE p.ord = e.ord),
            u.role, u.unit)
    RETURNING id INTO hid;
    INSERT INTO fl.pending_posting (pending_id, pos, account_id, unit, side, amount, line_ref, memo)
    SELECT hid, x.i, acc[x.i], x.unit, x.side, x.amount, x.line_ref, x.memo
      FROM (SELECT p.*, row_number() OVER (ORDER BY p.pos)::int AS i FROM unnest(p_postings) p WHERE p.ord = e.ord) x;
    ord := e.ord; entry_id := NULL; status := 'held'; held_id := hid;
    RETURN NEXT;
  END LOOP;
END $$;

-- Who may decide a held entry: a user of a posting role other than its maker (a rejection
-- may also be the maker's withdrawal); an officer only another officer's entry of its own
-- unit (an officer never gains by confirming what it could not have posted).
CREATE FUNCTION fl._decider(p fl.pending_entry, p_action text) RETURNS fl.app_user
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE u fl.app_user := fl.require_role(ARRAY['officer', 'reviewer', 'finance'], p_action || ' held entries');
BEGIN
  IF u.role = 'officer' AND (p.maker_role <> 'officer' OR p.units <> ARRAY[u.unit]) THEN
    PERFORM fl.refuse('permission_denied', format(
      '%s is an officer of unit %s and may %s only another officer''s held entry of that unit; held entry %s is %s''s '
      '(%s) for unit(s) %s', u.name, u.unit, p_action, p.id, p.made_by, p.maker_role, array_to_string(p.units, ', ')),
      'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND u.name = p.made_by THEN
    PERFORM fl.refuse('maker_checker', format(
      '%s made held entry %s and may not confirm it: a second person confirms (fundledger entry confirm %s, as another '
      'user)', u.name, p.id, p.id), 'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND p.kind IN ('reversal', 'interest', 'opening') AND u.role NOT IN ('reviewer', 'finance') THEN
    PERFORM fl.refuse('permission_denied', format('a held %s is confirmed by the city bureau (reviewer) or city finance',
      p.kind), 'insufficient_privilege');
  END IF;
  RETURN u;
END $$;

CREATE FUNCTION fl._pending_for(p_id bigint, p_action text) RETURNS fl.pending_entry
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE p fl.pending_entry;
BEGIN
  SELECT * INTO p FROM fl.pending_entry pe WHERE pe.id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT fl.sees_unit_all(p.units) THEN
    PERFORM fl.refuse('not_found', format('no held entry %s (see fundledger entry held)', p_id), 'no_data_found');
  END IF;
  RETURN p;
END $$;

-- Whether the caller sees every unit of the list (city roles see all).
CREATE FUNCTION fl.sees_unit_all(p_units text[]) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND (u.unit IS NULL OR p_units <@ ARRAY[u.unit]))
$$;

CREATE FUNCTION fl.confirm_entry(p_id bigint) RETURNS TABLE (entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  p   fl.pending_entry := fl._pending_for(p_id, 'confirm');
  u   fl.app_user := fl._decider(p, 'confirm');
  eid bigint;
BEGIN
  IF p.state = 'confirmed' THEN
    IF p.decided_by = u.name THEN
      RETURN QUERY SELECT p.entry_id, 'duplicate'::text;   -- the same confirmation again: nothing written
      RETURN;
    END IF;
    PERFORM fl.refuse('held_decided', format('held entry %s was already confirmed by %s as %s', p.id, p.decided_by,
      fl.entry_label(p.entry_id)), 'unique_violation');
  ELSIF p.state = 'rejected' THEN
    PERFORM fl.refuse('held_decided', format('held entry %s was rejected by %s (%s); it cannot be confirmed: post it '
      'again under a new key', p.id, p.decided_by, p.decision_reason), 'unique_violation');
  END IF;
  IF p.reverses IS NOT NULL AND EXISTS (SELECT 1 FROM fl.entry x WHERE x.reverses = p.reverses) THEN
    PERFORM fl.refuse('reversed_once', format('%s was already reversed by %s', fl.entry_label(p.reverses),
      fl.entry_label((SELECT x.id FROM fl.entry x WHERE x.reverses = p.reverses))), 'unique_violation');
  END IF;
  SELECT x.entry_id INTO eid FROM fl._post(
    ARRAY[ROW(1, p.book, p.entry_date, p.memo, p.kind, p.idempotency_key, p.reverses, p.reason,
              coalesce(p.source, '{}'::jsonb) || jsonb_build_object('held', p.id, 'made_by', p.made_by,
                                                                     'confirmed_by', u.name),
              p.content_hash)::fl.new_entry],
    (SELECT array_agg(ROW(1, pp.pos, a.book, a.chart_code, a.unit, a.holder, a.component, pp.side, pp.amount,
                          pp.line_ref, pp.memo)::fl.new_posting ORDER BY pp.pos)
       FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id WHERE pp.pending_id = p.id)) x;
  UPDATE fl.pending_entry pe SET state = 'confirmed', decided_by = u.name, decided_at = now(), entry_id = eid
   WHERE pe.id = p.id;
  RETURN QUERY SELECT eid, 'posted'::text;
END $$;

-- Several at once, in the order given (a batch of a day's receipts; all or none).
CREATE FUNCTION fl.confirm_entries(p_ids bigint[]) RETURNS TABLE (held_id bigint, entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE i bigint;
BEGIN
  FOREACH i IN ARRAY coalesce(p_ids, '{}') LOOP
    RETURN QUERY SELECT i, c.entry_id, c.status FROM fl.confirm_entry(i) c;
  END LOOP;
END $$;

CREATE FUNCTION fl.reject_entry(p_id bigint, p_reason text) RETURNS fl.pending_entry
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  p fl.pending_entry := fl._pending_for(p_id, 'reject');
  u fl.app_user := fl._decider(p, 'reject');
BEGIN
  IF coalesce(trim(p_reason), '') = '' THEN
    PERFORM fl.refuse('pending_rejected_reason', 'a rejection needs a reason (--reason)');
  END IF;
  IF p.state <> 'held' THEN
    PERFORM fl.refuse('held_decided', format('held entry %s was already %s by %s', p.id, p.state, p.decided_by),
      'unique_violation');
  END IF;
  UPDATE fl.pending_entry pe SET state = 'rejected', decided_by = u.name, decided_at = now(), decision_reason = p_reason
   WHERE pe.id = p.id RETURNING * INTO p;
  RETURN p;
END $$;

-- ---------------------------------------------------------------------------
-- 4. fl.post_entries: kind manual only, keys under manual:<caller>:, the officers' policy,
--    real money held. (One more column, held_id: the held entry's id when status is 'held'.)
-- ---------------------------------------------------------------------------
DROP FUNCTION fl.post_entries(jsonb);
CREATE FUNCTION fl.post_entries(p_docs jsonb) RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'post entries');
  ns  text := 'manual:' || u.name || ':';
  es  fl.new_entry[];
  ps  fl.new_posting[];
  reverses boolean;
  kind_bad text;
  money int[];
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
           WHERE fl._real_money(p.x->>'account', p.x->>'holder'))
    INTO reverses, es, ps, kind_bad, money;
  IF kind_bad IS NOT NULL THEN
    PERFORM fl.refuse('workflow_kind', format(
      'entry %s: kind ''%s'' is set only by the command that performs it (%s); an entry posted by hand is always '
      'manual: leave kind out', split_part(kind_bad, chr(1), 1), split_part(kind_bad, chr(1), 2),
      coalesce(fl._kind_command(split_part(kind_bad, chr(1), 2)), 'no such kind')), 'insufficient_privilege');
  END IF;
  IF reverses THEN
    PERFORM fl.refuse('bad_document', 'reversals are posted with fl.reverse_entry (fundledger entry reverse)');
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
-- 5. Reversals: keys under reversal:<caller>:, a real-money entry's reversal held for a
--    second person.
-- ---------------------------------------------------------------------------
DROP FUNCTION fl.reverse_entry(bigint, text, date, text);
CREATE FUNCTION fl.reverse_entry(p_entry bigint, p_reason text, p_date date, p_key text)
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
  IF EXISTS (SELECT 1 FROM unnest(ps) p WHERE fl._real_money(p.chart_code, p.holder)) THEN
    RETURN QUERY SELECT h.ord, h.entry_id, h.status, h.held_id FROM fl._hold(u, 'reversal', es, ps) h;
  ELSE
    RETURN QUERY SELECT r.ord, r.entry_id, r.status, NULL::bigint FROM fl._post(es, ps) r;
  END IF;
END $$;

-- ---------------------------------------------------------------------------
-- 6. Special-account interest: finance allocates, a second person confirms (attack A6: one
--    finance user alone moved interest between units). 0018's form (the shares the rule gives,
--    checked in SQL), with the entry held instead of posted.
-- ---------------------------------------------------------------------------
DROP FUNCTION fl.allocate_interest(text, date, text, bigint, date, date, jsonb);
CREATE FUNCTION fl.allocate_interest(p_book text, p_date date, p_key text, p_total bigint, p_start date, p_end date,
                                     p_shares jsonb)
RETURNS TABLE (entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['finance'], 'allocate special-account interest');
  bad record;
  n   int;
  k   text;
BEGIN
  IF jsonb_typeof(p_shares) IS DISTINCT FROM 'array' OR jsonb_array_length(p_shares) = 0 THEN
    PERFORM fl.refuse('bad_document', 'expected a non-empty list of interest shares');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.book b WHERE b.code = p_book) THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF p_total IS NULL OR p_total <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the interest to share must be a positive number of fen');
  END IF;
  IF p_start IS NULL OR p_end IS NULL OR p_date IS NULL OR p_start > p_end OR p_end > p_date THEN
    PERFORM fl.refuse('interest_period', format(
      'the interest period %s … %s must be a range of days ending on or before the entry date %s',
      coalesce(p_start::text, '?'), coalesce(p_end::text, '?'), coalesce(p_date::text, '?')));
  END IF;
  SELECT x->>'unit' AS unit, x->>'amount' AS amount INTO bad
    FROM jsonb_array_elements(p_shares) x
   WHERE jsonb_typeof(x) <> 'object' OR jsonb_typeof(x->'amount') IS DISTINCT FROM 'number'
      OR (x->>'amount')::numeric <> trunc((x->>'amount')::numeric) OR (x->>'amount')::numeric <= 0
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('posting_amount_positive', format('interest share of unit %s must be a positive number of fen',
                                                        coalesce(bad.unit, '?')));
  END IF;
  IF (SELECT sum((x->>'amount')::numeric) FROM jsonb_array_elements(p_shares) x) <> p_total THEN
    PERFORM fl.refuse('interest_shares', format(
      'the interest shares add up to %s, not to the %s the bank paid; nothing was posted',
      fl.fmt_fen((SELECT sum((x->>'amount')::numeric) FROM jsonb_array_elements(p_shares) x)), fl.fmt_fen(p_total)));
  END IF;
  SELECT count(*) INTO n FROM fl.interest_shares(p_book, p_total, p_start, p_end) s WHERE s.share > 0;
  IF n = 0 THEN
    PERFORM fl.refuse('interest_shares', format(
      'no unit held a positive balance in the %s special account over %s … %s; there is nobody to credit interest to',
      p_book, p_start, p_end));
  END IF;
  SELECT coalesce(s.unit, g.unit) AS unit, coalesce(s.component, g.component, '') AS component,
         s.share AS rule, g.amount AS given INTO bad
    FROM (SELECT * FROM fl.interest_shares(p_book, p_total, p_start, p_end) s0 WHERE s0.share > 0) s
    FULL JOIN (SELECT x->>'unit' AS unit, coalesce(x->>'component', '') AS component,
                      sum((x->>'amount')::numeric) AS amount, count(*) AS n
                 FROM jsonb_array_elements(p_shares) x GROUP BY 1, 2) g
      ON g.unit = s.unit AND g.component = s.component
   WHERE s.share IS DISTINCT FROM g.amount OR g.n > 1
   ORDER BY 1, 2 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('interest_shares', format(
      'the interest share of unit %s%s is %s, but the rule (average daily balance %s … %s, largest remainder) '
      'gives %s; nothing was posted (recompute the table: fundledger interest allocate)',
      bad.unit, CASE WHEN bad.component <> '' THEN ' ' || bad.component ELSE '' END,
      coalesce(fl.fmt_fen(bad.given), 'missing'), p_start, p_end, coalesce(fl.fmt_fen(bad.rule), 'nothing')));
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'an interest allocation needs an idempotency key');
  END IF;
  k := CASE WHEN p_key LIKE 'interest:%' THEN p_key ELSE 'interest:' || p_key END;
  -- Held for a second person (0017): finance allocates, the bureau or another finance user confirms.
  RETURN QUERY SELECT x.entry_id, x.status, x.held_id FROM fl._hold(u, 'interest',
    ARRAY[ROW(1, p_book, p_date, format('专户利息 special-account interest %s, %s', p_book, p_date),
              'interest', k, NULL, '',
              jsonb_build_object('shares', p_shares, 'from', p_start, 'to', p_end), NULL)::fl.new_entry],
    (SELECT array_agg(ROW(1, (2 * s.i - 2 + l.pos)::int, p_book, CASE l.pos WHEN 1 THEN '1003' ELSE '4201' END,
                          s.x->>'unit', CASE l.pos WHEN 1 THEN 'special' ELSE '' END,
                          coalesce(s.x->>'component', ''), CASE l.pos WHEN 1 THEN 'D' ELSE 'C' END,
                          (s.x->>'amount')::bigint, NULL, NULL)::fl.new_posting ORDER BY s.i, l.pos)
       FROM jsonb_array_elements(p_shares) WITH ORDINALITY AS s(x, i) CROSS JOIN (VALUES (1), (2)) AS l(pos))) x;
END $$;
REVOKE ALL ON FUNCTION fl.allocate_interest(text, date, text, bigint, date, date, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.allocate_interest(text, date, text, bigint, date, date, jsonb)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;


-- ---------------------------------------------------------------------------
-- 7. The city proper's audited opening balance (期初): a reviewer posts, finance or a second
--    reviewer confirms. Counties' openings are the handover import (fundledger handover open).
--    Documents as for fl.post_entries (one or a list); every posting on the city unit; one
--    opening per book and component (later corrections are reversals).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.post_opening(p_docs jsonb) RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
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
  SELECT (SELECT array_agg(ROW(d.i, d.doc->>'book', (d.doc->>'date')::date,
                               coalesce(nullif(d.doc->>'memo', ''), '期初余额 audited opening balance of the city proper'),
                               'opening',
                               format('opening-city:%s:%s', d.doc->>'book',
                                      coalesce(nullif(d.doc->>'idempotency_key', ''), 'audited')),
                               NULL, NULL, d.doc->'source', NULL)::fl.new_entry ORDER BY d.i)
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i)),
         (SELECT coalesce(array_agg(ROW(d.i, p.j, d.doc->>'book', p.x->>'account', p.x->>'unit', p.x->>'holder',
                               p.x->>'component', p.x->>'side', (p.x->>'amount')::bigint, p.x->>'line_ref',
                               p.x->>'memo')::fl.new_posting ORDER BY d.i, p.j), '{}')
            FROM jsonb_array_elements(p_docs) WITH ORDINALITY AS d(doc, i),
                 jsonb_array_elements(coalesce(d.doc->'postings', '[]')) WITH ORDINALITY AS p(x, j))
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
END $$;

-- ---------------------------------------------------------------------------
-- 8. Pre-allocation refuses a key that holds an entry of another kind (it used to skip it
--    silently as "already posted"). Otherwise as in 0005.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fl.preallocate(p_year int, p_date date, p_lines jsonb)
RETURNS TABLE (unit text, book text, component text, idempotency_key text, entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
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
-- 9. Privileges, row security, the history.
-- ---------------------------------------------------------------------------
REVOKE ALL ON FUNCTION fl._kind_command(text), fl._key_in_namespace(text, text, jsonb), fl._key_namespace(text),
  fl._real_money(text, text), fl._manual_policy(fl.app_user, fl.new_posting[]),
  fl._hold(fl.app_user, text, fl.new_entry[], fl.new_posting[]), fl._decider(fl.pending_entry, text),
  fl._pending_for(bigint, text), fl.pending_entry_guard(), fl.sees_unit_all(text[]), fl.manual_policy(),
  fl.post_entries(jsonb), fl.reverse_entry(bigint, text, date, text),
  fl.confirm_entry(bigint), fl.confirm_entries(bigint[]), fl.reject_entry(bigint, text), fl.post_opening(jsonb)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.post_entries(jsonb), fl.reverse_entry(bigint, text, date, text),
  fl.confirm_entry(bigint), fl.confirm_entries(bigint[]),
  fl.reject_entry(bigint, text),
  fl.post_opening(jsonb), fl.manual_policy(), fl.sees_unit_all(text[])
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

GRANT SELECT ON fl.pending_entry, fl.pending_posting TO fl_reviewer, fl_finance, fl_auditor;
GRANT SELECT ON fl.pending_posting TO fl_officer;
-- Officers read held entries without their source (an interest allocation's source lists
-- every unit's share), as fl.entry since 0016b.
DO $$
DECLARE cols text;
BEGIN
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = 'fl.pending_entry'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'source';
  EXECUTE pg_catalog.format('GRANT SELECT (%s) ON fl.pending_entry TO fl_officer', cols);
END $$;
ALTER TABLE fl.pending_entry ENABLE ROW LEVEL SECURITY;
ALTER TABLE fl.pending_posting ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.pending_entry FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR (SELECT fl.my_unit()) = ANY (units));
CREATE POLICY unit_rows ON fl.pending_posting FOR SELECT USING (
  (SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));

SELECT fl._chain_table(t.name, t.keys) FROM (VALUES
  ('fl.pending_entry', ARRAY['id']),
  ('fl.pending_posting', ARRAY['pending_id', 'pos'])
) AS t(name, keys) ORDER BY t.name;
