-- fundledger core schema, migration 0001.
--
-- PostgreSQL is the system of record and keeps the books honest by itself: a bad
-- write fails here even when it arrives through raw SQL that bypasses Python.
--
--   * entry_balanced      debits = credits per (entry, unit, component); >= 2 postings
--   * append_only         UPDATE / DELETE / TRUNCATE of journal rows refused
--   * no_overdraft        a physical bank account never goes below zero, nor below
--                         what approved fund requests have reserved on it
--   * period_closed       no posting dated in a closed month
--   * voucher numbers     gapless per (book, fiscal year), assigned at commit
--   * idempotency         one entry per key; same key + same content = same entry
--   * hash chain          every entry chained to the previous by SHA-256
--
-- Design for speed (docs/architecture.md): checks are set-based. Postings are
-- checked and balances maintained by STATEMENT-level triggers over transition tables,
-- so a 1,000,000-line import costs a handful of grouped queries, not a million trigger
-- calls. The per-entry balance check, voucher numbers and the hash chain run once per
-- *transaction* at commit, from a deferred constraint trigger on a one-row-per-
-- transaction gate table; the locks they need (voucher counter, chain head) are
-- therefore held only for the commit itself.

CREATE SCHEMA IF NOT EXISTS fl;

-- ---------------------------------------------------------------------------
-- Roles. Group roles own nothing; people log in as their own roles, members of one
-- group. Tables belong to the migrating (admin) role. Writes go through SECURITY
-- DEFINER functions that check the caller (session_user) in fl.app_user.
-- ---------------------------------------------------------------------------
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['fl_officer','fl_reviewer','fl_finance','fl_auditor','fl_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

-- ---------------------------------------------------------------------------
-- Reference data: region, units, books, chart, holders, settings.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.setting (
  key   text PRIMARY KEY,
  value jsonb NOT NULL
);

CREATE TABLE fl.unit (
  code    text PRIMARY KEY,
  name_zh text NOT NULL,
  name_en text NOT NULL,
  kind    text NOT NULL CHECK (kind IN ('city', 'county')),
  sort    int  NOT NULL DEFAULT 0
);

CREATE TABLE fl.book (
  code             text PRIMARY KEY,
  name_zh          text NOT NULL,
  name_en          text NOT NULL,
  components       text[] NOT NULL DEFAULT '{}',
  pooled_component text NOT NULL DEFAULT ''
);

CREATE TABLE fl.chart (
  code        text PRIMARY KEY,
  parent      text REFERENCES fl.chart (code),
  name_zh     text NOT NULL,
  name_en     text NOT NULL,
  identifier  text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('asset','liability','net_assets','revenue','expenditure')),
  normal_side char(1) NOT NULL CHECK (normal_side IN ('D','C'))
);

CREATE TABLE fl.holder (
  code          text PRIMARY KEY,
  chart_code    text NOT NULL REFERENCES fl.chart (code),
  name_zh       text NOT NULL,
  name_en       text NOT NULL,
  pooled        boolean NOT NULL,
  counties_only boolean NOT NULL
);

CREATE TABLE fl.app_user (
  name       text PRIMARY KEY,
  role       text NOT NULL CHECK (role IN ('officer','reviewer','finance','auditor','admin')),
  unit       text REFERENCES fl.unit (code),
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT session_user,
  CONSTRAINT officer_has_unit CHECK ((role = 'officer') = (unit IS NOT NULL))
);

-- ---------------------------------------------------------------------------
-- Accounts. A ledger account is (book, chart code, unit, holder, component).
-- Deposit accounts belong to a physical bank account; its total is kept in
-- fl.bank_account with the no-overdraft constraints.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.bank_account (
  id       serial PRIMARY KEY,
  book     text NOT NULL REFERENCES fl.book (code),
  holder   text NOT NULL REFERENCES fl.holder (code),
  unit     text REFERENCES fl.unit (code),          -- NULL for pooled accounts
  balance  bigint NOT NULL DEFAULT 0,
  reserved bigint NOT NULL DEFAULT 0,
  CONSTRAINT no_overdraft CHECK (balance >= 0),
  CONSTRAINT reserved_within_balance CHECK (reserved >= 0 AND balance >= reserved),
  UNIQUE NULLS NOT DISTINCT (book, holder, unit)
);

