-- 0051 (ATTACK6 T17, issue 14): clearing unpaid provider claims is held for a second person.
-- Before, `register clear ITEM` on an unpaid_claims item (Dr 5001.other / Cr 1004 county_exp:
-- money out of a county's expenditure account, paid to providers) posted at once on one
-- reviewer's word: ¥1,500,000 of the pool left the bank that way with nobody else involved.
-- Now:
--   * fl.clear_register holds an unpaid-claims clearing (fl.pending_entry, kind 'register_clear',
--     0017's machinery) and returns its held id; the entry posts, the clearing row is written and
--     the item's cleared amount grows only when city finance or a second reviewer confirms it
--     (fl.confirm_entry). Its maker never confirms it; officers never do;
--   * what is held for an item counts against what may still be held: two holds together never
--     clear more than is outstanding, and the confirmation checks the outstanding amount again;
--   * the other clearings (fiscal and employer arrears, a local government's share: Dr 1003
--     special / Cr 4xxx) are finance's record of money arriving in its special account, like a
--     collection import, and post at once as before.
-- fl.manual_policy() says exactly what is held.

ALTER TABLE fl.pending_entry DROP CONSTRAINT pending_entry_kind_check;
ALTER TABLE fl.pending_entry ADD CONSTRAINT pending_entry_kind_check
  CHECK (kind IN ('manual', 'reversal', 'interest', 'opening', 'adjfund_remit', 'preallocation', 'register_clear'));

DROP FUNCTION fl.clear_register(bigint, bigint, date, text);
CREATE FUNCTION fl.clear_register(p_item bigint, p_amount bigint, p_date date, p_key text)
RETURNS TABLE (item_id bigint, entry_id bigint, status text, cleared bigint, outstanding bigint, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout TO '5s' AS $$
#variable_conflict use_column
DECLARE
  me   fl.app_user := fl.caller();
  it   fl.register_item;
  prev fl.register_clearing;
  comp text;
  dr_code text; dr_holder text; cr_code text; cr_holder text;
  key  text;
  res  record;
  pend bigint;
  e    fl.new_entry;
  ps   fl.new_posting[];
BEGIN
  SELECT * INTO it FROM fl.register_item i WHERE i.id = p_item FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no register item %s (see fundledger register list)', p_item), 'no_data_found');
  END IF;
  IF it.kind = 'unpaid_claims' THEN
    me := fl.require_role(ARRAY['reviewer'], 'clear unpaid provider claims');
  ELSE
    me := fl.require_role(ARRAY['finance'], format('clear %s (money arriving in the special account)', replace(it.kind, '_', ' ')));
  END IF;
  -- The default key counts the item's clearings and its held clearings not confirmed (held or
  -- rejected): a second hold never takes the first one's key.
  key := coalesce(nullif(trim(p_key), ''),
                  format('register-clear:%s:%s', p_item,
                         (SELECT count(*) + 1 FROM fl.register_clearing c WHERE c.item_id = p_item)
                         + (SELECT count(*) FROM fl.pending_entry pe
                             WHERE pe.kind = 'register_clear' AND pe.state <> 'confirmed'
                               AND pe.source ->> 'register_item' = p_item::text)));

  SELECT * INTO prev FROM fl.register_clearing c WHERE c.idempotency_key = key;
  IF FOUND THEN
    IF prev.item_id = p_item AND prev.amount = p_amount AND prev.cleared_on = p_date THEN
      RETURN QUERY SELECT it.id, prev.entry_id, 'duplicate'::text, it.cleared, it.amount - it.cleared,
                          (SELECT pe.id FROM fl.pending_entry pe WHERE pe.idempotency_key = key);
      RETURN;
    END IF;
    PERFORM fl.refuse('idempotency_conflict', format(
      'key %s was already used to clear %s of item %s on %s; nothing was written', key, fl.fmt_fen(prev.amount),
      prev.item_id, prev.cleared_on), 'unique_violation');
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    PERFORM fl.refuse('bad_document', 'the amount cleared must be positive');
  END IF;
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the clearing date is missing (--date)');
  END IF;
  IF it.cleared >= it.amount THEN
    PERFORM fl.refuse('illegal_state', format('register item %s (%s of unit %s, %s) is already fully cleared',
      it.id, it.kind, it.unit, fl.fmt_fen(it.amount)));
  END IF;
  -- What is held for the item and not yet decided counts as cleared for a new hold (the same
  -- hold asked again, under its key, is not counted twice).
  SELECT coalesce(sum(pp.amount), 0) INTO pend
    FROM fl.pending_entry pe JOIN fl.pending_posting pp ON pp.pending_id = pe.id AND pp.side = 'D'
   WHERE pe.kind = 'register_clear' AND pe.state = 'held' AND pe.source ->> 'register_item' = p_item::text
     AND pe.idempotency_key <> key;
  IF p_amount > it.amount - it.cleared - pend AND pend > 0 THEN
    PERFORM fl.refuse('register_not_overcleared', format(
      'register item %s (%s of unit %s) has %s outstanding, of which %s is held for confirmation; clearing %s '
      'would clear more than is owed (fundledger entry held)',
      it.id, it.kind, it.unit, fl.fmt_fen(it.amount - it.cleared), fl.fmt_fen(pend), fl.fmt_fen(p_amount)));
  ELSIF p_amount > it.amount - it.cleared THEN
    PERFORM fl.refuse('register_not_overcleared', format(
      'register item %s (%s of unit %s) has %s outstanding; clearing %s would clear more than is owed',
      it.id, it.kind, it.unit, fl.fmt_fen(it.amount - it.cleared), fl.fmt_fen(p_amount)));
  END IF;

  comp := CASE WHEN (SELECT cardinality(b.components) FROM fl.book b WHERE b.code = it.book) = 0 THEN ''
               WHEN it.kind = 'government_share' OR it.component = ''
                 THEN (SELECT b.pooled_component FROM fl.book b WHERE b.code = it.book)
               ELSE it.component END;
  CASE it.kind
    WHEN 'fiscal_arrears'   THEN dr_code := '1003'; dr_holder := 'special'; cr_code := '4101.county'; cr_holder := '';
    WHEN 'employer_arrears' THEN dr_code := '1003'; dr_holder := 'special'; cr_code := '4001'; cr_holder := '';
    WHEN 'government_share' THEN dr_code := '1003'; dr_holder := 'special'; cr_code := '4101.shortfall'; cr_holder := '';
    ELSE dr_code := '5001.other'; dr_holder := ''; cr_code := '1004'; cr_holder := 'county_exp';
  END CASE;
  e := ROW(1, it.book, p_date,
           format('备查簿 register item %s (%s, %s) cleared: %s', it.id, it.kind, it.reference, fl.fmt_fen(p_amount)),
           'register_clear', key, NULL, NULL, jsonb_build_object('register_item', it.id, 'kind', it.kind), NULL)::fl.new_entry;
  ps := ARRAY[ROW(1, 1, it.book, dr_code, it.unit, dr_holder, comp, 'D', p_amount, it.reference, NULL)::fl.new_posting,
              ROW(1, 2, it.book, cr_code, it.unit, cr_holder, comp, 'C', p_amount, it.reference, NULL)::fl.new_posting];

  IF it.kind = 'unpaid_claims' THEN
    -- (0051, ATTACK6 T17) Money out of the county's expenditure account: held until city finance
    -- or a second reviewer confirms it (fl.confirm_entry writes the clearing then).
    SELECT * INTO res FROM fl._hold(me, 'register_clear', ARRAY[e], ps) h;
    RETURN QUERY SELECT it.id, res.entry_id, res.status, it.cleared, it.amount - it.cleared, res.held_id;
    RETURN;
  END IF;

  SELECT * INTO res FROM fl._post(ARRAY[e], ps);
  INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
  VALUES (it.id, p_amount, p_date, res.entry_id, key);
  UPDATE fl.register_item i SET cleared = i.cleared + p_amount WHERE i.id = it.id;
  RETURN QUERY SELECT it.id, res.entry_id, res.status, it.cleared + p_amount, it.amount - it.cleared - p_amount,
                      NULL::bigint;
END $$;
REVOKE ALL ON FUNCTION fl.clear_register(bigint, bigint, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.clear_register(bigint, bigint, date, text)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- A held clearing is confirmed by city finance or a second reviewer (0046's rules otherwise unchanged).
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
  IF p_action = 'confirm' AND p.kind IN ('reversal', 'interest', 'opening', 'adjfund_remit', 'register_clear')
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

-- A held clearing, confirmed: its entry posts, then the clearing row and the item's cleared
-- amount follow it in the same transaction (as fl.clear_register did when it posted at once).
CREATE OR REPLACE FUNCTION fl.confirm_entry(p_id bigint) RETURNS TABLE (entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout TO '5s' AS $$
#variable_conflict use_column
DECLARE
  p   fl.pending_entry := fl._pending_for(p_id, 'confirm');
  u   fl.app_user := fl._decider(p, 'confirm');
  eid bigint;
  it  fl.register_item;
  amt bigint;
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
  IF p.kind = 'register_clear' THEN
    -- (0051) The item may have been cleared since the hold: never clear more than is owed.
    SELECT * INTO it FROM fl.register_item i WHERE i.id = (p.source ->> 'register_item')::bigint FOR UPDATE;
    SELECT sum(pp.amount) INTO amt FROM fl.pending_posting pp WHERE pp.pending_id = p.id AND pp.side = 'D';
    IF it.id IS NULL OR amt > it.amount - it.cleared THEN
      PERFORM fl.refuse('register_not_overcleared', format(
        'held entry %s clears %s of register item %s, which has %s outstanding now; reject it '
        '(fundledger entry reject %s --reason ...)', p.id, fl.fmt_fen(amt), p.source ->> 'register_item',
        fl.fmt_fen(coalesce(it.amount - it.cleared, 0)), p.id));
    END IF;
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
  IF p.kind = 'register_clear' THEN
    INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
    VALUES (it.id, amt, p.entry_date, eid, p.idempotency_key);
    UPDATE fl.register_item i SET cleared = i.cleared + amt WHERE i.id = it.id;
  END IF;
  RETURN QUERY SELECT eid, 'posted'::text;
END $$;

-- The policy in words (0036's, with what 0046 and 0051 hold).
CREATE OR REPLACE FUNCTION fl.manual_policy() RETURNS TABLE (role text, rule text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  VALUES
    ('officer', 'posts by hand only for its own unit'),
    ('officer', 'never credits (moves money out of) the special account 1003, the city expenditure account '
                '(1004 city_exp) or the treasury account 1005'),
    ('officer', 'confirms or rejects only another officer''s held entry of its own unit'),
    ('reviewer', 'posts by hand for any unit; confirms any held entry it did not make, but a pre-allocation'),
    ('reviewer', 'posts the city proper''s audited opening balance (opening post); reverses entries'),
    ('reviewer', 'pre-allocates (held until a finance user confirms it); clears unpaid provider claims (held until '
                 'city finance or a second reviewer confirms it)'),
    ('finance', 'posts by hand for any unit; confirms any held entry it did not make; reverses entries'),
    ('finance', 'clears fiscal arrears, employer arrears and local-government shares (money arriving in the special '
                'account) at once, like a collection import'),
    ('auditor', 'posts nothing'),
    ('admin', 'posts nothing'),
    ('any', 'an entry posted by hand is always kind manual; its key is filed under manual:<user>:'),
    ('any', 'a manual entry, reversal, interest allocation or city opening balance (opening post) that moves real '
            'money (1001-1005 or an account with a holder) is held until a different user confirms it'),
    ('any', 'a clearing of unpaid provider claims (register clear: Dr 5001.other / Cr 1004 county expenditure account, '
            'money out of a county''s bank account) is held until city finance or a second reviewer confirms it; '
            'the clearing counts against the item only when confirmed'),
    ('any', 'a county''s audited opening balances (handover open) are not held: they post on the reviewer''s word'),
    ('any', 'a pre-allocation (preallocate: Dr 1004 county expenditure / Cr 1003 special) is held until a finance user '
            'confirms it'),
    ('any', 'a manual entry on revenue, expenditure or fund balance (3xxx-5xxx, the year-end rule''s inputs), '
            'and a reversal of a workflow entry (a year-end close, an import, a pre-allocation, a request''s '
            'step) or of an entry on 3xxx-5xxx, is held until a different user confirms it, whoever makes it'),
    ('any', 'a unit''s share of the city expenditure account (1004 city_exp) and of the treasury (1005) never '
            'goes below zero, whoever posts')
$$;
