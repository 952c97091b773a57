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
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- roles are cluster-wide: a migration of another database on this server made it first
      END;
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

-- One row per INSERT statement on fl.entry, written by its statement trigger and
-- deleted by the seal at commit (so empty at rest): its deferred constraint trigger is
-- the commit hook, and the row carries the ids of that statement's entries, so the
-- seal needs no search for them. A deferred AFTER INSERT trigger reads the row as it
-- was inserted, so a later UPDATE of it cannot hide an entry from the seal.
CREATE TABLE fl.txn_gate (
  xid         xid8 NOT NULL,
  first_entry bigint PRIMARY KEY,     -- the smallest entry id of the statement
  ids         bigint[] NOT NULL
);

-- Entries committed while another commit held the chain head, with what the seal needs
-- (book, fiscal year, content digest computed at their commit). Waiting for the head
-- would hold every writer behind the holder's WAL flush, one commit at a time; instead
-- such a commit queues its entries here and the next commit that finds the head free
-- (or fl.seal_pending()) seals them, oldest first, before its own. Rows leave only by
-- being sealed; the queue is empty at rest once any writer has run after a burst.
CREATE TABLE fl.seal_queue (
  entry_id       bigint PRIMARY KEY REFERENCES fl.entry (id),
  book           text   NOT NULL,
  fiscal_year    int    NOT NULL,
  content_digest bytea  NOT NULL,
  queued_at      timestamptz NOT NULL DEFAULT clock_timestamp()
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

-- A queued entry leaves the queue only once it is sealed: a DELETE of a row whose entry
-- has no seal (yet) is refused, so the queue cannot be used to drop an entry from the
-- chain. Rows are never updated.
CREATE FUNCTION fl.seal_queue_leave() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM fl.seal s WHERE s.entry_id = OLD.entry_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% on fl.seal_queue is refused: entry % is queued for sealing and leaves the queue only when sealed',
    TG_OP, OLD.entry_id USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'append_only';
END $$;
CREATE TRIGGER seal_queue_leave BEFORE UPDATE OR DELETE ON fl.seal_queue
  FOR EACH ROW EXECUTE FUNCTION fl.seal_queue_leave();
CREATE TRIGGER seal_queue_no_truncate BEFORE TRUNCATE ON fl.seal_queue
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

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
  INSERT INTO fl.txn_gate (first_entry, xid, ids)
  SELECT min(id), pg_current_xact_id(), array_agg(id ORDER BY id) FROM new_entries HAVING count(*) > 0;
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
  bad    record;
  r      record;
  me     xid8 := pg_current_xact_id();
  banks  int[] := '{}';
  deltas bigint[] := '{}';
  acc_ids  int[];
  acc_dr   bigint[];
  acc_cr   bigint[];
  acc_bank int[];
BEGIN
  -- Every posting belongs to an entry created in this very transaction (no appending
  -- to committed entries), to an existing account of the entry's book, and carries
  -- the entry's date and the account's unit.
  -- Checked per distinct (entry, account, date, unit) of the statement — a handful even
  -- for a million postings — each entry and account probed by its primary key
  -- (LATERAL … OFFSET 0). The cached generic plan cannot know the statement's size; a
  -- join of every posting against the distinct sets went quadratic on a 1M-row insert.
  SELECT g.entry_id, e.id AS eid, e.created_xid, e.entry_date, e.book AS ebook,
         a.id AS aid, a.book AS abook, a.unit AS aunit, g.entry_date AS pdate, g.unit AS punit
    INTO bad
    FROM (SELECT entry_id, account_id, entry_date, unit FROM new_postings GROUP BY 1, 2, 3, 4) g
    LEFT JOIN LATERAL (SELECT x.id, x.created_xid, x.entry_date, x.book FROM fl.entry x
                        WHERE x.id = g.entry_id OFFSET 0) e ON true
    LEFT JOIN LATERAL (SELECT x.id, x.book, x.unit FROM fl.account x WHERE x.id = g.account_id OFFSET 0) a ON true
   WHERE e.id IS NULL OR e.created_xid <> me OR a.id IS NULL OR a.book <> e.book
      OR g.entry_date <> e.entry_date OR g.unit <> a.unit
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

  -- Per account: the totals of this statement, each account row locked in id order
  -- (nested loop over the sorted totals: no deadlocks between writers) and fetched by
  -- its primary key — never a scan of fl.account, whatever the generic plan.
  SELECT array_agg(t.account_id), array_agg(t.dr), array_agg(t.cr), array_agg(l.bank_account_id)
    INTO acc_ids, acc_dr, acc_cr, acc_bank
    FROM (SELECT account_id,
                 coalesce(sum(amount) FILTER (WHERE side = 'D'), 0)::bigint AS dr,
                 coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)::bigint AS cr
            FROM new_postings GROUP BY account_id ORDER BY account_id) t
   CROSS JOIN LATERAL (SELECT a.bank_account_id FROM fl.account a WHERE a.id = t.account_id FOR UPDATE) l;

  -- Account totals and daily movements in one statement.
  WITH totals AS (
    -- (= ANY: an index scan of the locked rows, never a hash join over all accounts)
    UPDATE fl.account a
       SET debits  = a.debits  + acc_dr[array_position(acc_ids, a.id)],
           credits = a.credits + acc_cr[array_position(acc_ids, a.id)],
           balance = a.balance + acc_dr[array_position(acc_ids, a.id)] - acc_cr[array_position(acc_ids, a.id)]
     WHERE a.id = ANY (acc_ids))
  INSERT INTO fl.account_day AS ad (account_id, day, debits, credits)
  SELECT account_id, entry_date,
         coalesce(sum(amount) FILTER (WHERE side = 'D'), 0),
         coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)
    FROM new_postings GROUP BY account_id, entry_date
   ORDER BY account_id, entry_date
  ON CONFLICT (account_id, day) DO UPDATE
     SET debits = ad.debits + EXCLUDED.debits, credits = ad.credits + EXCLUDED.credits;

  -- Physical bank accounts, locked in id order with the change each receives: refused
  -- here with a message that names the account when a total would go below zero or
  -- below what approved fund requests reserved on it (the CHECK constraints
  -- no_overdraft and reserved_within_balance refuse the UPDATE regardless).
  FOR r IN
    SELECT b.id, b.book, b.holder, b.unit, b.balance, b.reserved, x.delta
      FROM (SELECT y.bank, sum(y.dr - y.cr)::bigint AS delta
              FROM unnest(acc_bank, acc_dr, acc_cr) AS y(bank, dr, cr)
             WHERE y.bank IS NOT NULL GROUP BY y.bank ORDER BY y.bank) x
     CROSS JOIN LATERAL (SELECT * FROM fl.bank_account b0 WHERE b0.id = x.bank FOR UPDATE) b
  LOOP
    IF r.balance + r.delta < 0 THEN
      PERFORM fl.refuse('no_overdraft', format(
        'the %s (%s%s) would be overdrawn: it holds %s, the payment needs %s',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book,
        coalesce(', unit ' || r.unit, ''), fl.fmt_fen(r.balance), fl.fmt_fen(-r.delta)));
    ELSIF r.balance + r.delta < r.reserved THEN
      PERFORM fl.refuse('reserved_within_balance', format(
        'the %s (%s%s) holds %s, of which %s is reserved for approved fund requests; %s more cannot be paid out',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book,
        coalesce(', unit ' || r.unit, ''), fl.fmt_fen(r.balance), fl.fmt_fen(r.reserved), fl.fmt_fen(-r.delta)));
    END IF;
    IF r.delta <> 0 THEN
      banks := banks || r.id;
      deltas := deltas || r.delta;
    END IF;
  END LOOP;
  IF cardinality(banks) > 0 THEN
    UPDATE fl.bank_account b SET balance = b.balance + deltas[array_position(banks, b.id)]
     WHERE b.id = ANY (banks);
  END IF;
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
-- Sealing: voucher numbers and hash-chain links, assigned under the chain-head lock.
-- ---------------------------------------------------------------------------
-- fl._seal: the caller holds the chain head (seq p_seq, hash p_hash). Seals every
-- queued entry visible now (committed by writers that found the head taken), oldest
-- entry first, then p_ids (the caller's own, already checked and digested), writes
-- their voucher numbers (gapless per book and fiscal year) and chain links, moves the
-- head and deletes the caller's gate row (p_gate) and the sealed queue rows.
-- Only what follows the lock runs here: no reads of postings, a loop over 32-byte links.
CREATE FUNCTION fl._seal(p_gate bigint, p_seq bigint, p_hash bytea, p_ids bigint[], p_books text[], p_years int[],
                         p_digests bytea[]) RETURNS int LANGUAGE plpgsql
-- Generic plans: re-planning every statement on every call cost more than running it.
SET plan_cache_mode = force_generic_plan AS $$
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
  WITH c AS (SELECT t.b, t.y, count(*)::int AS k FROM unnest(p_books, p_years) AS t(b, y) GROUP BY 1, 2),
  u AS (INSERT INTO fl.voucher_counter AS vc (book, fiscal_year, last_no)
        SELECT c.b, c.y, c.k FROM c ORDER BY c.b, c.y
        ON CONFLICT (book, fiscal_year) DO UPDATE SET last_no = vc.last_no + EXCLUDED.last_no
        RETURNING vc.book, vc.fiscal_year, vc.last_no)
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

  WITH s AS (INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)
             SELECT * FROM unnest(p_ids, seqs, p_books, p_years, nos, p_digests, prevs, hashes)),
  g AS (DELETE FROM fl.txn_gate WHERE first_entry = p_gate)
  UPDATE fl.chain_head SET seq = n, hash = h WHERE id;
  -- (A statement of its own: the queue's delete trigger checks each row is now sealed.)
  IF q_ids IS NOT NULL THEN
    DELETE FROM fl.seal_queue WHERE entry_id = ANY (q_ids);
  END IF;
  RETURN cardinality(p_ids);
END $$;

-- ---------------------------------------------------------------------------
-- The commit-time seal: runs once per INSERT statement on fl.entry, at commit.
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
  bad     record;
  r       record;
  h       bytea;
  n       bigint;
  rev     boolean := false;
  ids     bigint[] := '{}';
  books   text[] := '{}';
  years   int[] := '{}';
  digests bytea[] := '{}';
BEGIN
  -- 1. Before taking any shared lock, one pass over the statement's entries (NEW.ids,
  --    as the entry trigger recorded them) and their postings: at least two postings,
  --    debits = credits per unit and component, and the content digest (the canonical
  --    text of fl.entry_canonical, computed set-based). LATERAL … OFFSET 0: each entry
  --    and its postings by index, whatever a cached generic plan thinks of table sizes.
  FOR r IN
    SELECT e.id, e.book, extract(year FROM e.entry_date)::int AS y, e.reverses, pc.n,
           ub.unit, ub.component, ub.dr, ub.cr,
           sha256(convert_to(
             concat_ws('|', e.id, e.book, e.entry_date, e.idempotency_key, coalesce(e.reverses::text, ''),
                       e.kind, e.memo, e.created_by, encode(e.content_hash, 'hex'))
             || '#' || pc.lines, 'UTF8')) AS digest
      FROM unnest(NEW.ids) AS mi(id)
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
  SELECT ch.seq, ch.hash INTO n, h FROM fl.chain_head ch WHERE ch.id FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    WITH q AS (INSERT INTO fl.seal_queue (entry_id, book, fiscal_year, content_digest)
               SELECT * FROM unnest(ids, books, years, digests))
    DELETE FROM fl.txn_gate WHERE first_entry = NEW.first_entry;
    RETURN NULL;
  END IF;
  PERFORM fl._seal(NEW.first_entry, n, h, ids, books, years, digests);
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
ALTER TABLE fl.seal_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE fl.voucher_counter SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE fl.bank_account SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE fl.account SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE fl.account_day SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05);