CREATE TABLE fl.account (
  id              serial PRIMARY KEY,
  book            text NOT NULL REFERENCES fl.book (code),
  chart_code      text NOT NULL REFERENCES fl.chart (code),
  unit            text NOT NULL REFERENCES fl.unit (code),
  holder          text NOT NULL DEFAULT '',
  component       text NOT NULL DEFAULT '',
  bank_account_id int REFERENCES fl.bank_account (id),
  balance         bigint NOT NULL DEFAULT 0,       -- debits minus credits, maintained
  debits          bigint NOT NULL DEFAULT 0,
  credits         bigint NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (book, chart_code, unit, holder, component),
  CONSTRAINT balance_is_sum CHECK (balance = debits - credits)
);

-- Daily movement per account: answers "balance as of D" and period reports without
-- scanning postings. Maintained set-based by the posting trigger.
CREATE TABLE fl.account_day (
  account_id int    NOT NULL,
  day        date   NOT NULL,
  debits     bigint NOT NULL DEFAULT 0,
  credits    bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, day)
);

-- ---------------------------------------------------------------------------
-- Periods.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.closed_period (
  month     date PRIMARY KEY CHECK (extract(day FROM month) = 1),
  closed_by text NOT NULL DEFAULT session_user,
  closed_at timestamptz NOT NULL DEFAULT now(),
  reason    text NOT NULL DEFAULT ''
);

-- ---------------------------------------------------------------------------
-- The journal.
-- ---------------------------------------------------------------------------
CREATE TABLE fl.entry (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  book            text NOT NULL REFERENCES fl.book (code),
  entry_date      date NOT NULL,
  memo            text NOT NULL DEFAULT '',
  kind            text NOT NULL DEFAULT 'manual',
  idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  content_hash    bytea NOT NULL,
  reverses        bigint UNIQUE REFERENCES fl.entry (id),
  reason          text NOT NULL DEFAULT '',
  source          jsonb,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL,
  client_addr     inet,
  created_xid     xid8 NOT NULL,
  CONSTRAINT reversal_points_back CHECK (reverses IS NULL OR reverses < id)
);

CREATE TABLE fl.posting (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entry_id   bigint NOT NULL,
  account_id int    NOT NULL,
  side       char(1) NOT NULL CONSTRAINT posting_side CHECK (side IN ('D','C')),
  amount     bigint NOT NULL CONSTRAINT posting_amount_positive CHECK (amount > 0),
  entry_date date   NOT NULL,   -- copy of the entry's date (checked), for as-of reads
  unit       text   NOT NULL,   -- copy of the account's unit (checked), for row security
  line_ref   text,              -- the source row's reference, for imports
  memo       text
);
CREATE INDEX posting_entry ON fl.posting (entry_id);
-- The seal finds the entries of the committing transaction by their xid.
CREATE INDEX entry_created_xid ON fl.entry (created_xid);
CREATE INDEX posting_account_date ON fl.posting (account_id, entry_date) INCLUDE (side, amount);

-- Sealing: voucher number and hash-chain link, written at commit, append-only.
CREATE TABLE fl.seal (
  entry_id       bigint PRIMARY KEY REFERENCES fl.entry (id),
  seq            bigint NOT NULL UNIQUE CHECK (seq > 0),
  book           text   NOT NULL,
  fiscal_year    int    NOT NULL,
  voucher_no     int    NOT NULL CHECK (voucher_no > 0),
  content_digest bytea  NOT NULL,
  prev_hash      bytea  NOT NULL,
  hash           bytea  NOT NULL,
  sealed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (book, fiscal_year, voucher_no)
);

CREATE TABLE fl.voucher_counter (
  book        text NOT NULL,
  fiscal_year int  NOT NULL,
  last_no     int  NOT NULL,
  PRIMARY KEY (book, fiscal_year)
);

CREATE TABLE fl.chain_head (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq       bigint NOT NULL,
  hash      bytea  NOT NULL
);
INSERT INTO fl.chain_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- One row per writing transaction, inserted by its first entry and deleted by the seal
-- at commit (so empty at rest): its deferred constraint trigger is the commit hook.
CREATE TABLE fl.txn_gate (
  xid xid8 PRIMARY KEY
);

-- ---------------------------------------------------------------------------
-- Raising with a named constraint, so the store can translate by name.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.refuse(p_constraint text, p_message text, p_errcode text DEFAULT 'check_violation')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = p_errcode, CONSTRAINT = p_constraint, MESSAGE = p_message;
END $$;

