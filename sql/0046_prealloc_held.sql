-- 0046 (ATTACK3 R7, issue 14): a pre-allocation (预拨) is held for city finance's confirmation.
-- Before, fl.preallocate posted at once: one reviewer moved the pool's money to a county, within
-- a cap (0027) measured against a budget that the same reviewer imports. Now:
--   * fl.preallocate holds each line (fl.pending_entry, kind 'preallocation', 0017's machinery)
--     and returns its held id; the entry posts when city finance confirms it (fl.confirm_entry):
--     预拨 is a transfer out of the finance bureau's special account (专户), which finance
--     executes in the real world;
--   * only a finance user confirms a held pre-allocation (fl._decider). Budgets, their
--     adjustments and annual plans are imported by the city bureau (reviewer) alone, so the
--     person who confirms the money never made the figure its cap was measured against: the cap
--     and its input are two people's together. Each held line records that input (the budget
--     version in force, who imported it, last year's spending, what the county account held);
--   * a held line that finance rejects can be held again under the next key (prealloc:…#1).
-- The budget import itself is not held: it moves no money; the only money measured against it
-- (this cap) now waits for finance. docs/security.md ("The third attack", R7) says why.

ALTER TABLE fl.pending_entry DROP CONSTRAINT pending_entry_kind_check;
ALTER TABLE fl.pending_entry ADD CONSTRAINT pending_entry_kind_check
  CHECK (kind IN ('manual', 'reversal', 'interest', 'opening', 'adjfund_remit', 'preallocation'));

-- A line's state this year: its key for a new hold (after n rejections, prealloc:…#n), the
-- pre-allocation entry already posted for it, the held entry not yet decided.
CREATE FUNCTION fl._prealloc_state(p_year int, p_lines jsonb)
RETURNS TABLE (ord int, unit text, book text, component text, amount bigint, key text, entry_id bigint, held_id bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT l.ord, l.unit, l.book, l.component, l.amount,
         CASE WHEN r.n = 0 THEN l.key ELSE l.key || '#' || r.n END,
         (SELECT e.id FROM fl.entry e
           WHERE e.kind = 'preallocation' AND (e.idempotency_key = l.key OR e.idempotency_key LIKE l.key || '#%')
           ORDER BY e.id LIMIT 1),
         (SELECT pe.id FROM fl.pending_entry pe
           WHERE pe.kind = 'preallocation' AND pe.state = 'held'
             AND (pe.idempotency_key = l.key OR pe.idempotency_key LIKE l.key || '#%')
           ORDER BY pe.id LIMIT 1)
    FROM fl._prealloc_lines(p_year, p_lines) l
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM fl.pending_entry pe
                         WHERE pe.kind = 'preallocation' AND pe.state = 'rejected'
                           AND (pe.idempotency_key = l.key OR pe.idempotency_key LIKE l.key || '#%')) r
$$;
REVOKE ALL ON FUNCTION fl._prealloc_state(int, jsonb) FROM PUBLIC;

-- What a line's cap was measured against, recorded in the held entry for its confirmer.
CREATE FUNCTION fl._prealloc_basis(p_year int, p_unit text, p_book text, p_component text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT jsonb_build_object(
    'budget_expenditure', (SELECT sum(b.amount) FROM fl.budget_current b
                            WHERE b.year = p_year AND b.unit = p_unit AND b.book = p_book
                              AND b.component = p_component AND b.kind = 'expenditure'),
    'budget_version', (SELECT max(b.version) FROM fl.budget b WHERE b.year = p_year AND b.unit = p_unit AND b.book = p_book),
    'budget_imported_by', (SELECT b.imported_by FROM fl.budget b WHERE b.year = p_year AND b.unit = p_unit
                              AND b.book = p_book ORDER BY b.version DESC LIMIT 1),
    'prior_year_expenditure', (SELECT greatest(sum(f.net), 0)
                                 FROM fl.year_flows(p_book, make_date(p_year - 1, 1, 1), make_date(p_year - 1, 12, 31)) f
                                WHERE f.unit = p_unit AND f.component = p_component AND f.kind = 'expenditure'),
    'county_account_held', (SELECT a.balance FROM fl.account a
                             WHERE a.book = p_book AND a.chart_code = '1004' AND a.unit = p_unit
                               AND a.holder = 'county_exp' AND a.component = p_component))
$$;
REVOKE ALL ON FUNCTION fl._prealloc_basis(int, text, text, text) FROM PUBLIC;

DROP FUNCTION fl.preallocate(integer, date, jsonb);
CREATE FUNCTION fl.preallocate(p_year integer, p_date date, p_lines jsonb)
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
                       'preallocation', l.key, NULL, '', jsonb_build_object('year', p_year, 'cap', fl._prealloc_basis(p_year, l.unit, l.book, l.component)),
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
GRANT EXECUTE ON FUNCTION fl.preallocate(integer, date, jsonb) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- Who decides a held pre-allocation: finance confirms (0025b's rules otherwise unchanged).
CREATE OR REPLACE FUNCTION fl._decider(p fl.pending_entry, p_action text) RETURNS fl.app_user
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
  IF p_action = 'confirm' AND p.kind IN ('reversal', 'interest', 'opening', 'adjfund_remit')
     AND u.role NOT IN ('reviewer', 'finance') THEN
    PERFORM fl.refuse('permission_denied', format('a held %s is confirmed by the city bureau (reviewer) or city finance',
      p.kind), 'insufficient_privilege');
  END IF;
  IF p_action = 'confirm' AND p.kind = 'preallocation' AND u.role <> 'finance' THEN
    PERFORM fl.refuse('permission_denied', format(
      'held entry %s is a pre-allocation (预拨), a transfer out of the special account that city finance executes: '
      'a finance user confirms it (fundledger --as FINANCE entry confirm %s)', p.id, p.id), 'insufficient_privilege');
  END IF;
  RETURN u;
END $$;
