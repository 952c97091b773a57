-- fundledger migration 0005: the fund cycle of 佳政办发〔2021〕2号 §三(三):
-- pre-allocation (预拨), quarterly fund requests (用款申请), special-account interest,
-- year-end close with the shortfall rule (缺口分担) and the government's payment of its share.
--
-- Python computes the policy tables with the pure rules of ledger/core (preallocation.py,
-- shortfall.py, interest.py, requests.py) and gives the friendly refusal first; the
-- functions below re-check everything that matters (role, unit, state, amounts, the
-- physical special account) so raw SQL cannot do what the CLI would refuse.

-- Closing entries are few; 0006 adds the partial index (entry_year_close) that finds
-- them without scanning the journal.

-- ---------------------------------------------------------------------------
-- Reads shared by the report, the close, pre-allocation and request justifications.
-- SECURITY INVOKER: an officer calling them directly sees only their unit (row security).
-- ---------------------------------------------------------------------------

-- Net movement (debits − credits) per account of a book over [p_from, p_to], leaving out
-- year-end closing entries, so "the year's revenue / expenditure" survives the close.
CREATE FUNCTION fl.year_flows(p_book text, p_from date, p_to date)
RETURNS TABLE (unit text, chart_code text, component text, kind text, net bigint)
LANGUAGE sql STABLE AS $$
  WITH days AS (
    SELECT a.unit, a.chart_code, a.component, sum(d.debits - d.credits) AS net
      FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = p_book AND d.day BETWEEN p_from AND p_to
     GROUP BY 1, 2, 3),
  closing AS (
    SELECT a.unit, a.chart_code, a.component, sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END) AS net
      FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a ON a.id = p.account_id
     WHERE e.kind = 'year_close' AND e.book = p_book AND e.entry_date BETWEEN p_from AND p_to
     GROUP BY 1, 2, 3)
  SELECT x.unit, x.chart_code, x.component, c.kind, (x.net - coalesce(k.net, 0))::bigint
    FROM days x
    JOIN fl.chart c ON c.code = x.chart_code
    LEFT JOIN closing k ON k.unit = x.unit AND k.chart_code = x.chart_code AND k.component = x.component
$$;

-- The inputs of the shortfall rule per unit of a book (employees: the pooled component):
-- revenue and expenditure of the year without the closing entries, and the accumulated
-- surplus S carried in = the 3001 credit balance at the year's end before this year's
-- closing entries (the balance at the start of the year, plus any opening balances
-- recorded during it, e.g. a mid-year handover).
CREATE FUNCTION fl.year_figures(p_year int, p_book text)
RETURNS TABLE (unit text, book text, component text, revenue bigint, expenditure bigint, surplus_before bigint)
LANGUAGE sql STABLE AS $$
  WITH pc AS (SELECT coalesce((SELECT b.pooled_component FROM fl.book b WHERE b.code = p_book), '') AS comp),
  units AS (
    SELECT DISTINCT a.unit FROM fl.account a WHERE a.book = p_book AND a.component = (SELECT comp FROM pc)),
  flows AS (
    SELECT f.unit,
           coalesce(-sum(f.net) FILTER (WHERE f.kind = 'revenue'), 0) AS revenue,
           coalesce(sum(f.net) FILTER (WHERE f.kind = 'expenditure'), 0) AS expenditure,
           coalesce(-sum(f.net) FILTER (WHERE f.chart_code = '3001'), 0) AS fund_all_but_close
      FROM fl.year_flows(p_book, make_date(p_year, 1, 1), make_date(p_year, 12, 31)) f
     WHERE f.component = (SELECT comp FROM pc)
     GROUP BY f.unit),
  carried AS (
    SELECT a.unit, coalesce(sum(d.credits - d.debits), 0) AS s
      FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = p_book AND a.chart_code = '3001' AND a.component = (SELECT comp FROM pc)
       AND d.day < make_date(p_year, 1, 1)
     GROUP BY a.unit)
  SELECT u.unit, p_book, (SELECT comp FROM pc),
         coalesce(f.revenue, 0)::bigint, coalesce(f.expenditure, 0)::bigint,
         (coalesce(c.s, 0) + coalesce(f.fund_all_but_close, 0))::bigint
    FROM units u LEFT JOIN flows f ON f.unit = u.unit LEFT JOIN carried c ON c.unit = u.unit
   ORDER BY u.unit
$$;