CREATE FUNCTION fl.fmt_fen(v numeric) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v < 0 THEN '-' ELSE '' END
      || to_char(div(abs(v), 100), 'FM999,999,999,999,999,990')
      || '.' || lpad(mod(abs(v), 100)::text, 2, '0')
$$;

CREATE FUNCTION fl.entry_label(p_entry bigint) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT s.fiscal_year || '-' || lpad(s.voucher_no::text, 6, '0')
                     FROM fl.seal s WHERE s.entry_id = p_entry),
                  'entry #' || p_entry)
      || coalesce(' (' || (SELECT e.idempotency_key FROM fl.entry e WHERE e.id = p_entry) || ')', '')
$$;

-- ---------------------------------------------------------------------------
-- Append-only: no UPDATE, DELETE or TRUNCATE on journal tables, ever.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only: % on %.% is refused; post a reversal instead',
    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'append_only';
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['entry','posting','seal','closed_period'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.refuse_change()',
                   t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_truncate', t);
  END LOOP;
  -- Maintained tables may be updated by the triggers, but never emptied or thinned.
  FOREACH t IN ARRAY ARRAY['account','account_day','bank_account','voucher_counter','chain_head'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON fl.%I FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_truncate', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON fl.%I FOR EACH ROW EXECUTE FUNCTION fl.refuse_change()',
                   t || '_no_delete', t);
  END LOOP;
END $$;

-- An account's identity never changes once it exists.
CREATE FUNCTION fl.account_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.book, NEW.chart_code, NEW.unit, NEW.holder, NEW.component, NEW.bank_account_id)
     IS DISTINCT FROM (OLD.book, OLD.chart_code, OLD.unit, OLD.holder, OLD.component, OLD.bank_account_id) THEN
    RAISE EXCEPTION 'an account''s identity cannot change (account %)', OLD.id
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'append_only';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER account_identity_fixed BEFORE UPDATE ON fl.account
  FOR EACH ROW EXECUTE FUNCTION fl.account_identity_fixed();

-- ---------------------------------------------------------------------------
-- Entries: stamp who/when (not what the client claims), register for commit checks.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.entry_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_by  := session_user;
  NEW.created_at  := now();
  NEW.client_addr := inet_client_addr();
  NEW.created_xid := pg_current_xact_id();
  RETURN NEW;
END $$;
CREATE TRIGGER entry_stamp BEFORE INSERT ON fl.entry FOR EACH ROW EXECUTE FUNCTION fl.entry_stamp();

CREATE FUNCTION fl.entry_inserted() RETURNS trigger LANGUAGE plpgsql
-- Generic plans: re-planning every statement on every call cost more than running it.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE bad record;
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  SELECT n.id, n.entry_date, n.book INTO bad
    FROM new_entries n JOIN fl.closed_period c ON c.month = date_trunc('month', n.entry_date)::date
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('period_closed',
      format('entry dated %s refused: the period %s is closed', bad.entry_date, to_char(bad.entry_date, 'YYYY-MM')));
  END IF;
  INSERT INTO fl.txn_gate VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER entry_inserted AFTER INSERT ON fl.entry
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION fl.entry_inserted();

-- ---------------------------------------------------------------------------
-- Postings: set-based checks and balance maintenance per statement.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.posting_inserted() RETURNS trigger LANGUAGE plpgsql
-- Generic plans: re-planning every statement on every call cost more than running it.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  bad record;
  me  xid8 := pg_current_xact_id();
