-- 0018: what a second attack on 0008-0016 found (issue 14: A5, A6, A7, A8, A11) and a refactor.
--
-- A5  Refusals say nothing the caller may not read. The overdraft refusal named the balance and the
--     reservations of the bank account it protects, and the pooled special account's figures are every
--     unit's money: an officer whose payment touched it learnt them. Figures of a bank account appear
--     only for a caller who may read that account's row; the import conflict names another officer's
--     batch, file and row only to a caller who may read that batch. The bank account's cap is checked
--     here too, so PostgreSQL's own CHECK (whose DETAIL prints the whole row to the definer's owner)
--     is never the one that refuses.
-- A6  Interest shares are the rule's, not the caller's. fl.allocate_interest took any list of shares:
--     finance could credit one county the whole interest. It now takes the interest and the period and
--     recomputes the shares in the database (the sum of end-of-day balances 积数, largest remainder,
--     ties by unit code: ledger/core/interest.py); a list that differs is refused.
-- A7  Separation of duties across a fund request's steps, whoever calls which function: the submitter
--     never approves, rejects, voids, disburses or settles it; the approver never disburses or settles
--     it; the disburser never settles it. A trigger on fl.request_event (every step writes one) holds it.
-- Refactor: the importers' batch-finishing block is one function, fl._imp_finish.
-- (A8 and A11, which need the database owner's and the role administrator's rights, are
-- 0018_duties_db.sql.)

