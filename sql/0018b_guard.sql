-- 0018b: what 0018 left of the second attack (/work/coord/ATTACK2.md) in issue 14's classes.
--
-- B12: a fund request's amounts are capped like a posting's (10^15 fen): 9×10^18 fen was accepted
-- and listed. NOT VALID: rows already stored are not re-checked (verify reports what it finds).
ALTER TABLE fl.fund_request ADD CONSTRAINT request_amount_cap
  CHECK (amount_requested <= 1000000000000000 AND coalesce(amount_approved, 0) <= 1000000000000000) NOT VALID;

-- ---------------------------------------------------------------------------
-- ATTACK2 B4, the rows: a writer idle in its transaction keeps the bank account rows it locked
-- (the pooled special account, for any collection). Before the posting trigger locks bank rows,
-- a row held by a fundledger session idle in a write transaction gets 2 s, then that session is
-- ended (fl_guard, 0018b_guard_db.sql: the role that may see and signal sessions); a session at
-- work is waited for as before. Without fl_guard (a server where no superuser migrated) nothing
-- changes.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._clear_idle_lockers(p_xids xid[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  left_ int;
  i     int := 0;
BEGIN
  IF pg_catalog.to_regprocedure('fl_guard.idle_lockers(xid[])') IS NULL THEN
    RETURN;
  END IF;
  LOOP
    PERFORM fl_guard.end_idle_holders(ARRAY(SELECT l.pid FROM fl_guard.idle_lockers(p_xids) l));
    SELECT count(*) INTO left_ FROM fl_guard.idle_lockers(p_xids) l;     -- idle for less than 2 s
    EXIT WHEN left_ = 0 OR i >= 15;
    i := i + 1;
    PERFORM pg_catalog.pg_sleep(0.2);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION fl._clear_idle_lockers(xid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.posting_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
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
  -- here with a message that names the account when a total would go below zero, below
  -- what approved fund requests reserved on it, or past the running-total cap (the CHECK
  -- constraints no_overdraft, reserved_within_balance and bank_totals_cap refuse the
  -- UPDATE regardless). Its balance and reservations are named only to a caller who may
  -- read the account (0018, A5): the pooled special account holds every unit's money.
  -- A bank account row locked by a fundledger session idle in its transaction (ATTACK2 B4: an
  -- officer's collection locks the pooled special account, then the session waits): that session
  -- is given 2 s and then ended, instead of every writer of the pool waiting for it forever. Only
  -- a row some transaction touched since it was last updated has an xmax: one index probe otherwise.
  IF EXISTS (SELECT 1 FROM fl.bank_account b WHERE b.id = ANY (acc_bank) AND b.xmax <> '0'::xid) THEN
    PERFORM fl._clear_idle_lockers(ARRAY(SELECT b.xmax FROM fl.bank_account b
                                          WHERE b.id = ANY (acc_bank) AND b.xmax <> '0'::xid));
  END IF;
  FOR r IN
    SELECT b.id, b.book, b.holder, b.unit, b.balance, b.reserved, x.delta
      FROM (SELECT y.bank, sum(y.dr - y.cr)::bigint AS delta
              FROM unnest(acc_bank, acc_dr, acc_cr) AS y(bank, dr, cr)
             WHERE y.bank IS NOT NULL GROUP BY y.bank ORDER BY y.bank) x
     CROSS JOIN LATERAL (SELECT * FROM fl.bank_account b0 WHERE b0.id = x.bank FOR UPDATE) b
  LOOP
    IF r.balance + r.delta > 4000000000000000000 THEN
      PERFORM fl.refuse('bank_totals_cap', format(
        'the %s (%s%s) would hold more than 4×10^18 fen, the most the ledger keeps; nothing was written',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book, coalesce(', unit ' || r.unit, '')));
    ELSIF r.balance + r.delta < 0 THEN
      IF fl._reads_unit(r.unit) THEN
        PERFORM fl.refuse('no_overdraft', format(
          'the %s (%s%s) would be overdrawn: it holds %s, the payment needs %s',
          (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book,
          coalesce(', unit ' || r.unit, ''), fl.fmt_fen(r.balance), fl.fmt_fen(-r.delta)));
      END IF;
      PERFORM fl.refuse('no_overdraft', format(
        'the %s (%s%s) cannot pay out %s: it does not hold that much (its figures are the city''s); nothing was written',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book, coalesce(', unit ' || r.unit, ''),
        fl.fmt_fen(-r.delta)));
    ELSIF r.balance + r.delta < r.reserved THEN
      IF fl._reads_unit(r.unit) THEN
        PERFORM fl.refuse('reserved_within_balance', format(
          'the %s (%s%s) holds %s, of which %s is reserved for approved fund requests; %s more cannot be paid out',
          (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book,
          coalesce(', unit ' || r.unit, ''), fl.fmt_fen(r.balance), fl.fmt_fen(r.reserved), fl.fmt_fen(-r.delta)));
      END IF;
      PERFORM fl.refuse('reserved_within_balance', format(
        'the %s (%s%s) cannot pay out %s: it does not hold that much beyond what approved fund requests reserved '
        '(its figures are the city''s); nothing was written',
        (SELECT h.name_en FROM fl.holder h WHERE h.code = r.holder), r.book, coalesce(', unit ' || r.unit, ''),
        fl.fmt_fen(-r.delta)));
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
END $function$;