BEGIN
  -- Every posting belongs to an entry created in this very transaction (no appending
  -- to committed entries), to an existing account of the entry's book, and carries
  -- the entry's date and the account's unit.
  SELECT p.id, p.entry_id, e.id AS eid, e.created_xid, e.entry_date, e.book AS ebook,
         a.id AS aid, a.book AS abook, a.unit AS aunit, p.entry_date AS pdate, p.unit AS punit
    INTO bad
    FROM new_postings p
    -- The distinct entries and accounts of this statement, each fetched by its primary
    -- key (LATERAL), then hash-joined to the postings: never a scan of the journal.
    LEFT JOIN (SELECT e1.* FROM (SELECT DISTINCT entry_id FROM new_postings) d
                CROSS JOIN LATERAL (SELECT * FROM fl.entry x WHERE x.id = d.entry_id OFFSET 0) e1) e ON e.id = p.entry_id
    LEFT JOIN (SELECT a1.* FROM (SELECT DISTINCT account_id FROM new_postings) d
                CROSS JOIN LATERAL (SELECT * FROM fl.account x WHERE x.id = d.account_id OFFSET 0) a1) a ON a.id = p.account_id
   WHERE e.id IS NULL OR e.created_xid <> me OR a.id IS NULL OR a.book <> e.book
      OR p.entry_date <> e.entry_date OR p.unit <> a.unit
   LIMIT 1;
  IF FOUND THEN
    IF bad.eid IS NULL THEN
      PERFORM fl.refuse('posting_entry', format('posting refers to entry %s, which does not exist', bad.entry_id), 'foreign_key_violation');
    ELSIF bad.created_xid <> me THEN
      PERFORM fl.refuse('append_only', format('postings cannot be added to %s: it is already committed; post a new entry', fl.entry_label(bad.eid)), 'integrity_constraint_violation');
    ELSIF bad.aid IS NULL THEN
      PERFORM fl.refuse('posting_account', 'posting refers to an account that does not exist', 'foreign_key_violation');
    ELSIF bad.abook <> bad.ebook THEN
      PERFORM fl.refuse('posting_book', format('a posting of book %s cannot sit in an entry of book %s', bad.abook, bad.ebook));
    ELSE
      PERFORM fl.refuse('posting_copy', 'a posting''s date and unit must equal its entry''s date and its account''s unit');
    END IF;
  END IF;

  -- Lock the touched accounts in id order (no deadlocks between writers), then apply.
  PERFORM 1 FROM fl.account a
   WHERE a.id IN (SELECT DISTINCT account_id FROM new_postings)
   ORDER BY a.id FOR UPDATE;

  UPDATE fl.account a
     SET debits  = a.debits  + d.dr,
         credits = a.credits + d.cr,
         balance = a.balance + d.dr - d.cr
    FROM (SELECT account_id,
                 sum(amount) FILTER (WHERE side = 'D') AS dr0,
                 sum(amount) FILTER (WHERE side = 'C') AS cr0
            FROM new_postings GROUP BY account_id) d0
   CROSS JOIN LATERAL (SELECT coalesce(d0.dr0, 0)::bigint AS dr, coalesce(d0.cr0, 0)::bigint AS cr) d
   WHERE a.id = d0.account_id;

  INSERT INTO fl.account_day AS ad (account_id, day, debits, credits)
  SELECT account_id, entry_date,
         coalesce(sum(amount) FILTER (WHERE side = 'D'), 0),
         coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)
    FROM new_postings GROUP BY account_id, entry_date
   ORDER BY account_id, entry_date
  ON CONFLICT (account_id, day) DO UPDATE
     SET debits = ad.debits + EXCLUDED.debits, credits = ad.credits + EXCLUDED.credits;

  -- Physical bank accounts: the CHECK constraints no_overdraft and
  -- reserved_within_balance refuse the statement if any total would go negative.
  PERFORM 1 FROM fl.bank_account b
   WHERE b.id IN (SELECT a.bank_account_id FROM new_postings p JOIN fl.account a ON a.id = p.account_id)
   ORDER BY b.id FOR UPDATE;
  BEGIN
    UPDATE fl.bank_account b
       SET balance = b.balance + d.delta
      FROM (SELECT a.bank_account_id, sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS delta
              FROM new_postings p JOIN fl.account a ON a.id = p.account_id
             WHERE a.bank_account_id IS NOT NULL
             GROUP BY a.bank_account_id) d
     WHERE b.id = d.bank_account_id AND d.delta <> 0;
  EXCEPTION WHEN check_violation THEN
    SELECT b.id, b.book, b.holder, b.unit, b.balance, b.reserved, d.delta INTO bad
      FROM fl.bank_account b
      JOIN (SELECT a.bank_account_id, sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS delta
              FROM new_postings p JOIN fl.account a ON a.id = p.account_id
             WHERE a.bank_account_id IS NOT NULL GROUP BY a.bank_account_id) d ON d.bank_account_id = b.id
     WHERE b.balance + d.delta < b.reserved
     ORDER BY b.id LIMIT 1;
    IF bad.balance + bad.delta < 0 THEN
      PERFORM fl.refuse('no_overdraft', format(
        'the %s (%s%s) would be overdrawn: it holds %s, the payment needs %s',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = bad.holder), bad.book,
        coalesce(', unit ' || bad.unit, ''), fl.fmt_fen(bad.balance), fl.fmt_fen(-bad.delta)));
    ELSE
      PERFORM fl.refuse('reserved_within_balance', format(
        'the %s (%s%s) holds %s, of which %s is reserved for approved fund requests; %s more cannot be paid out',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = bad.holder), bad.book,
        coalesce(', unit ' || bad.unit, ''), fl.fmt_fen(bad.balance), fl.fmt_fen(bad.reserved), fl.fmt_fen(-bad.delta)));
    END IF;
  END;
  RETURN NULL;