-- ---------------------------------------------------------------------------
-- A5. Who may read a bank account's figures: a city role (no unit), or the officer of its unit.
-- The pooled special account has no unit: only city roles read it. (A session that is not a
-- fundledger user — the operator's, a superuser's — reads every row anyway.)
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._reads_unit(p_unit text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT m.unit IS NULL OR m.unit = '' OR m.unit IS NOT DISTINCT FROM p_unit
    FROM (SELECT fl.my_unit() AS unit) m
$$;
REVOKE ALL ON FUNCTION fl._reads_unit(text) FROM PUBLIC;

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

-- A component's money in a pooled bank account: the total over every unit is the city's figure.
CREATE OR REPLACE FUNCTION fl.component_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  a      record;
  total  bigint;
BEGIN
  SELECT x.id, x.book, x.unit, x.holder, x.component, x.balance, x.bank_account_id, b.pooled_component,
         h.name_en AS holder_name, ba.unit AS bank_unit
    INTO a
    FROM fl.account x JOIN fl.book b ON b.code = x.book LEFT JOIN fl.holder h ON h.code = x.holder
    LEFT JOIN fl.bank_account ba ON ba.id = x.bank_account_id
   WHERE x.id = NEW.id;
  IF a.balance >= 0 THEN
    RETURN NULL;   -- a later statement of the transaction brought it back
  END IF;
  IF a.component <> a.pooled_component THEN
    PERFORM fl.refuse('components_separate', format(
      'unit %s''s %s money in the %s (%s) would be %s: it pays only from its own %s money, never from the %s fund',
      a.unit, a.component, a.holder_name, a.book,
      CASE WHEN fl._reads_unit(a.unit) THEN fl.fmt_fen(a.balance) ELSE 'negative' END,
      a.component, a.pooled_component));
  END IF;
  SELECT sum(x.balance) INTO total FROM fl.account x
   WHERE x.bank_account_id = a.bank_account_id AND x.component = a.component;
  IF total < 0 THEN
    PERFORM fl.refuse('components_separate', format(
      'the %s money in the %s (%s) would be %s in total: the %s fund may not draw on other components'' money',
      a.component, a.holder_name, a.book,
      CASE WHEN fl._reads_unit(a.bank_unit) THEN fl.fmt_fen(total) ELSE 'negative' END, a.component));
  END IF;
  RETURN NULL;
END $function$;

-- A reference another import holds with other content: which batch, file and row only to a
-- caller who may read that batch (its importer, or a city role: fl.import_batch's row policy).
CREATE OR REPLACE FUNCTION fl._imp_conflicts(p_namespace text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference',
         CASE WHEN b.imported_by = session_user OR fl.my_unit() IS NULL OR fl.my_unit() = '' THEN
           format('reference ''%s'' was already imported (batch %s, %s, row %s) with different content: conflict; '
                  'correct the row or give it a new reference', w.reference, l.batch_id, b.file_name, l.row_no)
         ELSE
           format('reference ''%s'' was already imported by another import with different content: conflict; '
                  'give the row a new reference', w.reference) END,
         'conflict'
    FROM pg_temp.fl_imp_work w
    JOIN fl.import_line l ON l.namespace = p_namespace AND l.reference = w.reference
    LEFT JOIN fl.import_batch b ON b.id = l.batch_id
   WHERE w.valid AND l.content_hash <> w.h;
END $$;

-- ---------------------------------------------------------------------------
-- A7. Separation of duties across a fund request's steps (四眼原则, and more eyes further on).
-- Each step writes one fl.request_event with its actor (session_user); the step is refused when
-- its actor already did an earlier step of the same request that this step must not follow:
--   approve, reject, void   not by the submitter
--   disburse                not by the submitter or the approver
--   settle                  not by the submitter, the approver or the disburser
-- Names compare as PostgreSQL roles do (exactly); the request's own columns keep the older
-- check (approver_is_not_submitter).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.request_duties(p_action text) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE p_action
    WHEN 'approve'  THEN ARRAY['submit']
    WHEN 'reject'   THEN ARRAY['submit']
    WHEN 'void'     THEN ARRAY['submit']
    WHEN 'disburse' THEN ARRAY['submit', 'approve']
    WHEN 'settle'   THEN ARRAY['submit', 'approve', 'disburse']
    ELSE '{}'::text[] END
$$;

CREATE FUNCTION fl.request_event_duties() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  done record;
BEGIN
  SELECT e.action, e.at INTO done FROM fl.request_event e
   WHERE e.request_id = NEW.request_id AND e.actor = NEW.actor AND e.action = ANY (fl.request_duties(NEW.action))
   ORDER BY e.id LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('request_duties', format(
      'request %s: %s %s it and cannot also %s it (separation of duties: the submitter, the approver, the '
      'disburser and the settler are different people); another %s must; nothing was written',
      NEW.request_id, NEW.actor,
      CASE done.action WHEN 'submit' THEN 'submitted' WHEN 'approve' THEN 'approved' ELSE 'disbursed' END,
      NEW.action, CASE NEW.action WHEN 'disburse' THEN 'finance officer' ELSE 'reviewer' END),
      'insufficient_privilege');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER request_event_duties BEFORE INSERT ON fl.request_event
  FOR EACH ROW EXECUTE FUNCTION fl.request_event_duties();
REVOKE ALL ON FUNCTION fl.request_duties(text), fl.request_event_duties() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.request_duties(text) TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

-- ---------------------------------------------------------------------------
-- A6. Interest shares (专户利息) as the rule gives them, computed here from the books.
-- Each (unit, component) special account of the book is weighted by the sum of its end-of-day
-- balances over [p_start, p_end] (积数: the balance before p_start for every day, and each day's
-- movement for the days left from it to p_end); units with a positive weight share p_total by
-- the largest-remainder method (floors of total × weight / Σweights, the fen left over one each
-- to the largest remainders, ties to the lower key, unit[/component] compared byte-wise) —
-- ledger/core/interest.py, whose tests are the rule's worked examples. Finance sends the table
-- it showed; a table that differs in any share is refused (nothing is posted), so the shares a
-- person saw are the shares the rule gives, and no unit can be credited another's interest.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.interest_shares(p_book text, p_total bigint, p_start date, p_end date)
RETURNS TABLE (unit text, component text, weight numeric, share bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  WITH acc AS (
    SELECT a.id, a.unit, a.component,
           a.unit || CASE WHEN a.component <> '' THEN '/' || a.component ELSE '' END AS k
      FROM fl.account a WHERE a.book = p_book AND a.chart_code = '1003' AND a.holder = 'special'),
  w AS (
    SELECT acc.unit, acc.component, acc.k,
           coalesce(sum(CASE WHEN d.day < p_start THEN (d.debits - d.credits)::numeric * (p_end - p_start + 1)
                             ELSE (d.debits - d.credits)::numeric * (p_end - d.day + 1) END), 0) AS weight
      FROM acc LEFT JOIN fl.account_day d ON d.account_id = acc.id AND d.day <= p_end
     GROUP BY acc.unit, acc.component, acc.k),
  pos AS (
    SELECT w.*, div(p_total::numeric * w.weight, s.den) AS fl_share, mod(p_total::numeric * w.weight, s.den) AS rem
      FROM w CROSS JOIN (SELECT sum(w0.weight) AS den FROM w w0 WHERE w0.weight > 0) s
     WHERE w.weight > 0),
  ranked AS (
    SELECT pos.*, row_number() OVER (ORDER BY pos.rem DESC, pos.k COLLATE "C") AS rnk,
           p_total - sum(pos.fl_share) OVER () AS leftover
      FROM pos)
  SELECT w.unit, w.component, w.weight,
         coalesce((r.fl_share + CASE WHEN r.rnk <= r.leftover THEN 1 ELSE 0 END)::bigint, 0)
    FROM w LEFT JOIN ranked r ON r.k = w.k
   ORDER BY w.k COLLATE "C"
$$;
REVOKE ALL ON FUNCTION fl.interest_shares(text, bigint, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.interest_shares(text, bigint, date, date) TO fl_reviewer, fl_finance, fl_auditor;

DROP FUNCTION fl.allocate_interest(text, date, text, jsonb);
CREATE FUNCTION fl.allocate_interest(p_book text, p_date date, p_key text, p_total bigint, p_start date, p_end date,
                                     p_shares jsonb)
RETURNS TABLE (entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['finance'], 'allocate special-account interest');
  bad record;
  n   int;
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
  RETURN QUERY SELECT x.entry_id, x.status FROM fl._post(
    ARRAY[ROW(1, p_book, p_date, format('专户利息 special-account interest %s, %s', p_book, p_date),
              'interest', p_key, NULL, '',
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
-- Refactor: every importer ended with the same block (count the work rows, record the batch's
-- counts, answer with the batch as jsonb). One function now; the importers below are 0008's,
-- unchanged but for their last statement (sorts and hashes keep 0008's work_mem).
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._imp_finish(p_batch bigint, p_posted int, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE out jsonb;
BEGIN
  UPDATE fl.import_batch b
     SET rows_posted = p_posted,
         rows_skipped = (SELECT count(*) FROM pg_temp.fl_imp_work) - p_posted,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res r WHERE r.status = 'posted')
   WHERE b.id = p_batch
  RETURNING jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                               'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            || coalesce(p_extra, '{}')
    INTO out;
  RETURN out;
END $$;
REVOKE ALL ON FUNCTION fl._imp_finish(bigint, int, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.import_payments(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '64MB'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'import benefit payments');
  probs jsonb;
  bid   bigint;
  n_new int;
  bad   boolean;
  con   text;
BEGIN
  PERFORM fl._imp_open('payments');
  -- 1. The groups: each distinct (date, unit, book, component, paid_from) text of the
  --    file, resolved once — a year's file has a few thousand; resolving each of a
  --    million rows cost seconds (parsing its date alone 1.2 s). gk numbers the raw
  --    texts; eg numbers the entry groups (the resolved values: 'res' and 'RES' are one).
  --    A NULL cell (only a hand-made stage has one) reads as empty, like an absent column.
  CREATE TEMP TABLE fl_imp_grp ON COMMIT DROP AS
  SELECT x.*, dense_rank() OVER (ORDER BY x.d, x.unit COLLATE "C", x.book COLLATE "C", x.comp COLLATE "C",
                                          x.paid_from COLLATE "C")::int AS eg
    FROM (SELECT r.*, CASE r.paid_from WHEN 'county' THEN 'county_exp' WHEN 'city' THEN 'city_exp' END AS holder,
                 coalesce(r.d IS NOT NULL AND NOT r.closed AND r.ukind IS NOT NULL
                  AND (u.role <> 'officer' OR r.unit = u.unit) AND r.bcomps IS NOT NULL
                  AND fl.imp_component_ok(r.bcomps, r.comp)
                  AND r.paid_from IS NOT NULL AND NOT (r.paid_from = 'county' AND r.ukind <> 'county'), false) AS ok
            FROM (SELECT row_number() OVER ()::int AS gk, t.t_date, t.unit, t.t_book, t.t_comp, t.t_paid, q.d,
                         EXISTS (SELECT 1 FROM fl.closed_period cp WHERE cp.month = date_trunc('month', q.d)::date) AS closed,
                         un.kind AS ukind, upper(t.t_book) AS book, bk.components AS bcomps, lower(t.t_comp) AS comp,
                         CASE lower(t.t_paid) WHEN 'county' THEN 'county' WHEN 'city' THEN 'city'
                              WHEN '' THEN CASE WHEN un.kind = 'county' THEN 'county' ELSE 'city' END END AS paid_from
                    FROM (SELECT DISTINCT coalesce(s.date, '') AS t_date, coalesce(s.unit, '') AS unit,
                                 coalesce(s.book, '') AS t_book, coalesce(s.component, '') AS t_comp,
                                 coalesce(s.paid_from, '') AS t_paid
                            FROM pg_temp.fl_imp_src s) t
                    CROSS JOIN LATERAL (SELECT fl.imp_date(t.t_date) AS d) q
                    LEFT JOIN fl.unit un ON un.code = t.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(t.t_book)) r) x;
  ANALYZE pg_temp.fl_imp_grp;

  -- 2. Every row, in one pass over the stage: its group, category (a small integer),
  --    amount, whether it is valid, its content hash, and the hash the register holds
  --    for its reference (NULL: a new row). The raw texts that only error messages need
  --    are kept for invalid rows alone (a NULL costs no space).
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT y.row_no, y.reference, y.gk, y.eg, y.cat, y.provider, y.fen, y.valid,
         CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.provider, y.chart, y.fen,
                                                     y.comp, y.paid_from)), 'hex') END AS h,
         l.content_hash AS reg_h, 0 AS chunk,
         CASE WHEN NOT y.valid THEN y.category END AS category, CASE WHEN NOT y.valid THEN y.t_amount END AS t_amount
    FROM (SELECT x.*, coalesce(x.ok AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.provider <> ''
                               AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, coalesce(s.reference, '') AS reference, g.gk, g.eg, g.ok, g.t_date, g.unit, g.book, g.comp,
                         g.paid_from, coalesce(s.provider, '') AS provider, lower(s.category) AS category, cat.no AS cat,
                         cat.chart, coalesce(s.amount, '') AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    JOIN pg_temp.fl_imp_grp g ON g.t_date = coalesce(s.date, '') AND g.unit = coalesce(s.unit, '')
                                             AND g.t_book = coalesce(s.book, '') AND g.t_comp = coalesce(s.component, '')
                                             AND g.t_paid = coalesce(s.paid_from, '')
                    LEFT JOIN (VALUES (1, 'inpatient', '5001.inpatient'), (2, 'outpatient', '5001.outpatient'),
                                      (3, 'chronic', '5001.chronic'), (4, 'outpatient_pooled', '5001.outpatient_pooled'),
                                      (5, 'maternity_medical', '5001.maternity_medical'),
                                      (6, 'maternity_allowance', '5001.maternity_allowance'),
                                      (7, 'pharmacy', '5001.pharmacy'), (8, 'other', '5001.other'),
                                      (9, 'critical_illness', '5101')) cat(no, name, chart) ON cat.name = lower(s.category)
                  OFFSET 0) x
          OFFSET 0) y
    LEFT JOIN fl.import_line l ON l.namespace = 'payments' AND l.reference = y.reference;

  bad := EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE NOT w.valid);
  IF bad THEN
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, x.col, x.why, x.kind
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
      CROSS JOIN LATERAL (
        SELECT * FROM fl._imp_row_problems(g.t_date, g.d, g.closed, g.unit, g.ukind, g.book, g.bcomps, w.t_amount,
                                           w.reference, u)
        UNION ALL VALUES
        ('component', fl.imp_component_problem(g.book, g.bcomps, g.comp), 'bad'),
        ('category', CASE WHEN w.cat IS NULL THEN format('unknown category ''%s'' (inpatient, outpatient, chronic, '
                      'outpatient_pooled, maternity_medical, maternity_allowance, pharmacy, other, critical_illness)', w.category) END, 'bad'),
        ('paid_from', CASE WHEN g.paid_from IS NULL THEN format('unknown paid_from ''%s'' (county or city)', g.t_paid)
                           WHEN g.paid_from = 'county' AND g.ukind IS NOT NULL AND g.ukind <> 'county'
                           THEN format('unit %s is not a county and has no county expenditure account; use paid_from city', g.unit) END, 'bad'),
        ('provider', CASE WHEN w.provider = '' THEN 'the provider is empty' END, 'bad')) x(col, why, kind)
     WHERE NOT w.valid AND x.why IS NOT NULL;
  END IF;
  -- References used twice in the file. Among new rows the register's primary key finds
  -- them when the register is written (below: a full GROUP BY here cost 0.55 s of every
  -- 1M-line import); checked here only among rows already registered, or in every row
  -- when the file has other problems, so that all are reported together.
  PERFORM fl._imp_repeats(NOT bad);
  -- References already imported with other content (the row table carries the
  -- register's hash, so the join runs only when there is one).
  IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE w.valid AND w.reg_h <> w.h) THEN
    PERFORM fl._imp_conflicts('payments');
  END IF;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  -- 3. The new rows per (entry group, chunk, category): count, total and the hash of
  --    their hashes in file order — one sort on integers. An entry is one entry group
  --    and chunk: past 50,000 rows a group is cut every 50,000 rows in file order, so an
  --    entry stays a bounded size (rare: re-aggregated only then).
  CREATE TEMP TABLE fl_imp_gc ON COMMIT DROP AS
  SELECT w.eg, w.chunk, w.cat, count(*)::int AS n_rows, sum(w.fen)::bigint AS total,
         sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)) AS chash,
         sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8')) AS refs
    FROM pg_temp.fl_imp_work w
   WHERE w.reg_h IS NULL
   GROUP BY w.eg, w.chunk, w.cat;
  IF (SELECT max(n) > 50000 FROM (SELECT sum(c.n_rows) AS n FROM pg_temp.fl_imp_gc c GROUP BY c.eg) m) THEN
    UPDATE pg_temp.fl_imp_work w SET chunk = r.chunk
      FROM (SELECT w0.row_no, ((row_number() OVER (PARTITION BY w0.eg ORDER BY w0.row_no) - 1) / 50000)::int AS chunk
              FROM pg_temp.fl_imp_work w0 WHERE w0.reg_h IS NULL) r
     WHERE r.row_no = w.row_no AND r.chunk > 0;
    TRUNCATE pg_temp.fl_imp_gc;
    INSERT INTO pg_temp.fl_imp_gc
    SELECT w.eg, w.chunk, w.cat, count(*)::int, sum(w.fen)::bigint, sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)),
           sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8'))
      FROM pg_temp.fl_imp_work w
     WHERE w.reg_h IS NULL
     GROUP BY w.eg, w.chunk, w.cat;
  END IF;
  ANALYZE pg_temp.fl_imp_gc;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY c.eg, c.chunk)::int AS ord, c.eg, c.chunk, g.d, g.unit, g.book, g.comp,
         g.paid_from, g.holder, c.n_rows, c.total, c.chash,
         format('payments:%s:%s:%s:%s:%s:%s', g.d, g.unit, g.book, coalesce(nullif(g.comp, ''), '-'), g.paid_from,
                left(encode(c.refs, 'hex'), 32)) AS key
    FROM (SELECT c.eg, c.chunk, sum(c.n_rows)::int AS n_rows, sum(c.total)::bigint AS total,
                 sha256(string_agg(c.chash, ''::bytea ORDER BY c.cat)) AS chash,
                 sha256(string_agg(c.refs, ''::bytea ORDER BY c.cat)) AS refs
            FROM pg_temp.fl_imp_gc c GROUP BY c.eg, c.chunk) c
    JOIN (SELECT DISTINCT ON (g0.eg) g0.* FROM pg_temp.fl_imp_grp g0 WHERE g0.ok ORDER BY g0.eg) g ON g.eg = c.eg;
  ANALYZE pg_temp.fl_imp_ent;

  -- 4. Batch, accounts, entries and the register, in a block that a reference used twice
  --    in the file undoes: then nothing is written and the duplicates are the answer.
  BEGIN
    bid := fl._imp_batch('payments', p_file, p_sha256);
    -- The accounts: each entry's debit accounts (one per category) and its credit account.
    CREATE TEMP TABLE fl_imp_map ON COMMIT DROP AS
    SELECT c.eg, c.chunk, c.cat, e.ord, e.d, e.book, cat.chart, e.unit, e.comp, NULL::bigint AS entry_id,
           NULL::int AS account_id, NULL::boolean AS posted
      FROM pg_temp.fl_imp_gc c
      JOIN pg_temp.fl_imp_ent e ON e.eg = c.eg AND e.chunk = c.chunk
      JOIN (VALUES (1, '5001.inpatient'), (2, '5001.outpatient'), (3, '5001.chronic'), (4, '5001.outpatient_pooled'),
                   (5, '5001.maternity_medical'), (6, '5001.maternity_allowance'), (7, '5001.pharmacy'),
                   (8, '5001.other'), (9, '5101')) cat(no, chart) ON cat.no = c.cat;
    INSERT INTO pg_temp.fl_imp_acc (book, chart, unit, holder, comp)
    SELECT DISTINCT m.book, m.chart, m.unit, '', m.comp FROM pg_temp.fl_imp_map m
    UNION
    SELECT DISTINCT e.book, '1004', e.unit, e.holder, e.comp FROM pg_temp.fl_imp_ent e;
    PERFORM fl._imp_accounts();
    PERFORM fl._imp_entries('payments', format(
      $q$SELECT e.ord, e.book, e.d,
                format('待遇支出 benefit payments %%s unit %%s from %%s: %%s rows (%%s)', e.d, e.unit, e.holder, e.n_rows, %L) AS memo,
                e.key, jsonb_build_object('import_batch', %s, 'file', %L, 'rows', e.n_rows) AS source, e.chash
           FROM pg_temp.fl_imp_ent e$q$, p_file, bid, p_file));
    -- The map the million rows join to, on integers: (entry group, chunk, category) ->
    -- (entry, debit account).
    UPDATE pg_temp.fl_imp_map m SET entry_id = r.entry_id, posted = (r.status = 'posted'), account_id = a.id
      FROM pg_temp.fl_imp_res r, pg_temp.fl_imp_acc a
     WHERE r.ord = m.ord AND a.book = m.book AND a.chart = m.chart AND a.unit = m.unit AND a.holder = ''
       AND a.comp = m.comp;
    ANALYZE pg_temp.fl_imp_map;

    -- The register, in key order (the primary key's B-tree is filled left to right),
    -- sorted byte-wise: COLLATE "C" compares with memcmp, the database's collation with
    -- strcoll — 1M references sorted and inserted in 2.9 s instead of 3.7-4.6 s (in a
    -- C or C.UTF-8 database, the default, it is the index's own order).
    INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
    SELECT 'payments', w.reference, w.h, m.entry_id, bid, w.row_no
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
     WHERE w.reg_h IS NULL
     ORDER BY w.reference COLLATE "C";
    GET DIAGNOSTICS n_new = ROW_COUNT;
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS con = CONSTRAINT_NAME;
    IF con IS DISTINCT FROM 'import_line_pkey' THEN RAISE; END IF;
    PERFORM fl._imp_repeats(false);
    probs := fl._imp_problems();
    IF probs IS NULL THEN RAISE; END IF;  -- another import wrote the reference meanwhile
    RETURN probs;
  END;

  -- The postings: per entry its credit on 1004, then a debit per row (line_ref = the
  -- row's reference, memo = provider).
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT r.entry_id, a.id, 'C', e.total, e.d, e.unit, NULL, NULL
    FROM pg_temp.fl_imp_ent e
    JOIN pg_temp.fl_imp_res r ON r.ord = e.ord AND r.status = 'posted'
    JOIN pg_temp.fl_imp_acc a ON a.book = e.book AND a.chart = '1004' AND a.unit = e.unit AND a.holder = e.holder
                             AND a.comp = e.comp
   ORDER BY e.ord;
  -- The debits, one statement: the posting trigger checks them per distinct (entry,
  -- account), so the statement's size costs a hash aggregate, not a join per row.
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT m.entry_id, m.account_id, 'D', w.fen, m.d, m.unit, w.reference, w.provider
    FROM pg_temp.fl_imp_work w
    JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
   WHERE w.reg_h IS NULL AND m.posted;

  -- A large batch changes the journal's statistics more than autovacuum will notice for
  -- a while; plans made meanwhile (verify's, reports') assumed a small table and were
  -- slow enough not to finish. ANALYZE counts this transaction's own rows.
  IF n_new >= 100000 THEN
    ANALYZE fl.posting, fl.entry, fl.account_day, fl.import_line;
  END IF;
  RETURN fl._imp_finish(bid, n_new);
END $function$;

CREATE OR REPLACE FUNCTION fl.import_collections(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '64MB'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer','finance'], 'import collections and subsidies');
  probs jsonb;
  bid   bigint;
  n_new int;
BEGIN
  PERFORM fl._imp_open('collections');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, t_date text, d date, closed boolean, unit text, ukind text, book text, bcomps text[],
    source text, chart text, comp text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.chart, y.fen, y.comp)), 'hex') END
    FROM (SELECT x.*,
                 coalesce(x.d IS NOT NULL AND NOT x.closed AND x.ukind IS NOT NULL AND (u.role <> 'officer' OR x.unit = u.unit)
                  AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND NOT (x.book = 'EMP' AND x.chart LIKE '4101.%' AND x.comp = 'personal')
                  AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.date AS t_date, dd.d, (cp.month IS NOT NULL) AS closed,
                         s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.source) AS source, src.chart, lower(s.component) AS comp,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM (SELECT s0.*, fl.imp_date(s0.date) AS d
                            FROM pg_temp.fl_imp_src s0 OFFSET 0) s
                    CROSS JOIN LATERAL (SELECT s.d) dd
                    LEFT JOIN fl.closed_period cp ON cp.month = date_trunc('month', dd.d)::date
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('contribution', '4001'), ('subsidy_central', '4101.central'),
                                      ('subsidy_provincial', '4101.provincial'), ('subsidy_city', '4101.city'),
                                      ('subsidy_county', '4101.county'), ('other', '4501')) src(name, chart)
                           ON src.name = lower(s.source) OFFSET 0) x OFFSET 0) y;
  ANALYZE pg_temp.fl_imp_work;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, x.kind
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (
      SELECT * FROM fl._imp_row_problems(w.t_date, w.d, w.closed, w.unit, w.ukind, w.book, w.bcomps, w.t_amount,
                                         w.reference, u)
      UNION ALL VALUES
      ('component', coalesce(fl.imp_component_problem(w.book, w.bcomps, w.comp),
                    CASE WHEN w.book = 'EMP' AND w.chart LIKE '4101.%' AND w.comp = 'personal'
                         THEN 'fiscal subsidies (4101) go wholly to the pooled fund (统筹基金) in the employees'' book; '
                              'component must be pooled' END), 'bad'),
      ('source', CASE WHEN w.chart IS NULL THEN format('unknown source ''%s'' (contribution, subsidy_central, '
                    'subsidy_provincial, subsidy_city, subsidy_county, other)', w.source) END, 'bad')) x(col, why, kind)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('collections');
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT q.*, q.ord AS grp, ((q.ord - 1) / 50000)::int AS chunk
    FROM (SELECT row_number() OVER (ORDER BY w.row_no)::int AS ord, w.row_no, w.reference, w.h, w.d, w.unit, w.book,
                 w.source, w.chart, w.comp, w.fen
            FROM pg_temp.fl_imp_work w
           WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'collections' AND l.reference = w.reference)) q;
  CREATE INDEX ON pg_temp.fl_imp_ent (chunk);
  ANALYZE pg_temp.fl_imp_ent;

  bid := fl._imp_batch('collections', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, e.d, format('征缴收入 collection %%s %%s (%%s row %%s)', e.source, e.reference, %L, e.row_no),
                 'collections', 'collections:' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, '1003', e.unit, 'special', e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, e.chart, e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'collections', e.reference, e.h, r.entry_id, bid, e.row_no
    FROM pg_temp.fl_imp_ent e JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  RETURN fl._imp_finish(bid, n_new);
END $function$;

CREATE OR REPLACE FUNCTION fl.import_opening(p_file text, p_sha256 text, p_date date)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'record handover opening balances');
  probs jsonb;
  bid   bigint;
  n_new int;
  n_reg int;