-- What a county puts forward with a fund request (all fen): the budget for the quarter
-- (annual budgeted 5xxx expenditure ÷ 4, half-up), spending to date in the year (5xxx,
-- net of reversals, closing entries excluded), balances held (its county expenditure
-- account, its share of the city expenditure account and of the special account) and
-- what was approved for it so far this year.
CREATE FUNCTION fl.request_justification(p_unit text, p_book text, p_component text, p_year int)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH budget AS (
    SELECT coalesce(sum(b.amount), 0)::bigint AS annual, max(b.version) AS version
      FROM fl.budget_current b
     WHERE b.year = p_year AND b.unit = p_unit AND b.book = p_book AND b.component = p_component
       AND b.kind = 'expenditure'),
  spent AS (
    SELECT coalesce(sum(f.net), 0)::bigint AS spent
      FROM fl.year_flows(p_book, make_date(p_year, 1, 1), make_date(p_year, 12, 31)) f
     WHERE f.unit = p_unit AND f.component = p_component AND f.kind = 'expenditure'),
  held AS (
    SELECT coalesce(sum(a.balance) FILTER (WHERE a.holder = 'county_exp'), 0)::bigint AS county_exp,
           coalesce(sum(a.balance) FILTER (WHERE a.holder = 'city_exp'), 0)::bigint AS city_exp,
           coalesce(sum(a.balance) FILTER (WHERE a.holder = 'special'), 0)::bigint AS special
      FROM fl.account a
     WHERE a.book = p_book AND a.unit = p_unit AND a.component = p_component
       AND a.holder IN ('county_exp', 'city_exp', 'special')),
  approved AS (
    SELECT coalesce(sum(r.amount_approved), 0)::bigint AS approved
      FROM fl.fund_request r
     WHERE r.unit = p_unit AND r.book = p_book AND r.component = p_component AND r.year = p_year
       AND r.state IN ('approved', 'disbursed', 'settled'))
  SELECT jsonb_build_object(
    'annual_budget_expenditure', budget.annual,
    'budget_version', budget.version,
    'budget_for_quarter', (2 * budget.annual + 4) / 8,
    'spent_to_date', greatest(spent.spent, 0),
    'held_county_exp', held.county_exp,
    'held_city_exp', held.city_exp,
    'held_special', held.special,
    'balances_held', held.county_exp + held.city_exp + held.special,
    'approved_this_year', approved.approved,
    'as_of', current_date)
  FROM budget, spent, held, approved
$$;

-- ---------------------------------------------------------------------------
-- Pre-allocation (预拨): Dr 1004 county_exp [X] / Cr 1003 special [X] per line.
-- p_lines: [{unit, book, component, amount}] as computed by ledger.core.preallocation.
-- Idempotent per (year, unit, book, component): a line whose key exists is not posted
-- again and comes back as 'duplicate' with the entry that did it.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl._prealloc_lines(p_year int, p_lines jsonb)
RETURNS TABLE (ord int, unit text, book text, component text, amount bigint, key text)
LANGUAGE sql IMMUTABLE AS $$
  SELECT l.i::int, l.x->>'unit', l.x->>'book', coalesce(l.x->>'component', ''), (l.x->>'amount')::bigint,
         format('prealloc:%s:%s:%s', p_year, l.x->>'unit', l.x->>'book')
           || CASE WHEN coalesce(l.x->>'component', '') <> '' THEN ':' || (l.x->>'component') ELSE '' END
    FROM jsonb_array_elements(p_lines) WITH ORDINALITY AS l(x, i)
$$;

CREATE FUNCTION fl.preallocate(p_year int, p_date date, p_lines jsonb)
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

  -- Lines already pre-allocated this year (their key exists) are not posted again.
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
-- Quarterly fund requests (按季提报用款申请).
-- ---------------------------------------------------------------------------