END $$;
CREATE TRIGGER posting_inserted AFTER INSERT ON fl.posting
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_inserted();

-- ---------------------------------------------------------------------------
-- The canonical content of an entry, hashed into the chain. Verify recomputes it.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.entry_canonical(p_entry bigint) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''),
                   e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))
      || '#' || (SELECT string_agg(concat_ws(':', a.book, a.chart_code, a.unit, a.holder, a.component,
                                             p.side, p.amount, coalesce(p.line_ref, '')), ';' ORDER BY p.id)
                   FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
                  WHERE p.entry_id = e.id)
    FROM fl.entry e WHERE e.id = p_entry
$$;

-- ---------------------------------------------------------------------------
-- The commit-time seal: runs once per writing transaction.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.seal_transaction() RETURNS trigger LANGUAGE plpgsql
-- SECURITY DEFINER: a deferred trigger fires at COMMIT, after the API function that
-- queued it has returned. PostgreSQL 18 runs it as the role that queued the event, but
-- 15-17 run it as the role current at COMMIT — the application login, which may not
-- touch the counters. Pinning the owner makes the seal behave the same on every version.
-- Generic plans: re-planning every statement on every call cost more than running it.
SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  me      xid8 := NEW.xid;
  bad     record;
  head    record;
  r       record;
  h       bytea;
  n       bigint;
  ids     bigint[] := '{}';
  seqs    bigint[] := '{}';
  books   text[] := '{}';
  years   int[] := '{}';
  nos     int[] := '{}';
  digests bytea[] := '{}';
  prevs   bytea[] := '{}';
  hashes  bytea[] := '{}';
  mine    bigint[];