BEGIN
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the handover date is missing (--date)');
  END IF;
  IF EXISTS (SELECT 1 FROM fl.closed_period c WHERE c.month = date_trunc('month', p_date)::date) THEN
    PERFORM fl.refuse('period_closed', format('%s falls in the closed period %s; choose an open date',
                                              p_date, to_char(p_date, 'YYYY-MM')));
  END IF;
  PERFORM fl._imp_open('opening');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, unit text, ukind text, book text, bcomps text[], item text, chart text, holder text,
    comp text, note text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN sha256(convert_to(concat_ws('|', p_date, y.unit, y.book, y.item, y.fen, y.comp, y.note),
                                                       'UTF8')) END
    FROM (SELECT x.*,
                 coalesce(x.ukind = 'county' AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.item) AS item, it.chart, it.holder, lower(s.component) AS comp, s.note,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('special_account', '1003', 'legacy_special'),
                                      ('revenue_account', '1002', 'legacy_revenue'),
                                      ('expenditure_account', '1004', 'legacy_expenditure'),
                                      ('fiscal_arrears', 'register', ''), ('employer_arrears', 'register', ''),
                                      ('unpaid_claims', 'register', '')) it(name, chart, holder)
                           ON it.name = lower(s.item)) x) y;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit)
                    WHEN w.ukind <> 'county' THEN format('unit %s is the city proper: handover openings are for counties '
                         '(county-level cities) whose funds move up to the city', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('item', CASE WHEN w.chart IS NULL THEN format('unknown item ''%s'' (special_account, revenue_account, '
                    'expenditure_account, fiscal_arrears, employer_arrears, unpaid_claims)', w.item) END),
      ('amount', fl.imp_amount_problem(w.t_amount)),
      ('reference', fl.imp_reference_problem(w.reference))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('opening');
  -- A register reference is also the item's own unique key.
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference', format('reference ''%s'' already names register item %s', w.reference, r.id), 'conflict'
    FROM pg_temp.fl_imp_work w JOIN fl.register_item r ON r.reference = w.reference
   WHERE w.valid AND w.chart = 'register'
     AND NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening' AND l.reference = w.reference);
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.* FROM pg_temp.fl_imp_work w
   WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening' AND l.reference = w.reference);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY n.row_no)::int AS ord, 0 AS chunk, n.*
    FROM pg_temp.fl_imp_new n WHERE n.chart <> 'register';

  bid := fl._imp_batch('opening', p_file, p_sha256);
  PERFORM fl._imp_post(
    format($q$SELECT array_agg(ROW(e.ord, e.book, %L::date,
                 format('期初余额 handover opening balance %%s of unit %%s%%s (%%s row %%s)', e.item, e.unit,
                        CASE WHEN e.note <> '' THEN ': ' || e.note ELSE '' END, %L, e.row_no),
                 'opening', 'opening:' || e.reference, NULL, NULL,
                 jsonb_build_object('import_batch', %s, 'file', %L, 'row', e.row_no), e.h)::fl.new_entry ORDER BY e.ord)
               FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1$q$, p_date, p_file, bid, p_file),
    $q$SELECT array_agg(p) FROM (
         SELECT ROW(e.ord, 1, e.book, e.chart, e.unit, e.holder, e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1
         UNION ALL
         SELECT ROW(e.ord, 2, e.book, '3001', e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
           FROM pg_temp.fl_imp_ent e WHERE e.chunk = $1) x$q$);

  INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, reference, note)
  SELECT n.item, n.unit, n.book, n.comp, n.fen, p_date, n.reference, n.note
    FROM pg_temp.fl_imp_new n WHERE n.chart = 'register' ORDER BY n.row_no;
  GET DIAGNOSTICS n_reg = ROW_COUNT;

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'opening', n.reference, n.h, r.entry_id, bid, n.row_no
    FROM pg_temp.fl_imp_new n
    LEFT JOIN pg_temp.fl_imp_ent e ON e.row_no = n.row_no
    LEFT JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;
  GET DIAGNOSTICS n_new = ROW_COUNT;
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('register_items', n_reg));
END $function$;

CREATE OR REPLACE FUNCTION fl.import_budget(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'import budgets');
  probs jsonb;
  bid   bigint;
  out   jsonb;
BEGIN
  PERFORM fl._imp_open('budget');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, t_year text, y int, unit text, ukind text, book text, bcomps text[], line text,
    lkind text, comp text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT x.*, coalesce(x.y IS NOT NULL AND x.ukind IS NOT NULL AND x.bcomps IS NOT NULL
               AND fl.imp_component_ok(x.bcomps, x.comp)
               AND x.lkind IN ('revenue', 'expenditure') AND x.fen IS NOT NULL, false), NULL
    FROM (SELECT s.row_no, '' AS reference, s.year AS t_year,
                 CASE WHEN s.year ~ '^[0-9]{4}$' THEN CASE WHEN s.year::int BETWEEN 2000 AND 2100 THEN s.year::int END END AS y,
                 s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps, s.line, ch.kind AS lkind,
                 lower(s.component) AS comp, s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
            FROM pg_temp.fl_imp_src s
            LEFT JOIN fl.unit un ON un.code = s.unit
            LEFT JOIN fl.book bk ON bk.code = upper(s.book)
            LEFT JOIN fl.chart ch ON ch.code = s.line) x;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('year', CASE WHEN w.y IS NULL THEN format('''%s'' is not a year (2000-2100)', w.t_year) END),
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('line', CASE WHEN w.lkind IS NULL THEN format('unknown account ''%s'' (a chart code like 4001, 4101, 5001, 5101)', w.line)
                    WHEN w.lkind NOT IN ('revenue', 'expenditure')
                    THEN format('account %s is not a revenue (4xxx) or expenditure (5xxx) account', w.line) END),
      ('amount', fl.imp_amount_problem(w.t_amount))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'line', format('line %s appears again for %s %s %s%s (first on row %s)', w.line, w.y, w.unit, w.book,
                                  CASE WHEN w.comp <> '' THEN ' ' || w.comp ELSE '' END, f.first), 'bad'
    FROM pg_temp.fl_imp_work w
    JOIN (SELECT y, unit, book, comp, line, min(row_no) AS first FROM pg_temp.fl_imp_work WHERE valid
           GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) f USING (y, unit, book, comp, line)
   WHERE w.valid AND w.row_no > f.first;
  -- A parent line and one of its sub-accounts in one budget would count the money twice.
  INSERT INTO pg_temp.fl_imp_err
  SELECT c.row_no, 'line', format('line %s is a sub-account of line %s (row %s) in the same budget; give one or the other',
                                  c.line, p.line, p.row_no), 'bad'
    FROM pg_temp.fl_imp_work c
    JOIN fl.chart ch ON ch.code = c.line
    JOIN pg_temp.fl_imp_work p ON p.line = ch.parent AND p.y = c.y AND p.unit = c.unit AND p.book = c.book AND p.comp = c.comp
   WHERE c.valid AND p.valid;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  bid := fl._imp_batch('budget', p_file, p_sha256);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT g.*, cur.id AS cur_id, cur.version AS cur_version, (cur.content_hash IS NOT DISTINCT FROM g.chash) AS same
    FROM (SELECT w.y, w.unit, w.book,
                 sha256(convert_to(string_agg(w.comp || ':' || w.line || ':' || w.fen, ',' ORDER BY w.comp, w.line), 'UTF8')) AS chash
            FROM pg_temp.fl_imp_work w GROUP BY w.y, w.unit, w.book) g
    LEFT JOIN LATERAL (SELECT b.id, b.version, b.content_hash FROM fl.budget b
                        WHERE b.year = g.y AND b.unit = g.unit AND b.book = g.book
                        ORDER BY b.version DESC LIMIT 1) cur ON true;

  CREATE TEMP TABLE fl_imp_new (id bigint, year int, unit text, book text) ON COMMIT DROP;
  WITH ins AS (
    INSERT INTO fl.budget (year, unit, book, version, content_hash)
    SELECT e.y, e.unit, e.book, coalesce(e.cur_version, 0) + 1, e.chash FROM pg_temp.fl_imp_ent e WHERE NOT e.same
    ORDER BY e.y, e.unit, e.book
    RETURNING id, year, unit, book)
  INSERT INTO pg_temp.fl_imp_new SELECT * FROM ins;
  INSERT INTO fl.budget_line (budget_id, component, line, amount)
  SELECT n.id, w.comp, w.line, w.fen
    FROM pg_temp.fl_imp_new n JOIN pg_temp.fl_imp_work w ON w.y = n.year AND w.unit = n.unit AND w.book = n.book;

  SELECT jsonb_agg(jsonb_build_object(
           'year', b.year, 'unit', b.unit, 'book', b.book, 'version', b.version,
           'status', CASE WHEN n.id IS NOT NULL THEN 'created' ELSE 'unchanged' END,
           'revenue', t.revenue, 'expenditure', t.expenditure, 'deficit', t.deficit)
           ORDER BY b.year, b.unit, b.book)
    INTO out
    FROM pg_temp.fl_imp_ent e
    JOIN fl.budget b ON b.id = coalesce((SELECT n2.id FROM pg_temp.fl_imp_new n2
                                          WHERE n2.year = e.y AND n2.unit = e.unit AND n2.book = e.book), e.cur_id)
    LEFT JOIN pg_temp.fl_imp_new n ON n.id = b.id
    CROSS JOIN LATERAL fl.budget_totals(b.id) t;
  RETURN fl._imp_finish(bid, (SELECT count(*) FROM pg_temp.fl_imp_work w
                              JOIN pg_temp.fl_imp_new n ON n.year = w.y AND n.unit = w.unit AND n.book = w.book)::int,
                          jsonb_build_object('budgets', out));
END $function$;


-- ---------------------------------------------------------------------------
-- A8 / A11. Every fundledger login gets limits PostgreSQL holds whatever the session does:
--   * CONNECTION LIMIT (default 10, or the setting login_connection_limit; `user add
--     --connection-limit N`): one login cannot take the server's connections (max_connections
--     is shared by every ledger and by the operator);
--   * temp_file_limit 4GB (the login's own setting, in every database: a fundledger login is
--     only that): a sort or hash that spills past it is cancelled.
--     Only a superuser may set it, so the user cannot undo it (SET temp_file_limit is refused);
--   * idle_in_transaction_session_timeout 5min: a default for a session left
--     in an open transaction by accident. The user CAN override it (docs/security.md says what
--     that does and does not protect).
-- Applied by whoever may alter the login: fl_owner (ADMIN on the logins it created, CREATEROLE and
-- SET on temp_file_limit: PostgreSQL 16+), or the migrating superuser / DBA. Where neither may, a
-- WARNING names the statement for the DBA.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._apply_login_limits(p_name text, p_connections int) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  n     int := coalesce(p_connections,
                        (SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'login_connection_limit'), 10);
  rl    pg_catalog.pg_roles;
  have  text[];
  done  int := 0;
BEGIN
  SELECT r.* INTO rl FROM fl.app_user u JOIN pg_catalog.pg_roles r ON r.rolname = u.name
   WHERE u.name = p_name AND NOT r.rolsuper;
  IF NOT FOUND THEN
    RETURN 0;                                       -- not a fundledger login (or a superuser's)
  END IF;
  SELECT s.setconfig INTO have FROM pg_catalog.pg_db_role_setting s WHERE s.setrole = rl.oid AND s.setdatabase = 0;
  -- Each only when it differs: roles are the cluster's, and two databases' migrations (or users
  -- added at once) altering the same role at the same moment fail with "tuple concurrently
  -- updated" — then the other one has set it.
  IF rl.rolconnlimit IS DISTINCT FROM n THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', p_name, n);
      done := done + 1;
    EXCEPTION WHEN internal_error THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE WARNING 'fundledger: the DBA must run: ALTER ROLE % CONNECTION LIMIT %;', quote_ident(p_name), n;
    END;
  END IF;
  IF NOT coalesce('temp_file_limit=4GB' = ANY (have), false) THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I SET temp_file_limit = %L', p_name, '4GB');
      done := done + 1;
    EXCEPTION WHEN internal_error THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE WARNING 'fundledger: a superuser must run: ALTER ROLE % SET temp_file_limit = ''4GB'';', quote_ident(p_name);
    END;
  END IF;
  IF NOT coalesce('idle_in_transaction_session_timeout=5min' = ANY (have), false) THEN
    BEGIN
      EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', p_name, '5min');
      done := done + 1;
    EXCEPTION WHEN internal_error OR insufficient_privilege THEN
      NULL;   -- a default the user may change anyway: not worth the DBA's time
    END;
  END IF;
  RETURN done;
END $$;
REVOKE ALL ON FUNCTION fl._apply_login_limits(text, int) FROM PUBLIC;

CREATE FUNCTION fl.app_user_limits() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  PERFORM fl._apply_login_limits(NEW.name, NULL);
  RETURN NULL;
END $$;
CREATE TRIGGER app_user_limits AFTER INSERT ON fl.app_user FOR EACH ROW EXECUTE FUNCTION fl.app_user_limits();
REVOKE ALL ON FUNCTION fl.app_user_limits() FROM PUBLIC;

-- An admin (or the operator) sets one login's connection limit: 1 to 100.
CREATE FUNCTION fl.set_connection_limit(p_name text, p_limit int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NOT fl._is_operator() THEN
    PERFORM fl.require_role(ARRAY['admin'], 'set connection limits');
  END IF;
  PERFORM fl._user_role(p_name);
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100 THEN
    PERFORM fl.refuse('connection_limit', format('a connection limit is 1 to 100, not %s', coalesce(p_limit::text, 'nothing')));
  END IF;
  EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', p_name, p_limit);
END $$;
REVOKE ALL ON FUNCTION fl.set_connection_limit(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.set_connection_limit(text, int) TO fl_admin;

-- ---------------------------------------------------------------------------
-- ATTACK2 B4 (issue 14 item 6): a writer that leaves its transaction open keeps its ROW EXCLUSIVE
-- lock on fl.closed_period; a month close then waited for it forever, and every later writer queued
-- behind the close — one officer froze the ledger. The user may SET idle_in_transaction_session_timeout
-- = 0, so the guard is server-side: the close waits at most 2 s at a time (it leaves the lock queue
-- in between, so writers are never held longer), and ends the fundledger sessions that hold the lock
-- while idle in a write transaction for more than 2 s: fl_guard.end_idle_holders, a definer function
-- of the role fl_guard (NOLOGIN, member of pg_signal_backend and pg_read_all_stats; made by
-- 0018_duties_db.sql where a superuser migrates), so fl_owner itself holds no predefined role's
-- rights. Without it nothing is ended and the close is refused after 10 s instead of waiting forever.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._lock_closed_period() RETURNS void
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
      IF tries >= 5 THEN
        PERFORM fl.refuse('lock_busy', 'the period cannot be closed now: other sessions are still writing to the '
          'ledger (waited 10 s); nothing was closed — try again in a moment', 'lock_not_available');
      END IF;
    END;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION fl._lock_closed_period() FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.close_period(p_month date, p_reason text DEFAULT ''::text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE u fl.app_user := fl.require_role(ARRAY['reviewer'], 'close periods');
BEGIN
  IF extract(day FROM p_month) <> 1 THEN
    PERFORM fl.refuse('closed_period_month', 'a period is a month: give its first day');
  END IF;
  -- Serialise with writers: an entry in flight for this month either commits before
  -- the close or is refused after it. A writer idle in its transaction is ended (0018).
  PERFORM fl._lock_closed_period();
  INSERT INTO fl.closed_period (month, reason) VALUES (p_month, coalesce(p_reason, '')) ON CONFLICT DO NOTHING;
  RETURN FOUND;
END $function$;