-- The legal moves, as in ledger/core/requests.py (TRANSITIONS).
CREATE FUNCTION fl.request_next_state(p_state text, p_action text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT t.to_state FROM (VALUES ('submitted', 'approve', 'approved'), ('submitted', 'reject', 'rejected'),
                                 ('approved', 'disburse', 'disbursed'), ('disbursed', 'settle', 'settled'),
                                 ('approved', 'void', 'voided')) AS t(from_state, action, to_state)
   WHERE t.from_state = p_state AND t.action = p_action
$$;

-- Lock a request for a move and refuse an illegal one, naming the current state.
CREATE FUNCTION fl._request_for(p_id bigint, p_action text) RETURNS fl.fund_request
LANGUAGE plpgsql AS $$
DECLARE
  r       fl.fund_request;
  past    text := CASE p_action WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected'
                    WHEN 'disburse' THEN 'disbursed' WHEN 'settle' THEN 'settled' WHEN 'void' THEN 'voided' END;
  allowed text;
BEGIN
  SELECT * INTO r FROM fl.fund_request WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no fund request %s', p_id), 'no_data_found');
  END IF;
  IF fl.request_next_state(r.state, p_action) IS NULL THEN
    SELECT string_agg(t.past, ' or ' ORDER BY t.o) INTO allowed
      FROM (VALUES (1, 'approve', 'approved'), (2, 'reject', 'rejected'), (3, 'disburse', 'disbursed'),
                   (4, 'settle', 'settled'), (5, 'void', 'voided')) AS t(o, action, past)
     WHERE fl.request_next_state(r.state, t.action) IS NOT NULL;
    PERFORM fl.refuse('illegal_state', format('request %s is %s; it cannot be %s%s (%s)', p_id, r.state, past,
      CASE WHEN past = r.state THEN ' again' ELSE '' END,
      CASE WHEN allowed IS NULL THEN r.state || ' is final; nothing more can happen to it'
           ELSE format('from %s it can only be %s', r.state, allowed) END));
  END IF;
  RETURN r;
END $$;

-- 四眼原则: whoever submitted a request never approves, rejects or voids it.
CREATE FUNCTION fl._not_submitter(r fl.fund_request, p_action text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF lower(btrim(r.submitted_by)) = lower(btrim(session_user::text)) THEN
    PERFORM fl.refuse('approver_is_not_submitter', format(
      'request %s: %s submitted it and cannot also %s it; another reviewer must', r.id, session_user, p_action),
      'insufficient_privilege');
  END IF;
END $$;

CREATE FUNCTION fl._request_event(r fl.fund_request, p_action text, p_to text, p_amount bigint, p_reason text,
                                  p_entry bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO fl.request_event (request_id, action, from_state, to_state, amount, reason, entry_id)
  VALUES (r.id, p_action, CASE WHEN p_action = 'submit' THEN NULL ELSE r.state END, p_to, p_amount,
          coalesce(p_reason, ''), p_entry)
$$;

-- The physical special account of a book (one per book, shared by every unit), locked.
CREATE FUNCTION fl._special_account(p_book text) RETURNS fl.bank_account
LANGUAGE plpgsql AS $$
DECLARE b fl.bank_account;
BEGIN
  INSERT INTO fl.bank_account (book, holder, unit) VALUES (p_book, 'special', NULL)
  ON CONFLICT (book, holder, unit) DO NOTHING;
  SELECT * INTO b FROM fl.bank_account WHERE book = p_book AND holder = 'special' AND unit IS NULL FOR UPDATE;
  RETURN b;
END $$;

CREATE FUNCTION fl.request_submit(p_unit text, p_book text, p_component text, p_year int, p_quarter int,
                                  p_amount bigint, p_note text, p_key text)
RETURNS TABLE (id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u    fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'submit fund requests');
  bk   fl.book;
  r    fl.fund_request;
  comp text := coalesce(p_component, '');
BEGIN
  IF u.role = 'officer' AND p_unit IS DISTINCT FROM u.unit THEN
    PERFORM fl.refuse('permission_denied', format('%s is an officer of unit %s and may not submit requests for unit %s',
      u.name, u.unit, p_unit), 'insufficient_privilege');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.unit WHERE code = p_unit) THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  END IF;
  SELECT * INTO bk FROM fl.book WHERE code = p_book;
  IF NOT FOUND THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF cardinality(bk.components) > 0 AND NOT comp = ANY (bk.components) THEN
    PERFORM fl.refuse('account_component', format('book %s needs a component (%s) on a request; got ''%s''',
      p_book, array_to_string(bk.components, ' or '), comp));
  ELSIF cardinality(bk.components) = 0 AND comp <> '' THEN
    PERFORM fl.refuse('account_component', format('book %s has no components; got ''%s''', p_book, comp));
  END IF;
  IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2100 OR p_quarter IS NULL OR p_quarter NOT BETWEEN 1 AND 4 THEN
    PERFORM fl.refuse('request_period', format('a request is for a year 2000–2100 and a quarter 1–4; got %s Q%s',
      p_year, p_quarter));
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the amount requested must be positive');
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a request needs an idempotency key');
  END IF;

  SELECT * INTO r FROM fl.fund_request WHERE idempotency_key = p_key;
  IF FOUND THEN
    IF (r.unit, r.book, r.component, r.year, r.quarter, r.amount_requested, r.note)
       IS DISTINCT FROM (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, '')) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'idempotency key %s was already used by request %s with different content; nothing was written', p_key, r.id),
        'unique_violation');
    END IF;
    RETURN QUERY SELECT r.id, 'duplicate'::text;
    RETURN;
  END IF;

  INSERT INTO fl.fund_request (unit, book, component, year, quarter, amount_requested, note, justification,
                               idempotency_key)
  VALUES (p_unit, p_book, comp, p_year, p_quarter, p_amount, coalesce(p_note, ''),
          fl.request_justification(p_unit, p_book, comp, p_year), p_key)
  RETURNING * INTO r;
  PERFORM fl._request_event(r, 'submit', 'submitted', p_amount, p_note, NULL);
  RETURN QUERY SELECT r.id, 'submitted'::text;