BEGIN
  -- This transaction's entries, found once through the created_xid index. Dynamic SQL
  -- is planned with the actual xid every time: a cached generic plan for this lookup
  -- chose the primary key and a filter, a cost that grew with the whole journal.
  EXECUTE 'SELECT array_agg(id ORDER BY id) FROM fl.entry WHERE created_xid = $1' INTO mine USING me;
  mine := coalesce(mine, '{}');
  -- 1. Every entry of this transaction has at least two postings, and debits =
  --    credits per unit and component. One grouped query for both rules.
  SELECT g.entry_id, g.unit, g.component, g.book, g.dr, g.cr, g.n INTO bad
    FROM (SELECT e.id AS entry_id, e.book, pa.unit, pa.component,
                 coalesce(sum(pa.amount) FILTER (WHERE pa.side = 'D'), 0) AS dr,
                 coalesce(sum(pa.amount) FILTER (WHERE pa.side = 'C'), 0) AS cr,
                 sum(count(pa.id)) OVER (PARTITION BY e.id) AS n
            FROM (SELECT x.* FROM unnest(mine) AS mi(id) CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) x) e
            -- LATERAL with OFFSET 0 (so it is not flattened into a join): each entry's
            -- postings by the posting_entry index, whatever the cached generic plan thinks
            -- of the table sizes (a hash join scanned every posting, a cost that grew with
            -- the journal).
            LEFT JOIN LATERAL (SELECT p.id, p.side, p.amount, a.unit, a.component
                                 FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
                                WHERE p.entry_id = e.id OFFSET 0) pa ON true
           GROUP BY e.id, e.book, pa.unit, pa.component) g
   WHERE g.n < 2 OR g.dr <> g.cr
   ORDER BY g.entry_id LIMIT 1;
  IF FOUND THEN
    IF bad.n < 2 THEN
      PERFORM fl.refuse('entry_min_postings',
        format('%s has %s posting(s); an entry needs at least two', fl.entry_label(bad.entry_id), bad.n));
    END IF;
    PERFORM fl.refuse('entry_balanced', format('%s: debits %s ≠ credits %s for unit %s, book %s%s',
      fl.entry_label(bad.entry_id), fl.fmt_fen(bad.dr), fl.fmt_fen(bad.cr),
      bad.unit, bad.book, CASE WHEN bad.component <> '' THEN ', component ' || bad.component ELSE '' END));
  END IF;

  -- 2. A reversal mirrors what it reverses: same accounts and amounts, sides swapped.
  IF EXISTS (SELECT 1 FROM (SELECT x.* FROM unnest(mine) AS mi(id) CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) x) e WHERE e.reverses IS NOT NULL) THEN
    SELECT e.id, e.reverses INTO bad
      FROM (SELECT x.* FROM unnest(mine) AS mi(id) CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) x) e
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

  -- 3. Voucher numbers, gapless per (book, fiscal year). Counters are locked in
  --    (book, year) order by the upserts, then the chain head: one fixed lock order
  --    for every committer, and held only until this commit completes.
  FOR r IN
    SELECT e.book, extract(year FROM e.entry_date)::int AS y, count(*) AS k
      FROM (SELECT x.* FROM unnest(mine) AS mi(id) CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) x) e GROUP BY 1, 2 ORDER BY 1, 2
  LOOP
    INSERT INTO fl.voucher_counter AS vc (book, fiscal_year, last_no) VALUES (r.book, r.y, r.k)
    ON CONFLICT (book, fiscal_year) DO UPDATE SET last_no = vc.last_no + EXCLUDED.last_no;
  END LOOP;

  SELECT * INTO head FROM fl.chain_head WHERE id FOR UPDATE;
  n := head.seq;
  h := head.hash;

  -- 4. The hash chain, in entry id order. Each entry's content digest (the canonical
  --    text of fl.entry_canonical, computed set-based here) is independent; only the
  --    32-byte link is sequential.
  FOR r IN
    WITH my_entries AS (
      SELECT e.*, extract(year FROM e.entry_date)::int AS y
        FROM unnest(mine) AS mi(id)
        CROSS JOIN LATERAL (SELECT * FROM fl.entry x0 WHERE x0.id = mi.id OFFSET 0) e),
    numbered AS (
      SELECT m.*, vc.last_no - count(*) OVER (PARTITION BY m.book, m.y)
               + row_number() OVER (PARTITION BY m.book, m.y ORDER BY m.id) AS vno
        FROM my_entries m JOIN fl.voucher_counter vc ON vc.book = m.book AND vc.fiscal_year = m.y)
    SELECT nb.id, nb.book, nb.y, nb.vno,
           sha256(convert_to(
             concat_ws('|', nb.id, nb.book, nb.entry_date, nb.idempotency_key, coalesce(nb.reverses::text, ''),
                       nb.kind, nb.memo, nb.created_by, encode(nb.content_hash, 'hex'))
             || '#' || pc.lines, 'UTF8')) AS digest
      FROM numbered nb
      CROSS JOIN LATERAL (
        SELECT string_agg(concat_ws(':', a.book, a.chart_code, a.unit, a.holder, a.component,
                                    p.side, p.amount, coalesce(p.line_ref, '')), ';' ORDER BY p.id) AS lines
          FROM fl.posting p JOIN fl.account a ON a.id = p.account_id WHERE p.entry_id = nb.id) pc
     ORDER BY nb.id
  LOOP
    n := n + 1;
    ids := ids || r.id; seqs := seqs || n; books := books || r.book; years := years || r.y;
    nos := nos || r.vno::int; digests := digests || r.digest; prevs := prevs || h;
    h := sha256(h || r.digest || convert_to(r.vno::text, 'UTF8'));
    hashes := hashes || h;
  END LOOP;

  INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
  SELECT * FROM unnest(ids, seqs, books, years, nos, digests, prevs, hashes);
  UPDATE fl.chain_head SET seq = n, hash = h WHERE id;
  DELETE FROM fl.txn_gate WHERE xid = me;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER seal_transaction AFTER INSERT ON fl.txn_gate
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fl.seal_transaction();

-- ---------------------------------------------------------------------------
-- Seeding reference data and accounts.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.account_for(p_book text, p_code text, p_unit text, p_holder text, p_component text)
RETURNS int LANGUAGE plpgsql AS $$
-- Find or create the ledger account (book, code, unit, holder, component), refusing
-- combinations the chart does not allow. Created on first use (BRIEF §3).
DECLARE
  acc_id int;
  c      record;
  hd     record;
  u      record;
  b      record;
  bank   int;
  holders text[];