END $$;

-- Approve (possibly a smaller amount): reserves it on the physical special account.
CREATE FUNCTION fl.request_approve(p_id bigint, p_amount bigint DEFAULT NULL) RETURNS fl.fund_request
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'approve fund requests');
  r   fl.fund_request := fl._request_for(p_id, 'approve');
  amt bigint;
  sp  fl.bank_account;
BEGIN
  PERFORM fl._not_submitter(r, 'approve');
  amt := coalesce(p_amount, r.amount_requested);
  IF amt <= 0 THEN
    PERFORM fl.refuse('approval_amount', format('request %s: the amount approved must be positive (reject the request instead)', p_id));
  END IF;
  IF amt > r.amount_requested THEN
    PERFORM fl.refuse('approval_amount', format('request %s: cannot approve %s, more than the %s requested',
      p_id, fl.fmt_fen(amt), fl.fmt_fen(r.amount_requested)));
  END IF;
  sp := fl._special_account(r.book);
  IF sp.balance - sp.reserved < amt THEN
    PERFORM fl.refuse('special_account_available', format(
      'request %s: cannot approve %s; the special account (%s) holds %s, of which %s is already reserved (%s available)',
      p_id, fl.fmt_fen(amt), r.book, fl.fmt_fen(sp.balance), fl.fmt_fen(sp.reserved),
      fl.fmt_fen(greatest(sp.balance - sp.reserved, 0))));
  END IF;
  UPDATE fl.bank_account SET reserved = reserved + amt WHERE id = sp.id;
  PERFORM fl._request_event(r, 'approve', 'approved', amt, '', NULL);
  UPDATE fl.fund_request SET state = 'approved', amount_approved = amt, approved_by = session_user
   WHERE id = p_id RETURNING * INTO r;
  RETURN r;
END $$;

CREATE FUNCTION fl.request_reject(p_id bigint, p_reason text) RETURNS fl.fund_request
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer'], 'reject fund requests');
  r fl.fund_request := fl._request_for(p_id, 'reject');
BEGIN
  PERFORM fl._not_submitter(r, 'reject');
  IF coalesce(btrim(p_reason), '') = '' THEN
    PERFORM fl.refuse('request_reason', format('request %s: a rejection needs a reason', p_id));
  END IF;
  PERFORM fl._request_event(r, 'reject', 'rejected', NULL, p_reason, NULL);
  UPDATE fl.fund_request SET state = 'rejected' WHERE id = p_id RETURNING * INTO r;
  RETURN r;
END $$;

-- Void an approved request not yet disbursed: releases its reservation.
CREATE FUNCTION fl.request_void(p_id bigint, p_reason text) RETURNS fl.fund_request
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u  fl.app_user := fl.require_role(ARRAY['reviewer'], 'void fund requests');
  r  fl.fund_request := fl._request_for(p_id, 'void');
  sp fl.bank_account;
BEGIN
  PERFORM fl._not_submitter(r, 'void');
  IF coalesce(btrim(p_reason), '') = '' THEN
    PERFORM fl.refuse('request_reason', format('request %s: voiding needs a reason', p_id));
  END IF;
  sp := fl._special_account(r.book);
  UPDATE fl.bank_account SET reserved = reserved - r.amount_approved WHERE id = sp.id;
  PERFORM fl._request_event(r, 'void', 'voided', r.amount_approved, p_reason, NULL);
  UPDATE fl.fund_request SET state = 'voided' WHERE id = p_id RETURNING * INTO r;
  RETURN r;
END $$;

-- City finance disburses (拨付): Dr 1004 city_exp [X] / Cr 1003 special [X]. The
-- reservation is released first, in the same transaction, so reserved_within_balance holds.
CREATE FUNCTION fl.request_disburse(p_id bigint, p_date date, p_key text) RETURNS fl.fund_request
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['finance'], 'disburse fund requests');
  r   fl.fund_request := fl._request_for(p_id, 'disburse');
  sp  fl.bank_account;
  eid bigint;
  k   text := coalesce(nullif(p_key, ''), format('request:%s:disburse', p_id));
BEGIN
  sp := fl._special_account(r.book);
  UPDATE fl.bank_account SET reserved = reserved - r.amount_approved WHERE id = sp.id;
  SELECT x.entry_id INTO eid FROM fl._post(
    ARRAY[ROW(1, r.book, coalesce(p_date, current_date),
              format('拨付 disbursement of fund request %s: unit %s, %s Q%s', r.id, r.unit, r.year, r.quarter),
              'request_disburse', k, NULL, '', jsonb_build_object('request', r.id), NULL)::fl.new_entry],
    ARRAY[ROW(1, 1, r.book, '1004', r.unit, 'city_exp', r.component, 'D', r.amount_approved, NULL, NULL)::fl.new_posting,
          ROW(1, 2, r.book, '1003', r.unit, 'special', r.component, 'C', r.amount_approved, NULL, NULL)::fl.new_posting]) x;
  PERFORM fl._request_event(r, 'disburse', 'disbursed', r.amount_approved, '', eid);
  UPDATE fl.fund_request SET state = 'disbursed', disburse_entry = eid WHERE id = p_id RETURNING * INTO r;
  RETURN r;
END $$;

-- The bureau settles (分级结算) onward to the county: Dr 1004 county_exp [X] / Cr 1004
-- city_exp [X]. For the city unit itself the city expenditure account *is* its
-- expenditure account, so settling only records the event (no entry).
CREATE FUNCTION fl.request_settle(p_id bigint, p_date date, p_key text) RETURNS fl.fund_request
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'settle fund requests');
  r   fl.fund_request := fl._request_for(p_id, 'settle');
  eid bigint;
  k   text := coalesce(nullif(p_key, ''), format('request:%s:settle', p_id));
BEGIN
  IF (SELECT kind FROM fl.unit WHERE code = r.unit) = 'county' THEN
    SELECT x.entry_id INTO eid FROM fl._post(
      ARRAY[ROW(1, r.book, coalesce(p_date, current_date),
                format('分级结算 settlement of fund request %s to unit %s, %s Q%s', r.id, r.unit, r.year, r.quarter),
                'request_settle', k, NULL, '', jsonb_build_object('request', r.id), NULL)::fl.new_entry],
      ARRAY[ROW(1, 1, r.book, '1004', r.unit, 'county_exp', r.component, 'D', r.amount_approved, NULL, NULL)::fl.new_posting,
            ROW(1, 2, r.book, '1004', r.unit, 'city_exp', r.component, 'C', r.amount_approved, NULL, NULL)::fl.new_posting]) x;
  END IF;
  PERFORM fl._request_event(r, 'settle', 'settled', r.amount_approved, '', eid);
  UPDATE fl.fund_request SET state = 'settled', settle_entry = eid WHERE id = p_id RETURNING * INTO r;
  RETURN r;
END $$;

-- ---------------------------------------------------------------------------
-- Special-account interest: one entry, Dr 1003 special [X] / Cr 4201 [X] per share.
-- p_shares: [{unit, component, amount}] from ledger.core.interest.allocate_interest.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.allocate_interest(p_book text, p_date date, p_key text, p_shares jsonb)
RETURNS TABLE (entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['finance'], 'allocate special-account interest');
  bad record;
BEGIN
  IF jsonb_typeof(p_shares) IS DISTINCT FROM 'array' OR jsonb_array_length(p_shares) = 0 THEN
    PERFORM fl.refuse('bad_document', 'expected a non-empty list of interest shares');
  END IF;
  SELECT x->>'unit' AS unit, (x->>'amount')::bigint AS amount INTO bad
    FROM jsonb_array_elements(p_shares) x WHERE (x->>'amount')::bigint IS NULL OR (x->>'amount')::bigint <= 0 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('posting_amount_positive', format('interest share of unit %s must be positive', bad.unit));
  END IF;
  RETURN QUERY SELECT x.entry_id, x.status FROM fl._post(
    ARRAY[ROW(1, p_book, p_date, format('专户利息 special-account interest %s, %s', p_book, p_date),
              'interest', p_key, NULL, '', jsonb_build_object('shares', p_shares), NULL)::fl.new_entry],
    (SELECT array_agg(ROW(1, (2 * s.i - 2 + l.pos)::int, p_book, CASE l.pos WHEN 1 THEN '1003' ELSE '4201' END,
                          s.x->>'unit', CASE l.pos WHEN 1 THEN 'special' ELSE '' END,
                          coalesce(s.x->>'component', ''), CASE l.pos WHEN 1 THEN 'D' ELSE 'C' END,
                          (s.x->>'amount')::bigint, NULL, NULL)::fl.new_posting ORDER BY s.i, l.pos)
       FROM jsonb_array_elements(p_shares) WITH ORDINALITY AS s(x, i) CROSS JOIN (VALUES (1), (2)) AS l(pos))) x;