BEGIN
  SELECT id INTO acc_id FROM fl.account
   WHERE book = p_book AND chart_code = p_code AND unit = p_unit AND holder = p_holder AND component = p_component;
  IF FOUND THEN RETURN acc_id; END IF;

  SELECT * INTO b FROM fl.book WHERE code = p_book;
  IF NOT FOUND THEN PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation'); END IF;
  SELECT * INTO c FROM fl.chart WHERE code = p_code;
  IF NOT FOUND THEN PERFORM fl.refuse('account_chart', format('unknown account code ''%s''', p_code), 'foreign_key_violation'); END IF;
  SELECT * INTO u FROM fl.unit WHERE code = p_unit;
  IF NOT FOUND THEN PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation'); END IF;
  IF EXISTS (SELECT 1 FROM fl.chart ch WHERE ch.parent = p_code) THEN
    PERFORM fl.refuse('account_leaf', format('account %s has sub-accounts; post to one of: %s', p_code,
      (SELECT string_agg(code, ', ' ORDER BY code) FROM fl.chart WHERE parent = p_code)));
  END IF;
  IF cardinality(b.components) > 0 AND NOT p_component = ANY (b.components) THEN
    PERFORM fl.refuse('account_component', format('book %s needs a component (%s) on every posting; got ''%s''',
      p_book, array_to_string(b.components, ' or '), p_component));
  ELSIF cardinality(b.components) = 0 AND p_component <> '' THEN
    PERFORM fl.refuse('account_component', format('book %s has no components; got ''%s''', p_book, p_component));
  END IF;

  SELECT array_agg(h.code ORDER BY h.code) INTO holders FROM fl.holder h
   WHERE h.chart_code = p_code AND (NOT h.counties_only OR u.kind = 'county');
  IF holders IS NULL THEN
    IF p_holder <> '' THEN
      PERFORM fl.refuse('account_holder', format('account %s has no holder (bank account); got ''%s''', p_code, p_holder));
    END IF;
  ELSE
    IF p_holder = '' THEN
      PERFORM fl.refuse('account_holder', format('account %s for unit %s needs a holder: one of %s',
        p_code, p_unit, array_to_string(holders, ', ')));
    ELSIF NOT p_holder = ANY (holders) THEN
      PERFORM fl.refuse('account_holder', format('holder ''%s'' is not allowed for account %s of unit %s (allowed: %s)',
        p_holder, p_code, p_unit, array_to_string(holders, ', ')));
    END IF;
    SELECT * INTO hd FROM fl.holder WHERE code = p_holder;
    INSERT INTO fl.bank_account (book, holder, unit)
    VALUES (p_book, p_holder, CASE WHEN hd.pooled THEN NULL ELSE p_unit END)
    ON CONFLICT (book, holder, unit) DO NOTHING;
    SELECT id INTO bank FROM fl.bank_account
     WHERE book = p_book AND holder = p_holder AND unit IS NOT DISTINCT FROM (CASE WHEN hd.pooled THEN NULL ELSE p_unit END);
  END IF;

  INSERT INTO fl.account (book, chart_code, unit, holder, component, bank_account_id)
  VALUES (p_book, p_code, p_unit, p_holder, p_component, bank)
  ON CONFLICT (book, chart_code, unit, holder, component) DO NOTHING
  RETURNING id INTO acc_id;
  IF acc_id IS NULL THEN
    SELECT id INTO acc_id FROM fl.account
     WHERE book = p_book AND chart_code = p_code AND unit = p_unit AND holder = p_holder AND component = p_component;
  END IF;
  RETURN acc_id;
END $$;

-- ---------------------------------------------------------------------------
-- Hot rows. Every commit updates the voucher counter and the chain head, and every
-- posting statement the touched accounts, their day rows and the bank totals. Without
-- free space on their pages the updates cannot stay HOT, the tables grow page by page
-- between vacuums and each commit reads more of them (measured: commit cost rising with
-- the size of the journal). Room on the page and eager autovacuum keep them at a page
-- or two.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.chain_head SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE fl.voucher_counter SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE fl.bank_account SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE fl.account SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE fl.account_day SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05);