END $$;

-- ---------------------------------------------------------------------------
-- Year-end close (年终结转) with the shortfall rule (缺口分担), all books at once
-- (periods are closed for the whole ledger, so every book closes together).
-- p_results: {book: [shortfall rows]} as computed by ledger.core.shortfall from
-- fl.year_figures; re-checked here against the books and the rule's identities.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.close_year(p_year int, p_date date, p_results jsonb)
RETURNS TABLE (book text, entries int, government_items int)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u       fl.app_user := fl.require_role(ARRAY['reviewer'], 'close a year');
  v_start date := make_date(p_year, 1, 1);
  v_end   date := make_date(p_year, 12, 31);
  bk      fl.book;
  bad     record;
  done    text;
  rows    jsonb;
  es      fl.new_entry[];
  ps      fl.new_posting[];
  n_e     int;
  n_g     int;
BEGIN
  IF p_date IS NULL OR p_date NOT BETWEEN v_start AND v_end THEN
    PERFORM fl.refuse('close_date', format('the close of %s must be dated within %s (normally %s), not %s',
      p_year, p_year, v_end, coalesce(p_date::text, 'no date')));
  END IF;
  LOCK TABLE fl.year_close IN SHARE ROW EXCLUSIVE MODE;
  LOCK TABLE fl.closed_period IN SHARE ROW EXCLUSIVE MODE;
  SELECT string_agg(format('%s (closed on %s by %s)', c.book, c.closed_on, c.closed_by), ', ' ORDER BY c.book)
    INTO done FROM fl.year_close c WHERE c.year = p_year;
  IF done IS NOT NULL THEN
    PERFORM fl.refuse('year_closed', format('year %s is already closed for book %s; a year is closed once',
      p_year, done), 'unique_violation');
  END IF;

  FOR bk IN SELECT * FROM fl.book ORDER BY code LOOP
    -- The year before must not still hold revenue or expenditure: it is closed first.
    SELECT a.unit, a.chart_code INTO bad
      FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
     WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day < v_start
     GROUP BY a.id, a.unit, a.chart_code HAVING sum(d.debits - d.credits) <> 0 LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_order', format(
        'book %s still holds revenue or expenditure from before %s (unit %s, account %s): close year %s first',
        bk.code, p_year, bad.unit, bad.chart_code, p_year - 1));
    END IF;

    rows := coalesce(p_results -> bk.code, '[]'::jsonb);
    SELECT coalesce(f.unit, x.unit) AS unit INTO bad
      FROM fl.year_figures(p_year, bk.code) f
      FULL JOIN jsonb_to_recordset(rows) AS x(unit text, revenue bigint, expenditure bigint, current_balance bigint,
                 surplus_before bigint, covered_by_surplus bigint, government_share bigint, surplus_after bigint)
        ON x.unit = f.unit
     WHERE f.unit IS NULL OR x.unit IS NULL
        OR (f.revenue, f.expenditure, f.surplus_before) IS DISTINCT FROM (x.revenue, x.expenditure, x.surplus_before)
        OR x.current_balance IS DISTINCT FROM x.revenue - x.expenditure
        OR x.covered_by_surplus IS DISTINCT FROM least(greatest(-x.current_balance, 0), greatest(x.surplus_before, 0))
        OR x.government_share IS DISTINCT FROM greatest(-x.current_balance, 0) - x.covered_by_surplus
        OR x.surplus_after IS DISTINCT FROM x.surplus_before + x.current_balance + x.government_share
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('year_close_result', format(
        'the shortfall table for book %s does not match the books or the rule (unit %s); nothing was closed',
        bk.code, bad.unit));
    END IF;

    -- Closing entries: per unit, one entry for revenue (Dr each 4xxx / Cr 3001) and one
    -- for expenditure (Dr 3001 / Cr each 5xxx), per component; dated p_date, closing the
    -- balances of the whole year.
    CREATE TEMP TABLE IF NOT EXISTS pg_temp.close_bal (
      unit text, chart_code text, component text, kind text, amount bigint, ord int) ON COMMIT DROP;
    TRUNCATE pg_temp.close_bal;
    INSERT INTO pg_temp.close_bal
    SELECT x.unit, x.chart_code, x.component, x.kind, x.amount,
           dense_rank() OVER (ORDER BY x.unit, x.kind)::int
      FROM (SELECT a.unit, a.chart_code, a.component, c.kind, sum(d.debits - d.credits)::bigint AS amount
              FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN fl.account_day d ON d.account_id = a.id
             WHERE a.book = bk.code AND c.kind IN ('revenue', 'expenditure') AND d.day <= v_end
             GROUP BY 1, 2, 3, 4 HAVING sum(d.debits - d.credits) <> 0) x;

    SELECT array_agg(ROW(g.ord, bk.code, p_date,
                         format('年终结转 year-end close %s: unit %s %s to 3001', p_year, g.unit, g.kind),
                         'year_close', format('yearclose:%s:%s:%s:%s', p_year, bk.code, g.unit, g.kind),
                         NULL, '', jsonb_build_object('year', p_year), NULL)::fl.new_entry ORDER BY g.ord)
      INTO es FROM (SELECT DISTINCT ord, unit, kind FROM pg_temp.close_bal) g;
    SELECT array_agg(ROW(l.ord, l.pos, bk.code, l.chart_code, l.unit, '', l.component, l.side, l.amount, NULL, NULL)::fl.new_posting
                     ORDER BY l.ord, l.pos)
      INTO ps
      FROM (SELECT y.*, row_number() OVER (PARTITION BY y.ord ORDER BY y.o, y.chart_code, y.component)::int AS pos
              FROM (SELECT b.ord, b.chart_code, b.unit, b.component,
                           CASE WHEN b.amount > 0 THEN 'C' ELSE 'D' END AS side, abs(b.amount) AS amount,
                           CASE b.kind WHEN 'revenue' THEN 0 ELSE 2 END AS o
                      FROM pg_temp.close_bal b
                    UNION ALL
                    SELECT b.ord, '3001', b.unit, b.component,
                           CASE WHEN sum(b.amount) > 0 THEN 'D' ELSE 'C' END, abs(sum(b.amount))::bigint, 1
                      FROM pg_temp.close_bal b GROUP BY b.ord, b.unit, b.component HAVING sum(b.amount) <> 0) y) l;
    n_e := coalesce(cardinality(es), 0);
    IF n_e > 0 THEN
      PERFORM fl._post(es, ps);
    END IF;

    -- The local government's share goes to the obligations register (备查簿).
    INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, fiscal_year, reference, note)
    SELECT 'government_share', x.unit, bk.code, bk.pooled_component, x.government_share, p_date, p_year,
           format('govshare:%s:%s:%s', p_year, bk.code, x.unit),
           format('缺口分担 local government share of the %s shortfall of unit %s (%s)', p_year, x.unit, bk.code)
      FROM jsonb_to_recordset(rows) AS x(unit text, government_share bigint)
     WHERE x.government_share > 0;
    GET DIAGNOSTICS n_g = ROW_COUNT;

    INSERT INTO fl.year_close (year, book, closed_on, result)
    VALUES (p_year, bk.code, p_date, jsonb_build_object('component', bk.pooled_component, 'rows', rows));
    book := bk.code; entries := n_e; government_items := n_g;
    RETURN NEXT;
  END LOOP;

  -- Lock the year: after the closing entries, so they could still be posted.
  INSERT INTO fl.closed_period (month, reason)
  SELECT m::date, format('year-end close %s', p_year)
    FROM generate_series(v_start, make_date(p_year, 12, 1), interval '1 month') AS m
  ON CONFLICT (month) DO NOTHING;
END $$;

-- ---------------------------------------------------------------------------
-- The local government pays its shortfall share: clears the unit's open
-- government_share items oldest first through fl.clear_register (which posts
-- Dr 1003 special / Cr 4101.shortfall). Paying more than is owed is refused.
-- Each item cleared uses key p_key:ITEM; a repeated call with the same key and
-- amount changes nothing.
-- ---------------------------------------------------------------------------
CREATE FUNCTION fl.government_pay(p_unit text, p_book text, p_amount bigint, p_date date, p_key text)
RETURNS TABLE (item_id bigint, fiscal_year int, amount bigint, entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
#variable_conflict use_column
DECLARE
  u      fl.app_user := fl.require_role(ARRAY['finance'], 'record government payments');
  it     record;
  owed   bigint;
  left_  bigint := p_amount;
  take   bigint;
  prior  bigint;
  pfx    text := p_key || ':';
BEGIN
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a government payment needs an idempotency key');
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the amount paid must be positive');
  END IF;
  -- The same payment again (same key): report what it did.
  SELECT coalesce(sum(c.amount), 0) INTO prior FROM fl.register_clearing c
   WHERE left(c.idempotency_key, length(pfx)) = pfx;
  IF prior > 0 THEN
    IF prior <> p_amount OR EXISTS (SELECT 1 FROM fl.register_clearing c JOIN fl.register_item i ON i.id = c.item_id
                                     WHERE left(c.idempotency_key, length(pfx)) = pfx
                                       AND (i.unit, i.book) IS DISTINCT FROM (p_unit, p_book)) THEN
      PERFORM fl.refuse('idempotency_conflict', format(
        'key %s was already used for a different government payment; nothing was written', p_key), 'unique_violation');
    END IF;
    RETURN QUERY SELECT c.item_id, i.fiscal_year, c.amount, c.entry_id, 'duplicate'::text
      FROM fl.register_clearing c JOIN fl.register_item i ON i.id = c.item_id
     WHERE left(c.idempotency_key, length(pfx)) = pfx ORDER BY c.id;
    RETURN;
  END IF;

  PERFORM 1 FROM fl.register_item i
   WHERE i.kind = 'government_share' AND i.unit = p_unit AND i.book = p_book
   ORDER BY i.id FOR UPDATE;
  SELECT coalesce(sum(i.amount - i.cleared), 0) INTO owed FROM fl.register_item i
   WHERE i.kind = 'government_share' AND i.unit = p_unit AND i.book = p_book;
  IF owed = 0 THEN
    PERFORM fl.refuse('not_found', format('unit %s owes no government share in book %s', p_unit, p_book), 'no_data_found');
  END IF;
  IF p_amount > owed THEN
    PERFORM fl.refuse('register_overpaid', format(
      'unit %s''s government owes %s in book %s; a payment of %s is more than that', p_unit, fl.fmt_fen(owed),
      p_book, fl.fmt_fen(p_amount)));
  END IF;
  FOR it IN SELECT i.* FROM fl.register_item i
             WHERE i.kind = 'government_share' AND i.unit = p_unit AND i.book = p_book AND i.cleared < i.amount
             ORDER BY i.opened_on, i.id LOOP
    EXIT WHEN left_ = 0;
    take := least(left_, it.amount - it.cleared);
    PERFORM fl.clear_register(it.id, take, p_date, pfx || it.id);
    left_ := left_ - take;
    RETURN QUERY SELECT it.id, it.fiscal_year, take,
                        (SELECT c.entry_id FROM fl.register_clearing c WHERE c.idempotency_key = pfx || it.id),
                        'posted'::text;
  END LOOP;
END $$;

-- ---------------------------------------------------------------------------
-- Privileges: every group may call; each function checks the caller's role itself.
-- ---------------------------------------------------------------------------
REVOKE ALL ON FUNCTION fl.year_flows(text, date, date), fl.year_figures(int, text),
  fl.request_justification(text, text, text, int), fl.request_next_state(text, text),
  fl._prealloc_lines(int, jsonb), fl._request_for(bigint, text), fl._not_submitter(fl.fund_request, text),
  fl._request_event(fl.fund_request, text, text, bigint, text, bigint), fl._special_account(text),
  fl.preallocate(int, date, jsonb),
  fl.request_submit(text, text, text, int, int, bigint, text, text), fl.request_approve(bigint, bigint),
  fl.request_reject(bigint, text), fl.request_void(bigint, text), fl.request_disburse(bigint, date, text),
  fl.request_settle(bigint, date, text), fl.allocate_interest(text, date, text, jsonb),
  fl.close_year(int, date, jsonb), fl.government_pay(text, text, bigint, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.year_flows(text, date, date), fl.year_figures(int, text),
  fl.request_justification(text, text, text, int), fl.request_next_state(text, text),
  fl.preallocate(int, date, jsonb),
  fl.request_submit(text, text, text, int, int, bigint, text, text), fl.request_approve(bigint, bigint),
  fl.request_reject(bigint, text), fl.request_void(bigint, text), fl.request_disburse(bigint, date, text),
  fl.request_settle(bigint, date, text), fl.allocate_interest(text, date, text, jsonb),
  fl.close_year(int, date, jsonb), fl.government_pay(text, text, bigint, date, text)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
