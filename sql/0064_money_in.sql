-- 0064 (ATTACK8 V5, V8): money into a bank account by hand is the city's to confirm, whoever
-- holds the account; withdrawals of one's own held entries are bounded.
--
-- V5 (HIGH). 0058 left a county's own figures to the county: two officers of 230822 held and
-- confirmed Dr 1004 county_exp / Cr 5001.inpatient — fake money in the county's expenditure
-- account and a smaller deficit, no one from the city involved. The class: money *into* a bank or
-- cash account (a debit on 1001 cash, the deposits 1002-1005, or any account with a holder — the
-- special account, city_exp, the treasury, a county's county_exp and its legacy accounts) written
-- by hand. Now:
--   * fl._money_in(chart, holder, side): such a posting (the rule in one place, like 0058's
--     fl._city_figure);
--   * fl._decider: an officer confirms no held entry with such a posting (refusal city_confirms,
--     saying who confirms: the city bureau, a reviewer, or city finance). Every other held kind
--     was the city's already (reversals, interest, openings, pre-allocations, remittances,
--     clearings; the bureau's held payments are a reviewer's, which no officer confirms);
--   * the last word, whatever path reaches the journal: fl.posting_city_figures (0058's statement
--     trigger on fl.posting) also refuses, in an officer's session, any posting that debits a bank
--     or cash account, whatever the entry's kind. An officer's session writes only manual entries
--     and its unit's payments (0039), and a payments import only credits the bank account;
--   * the in-database pass of verify (held_entries) and the independent verdict (maker_checker,
--     ledger.core.rules) name an entry that put money into a bank account by hand without a
--     reviewer or finance user confirming it.
--   Workflow entries that debit a bank account keep their own duties: collections and statement
--   imports (finance, the bureau), pre-allocations (held for finance), disbursements and
--   settlements (0018's separation of duties), interest and openings (held for the city).
--
-- V8 (MED). A maker could hold entries and withdraw them (fl.reject_entry of its own) without
-- end: every held entry is an append-only row (with its postings, ~7 MB every 2 s per
-- connection), and 0050's cap counted only open ones. Now a BEFORE UPDATE trigger on
-- fl.pending_entry (whatever function or statement decides) bounds, per deciding user and any
-- 24 hours, the rejections nobody from the city made: a user's withdrawals of its own held entries,
-- and an officer's rejections (of its unit's colleagues' entries: two officers of one county would
-- otherwise withdraw for each other). At most 2000 — the open cap's size: a legitimate maker
-- withdraws a whole mistaken call (at most 1000 entries) twice a day. Past the cap the entry stays
-- held and the refusal (withdrawal_cap) says what to do: the city bureau or city finance rejects
-- it (their rejections clear the review queue and are never capped), or try again at the time it
-- names. Open entries keep 0050's cap, so a maker holds at most 2000 open plus 2000 withdrawn a
-- day. Concurrent withdrawals by one user may pass the count together: at most its connection
-- limit beyond the cap.

CREATE FUNCTION fl._money_in(p_chart text, p_holder text, p_side text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT p_side = 'D' AND (pg_catalog.split_part(coalesce(p_chart, ''), '.', 1)
                             IN ('1001', '1002', '1003', '1004', '1005')
                           OR coalesce(p_holder, '') <> '')
$$;
REVOKE ALL ON FUNCTION fl._money_in(text, text, text) FROM PUBLIC;

-- fl.posting_city_figures (0058): and money into a bank account, whatever the kind
CREATE OR REPLACE FUNCTION fl.posting_city_figures()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE bad record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer') THEN
    RETURN NULL;
  END IF;
  SELECT g.entry_id, e.kind, a.chart_code, a.holder, e.kind = 'manual' AND fl._city_figure(a.chart_code, a.holder) AS city
    INTO bad
    FROM (SELECT DISTINCT entry_id, account_id, side FROM new_postings) g
    JOIN LATERAL (SELECT x.kind FROM fl.entry x WHERE x.id = g.entry_id OFFSET 0) e ON true
    JOIN LATERAL (SELECT x.chart_code, x.holder FROM fl.account x WHERE x.id = g.account_id OFFSET 0) a ON true
   WHERE (e.kind = 'manual' AND fl._city_figure(a.chart_code, a.holder))
      OR fl._money_in(a.chart_code, a.holder, g.side)   -- (0064, ATTACK8 V5) whatever the kind
   ORDER BY 5 DESC                                      -- 0058's own words first for a city figure
   LIMIT 1;
  IF FOUND AND NOT bad.city THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not write %s (a %s entry) that puts money into %s, a bank or cash account: money '
      'into a bank account by hand is held and the city bureau (a reviewer) or city finance confirms it',
      session_user, fl.entry_label(bad.entry_id), bad.kind, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')),
      'insufficient_privilege');
  ELSIF FOUND THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not post a manual entry on %s, the city''s figure (the city''s bank accounts 1003 '
      'special, 1004 city_exp and 1005 treasury, revenue 4xxx, fund balance 3xxx): such an entry is held and the '
      'city bureau (a reviewer) or city finance confirms it',
      session_user, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')), 'insufficient_privilege');
  END IF;
  RETURN NULL;
END $function$;

-- V8: rejections nobody from the city made, per deciding user and any 24 hours.
CREATE INDEX pending_entry_rejected_by ON fl.pending_entry (decided_by, decided_at) WHERE state = 'rejected';

CREATE FUNCTION fl.pending_withdrawal_cap() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  officer boolean := EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = NEW.decided_by AND u.role = 'officer');
  n       bigint;
  first   timestamptz;
BEGIN
  IF NOT officer AND NEW.decided_by IS DISTINCT FROM NEW.made_by THEN
    RETURN NEW;                 -- the city bureau or city finance clearing the queue: never capped
  END IF;
  SELECT count(*), min(pe.decided_at) INTO n, first FROM fl.pending_entry pe
   WHERE pe.state = 'rejected' AND pe.decided_by = NEW.decided_by
     AND pe.decided_at > pg_catalog.now() - interval '24 hours'
     AND (officer OR pe.made_by = pe.decided_by);
  IF n >= 2000 THEN
    PERFORM fl.refuse('withdrawal_cap', format(
      '%s has already withdrawn or rejected %s held entries in the last 24 hours (at most 2000 a day for a maker''s '
      'own and an officer''s rejections): held entry %s stays held. Ask the city bureau (a reviewer) or city finance '
      'to reject it (fundledger --as REVIEWER entry reject %s --reason ...), or reject it again after %s',
      NEW.decided_by, n, NEW.id, NEW.id,
      pg_catalog.to_char((first + interval '24 hours') AT TIME ZONE coalesce(
        (SELECT s.value ->> 'time_zone' FROM fl.setting s WHERE s.key = 'region'), 'Asia/Shanghai'),
        'YYYY-MM-DD HH24:MI')), 'program_limit_exceeded');
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.pending_withdrawal_cap() FROM PUBLIC;

CREATE TRIGGER pending_entry_withdrawal_cap BEFORE UPDATE ON fl.pending_entry FOR EACH ROW
  WHEN (OLD.state = 'held' AND NEW.state = 'rejected') EXECUTE FUNCTION fl.pending_withdrawal_cap();

-- ---------------------------------------------------------------------------
-- The functions below are their definitions as migrated (pg_get_functiondef of a database at
-- 0063, this migration's parent), each changed only where the comment "(0064" says.
-- ---------------------------------------------------------------------------

-- fl._decider: (0064) money into a bank account is the city's to confirm
CREATE OR REPLACE FUNCTION fl._decider(p fl.pending_entry, p_action text)
 RETURNS fl.app_user
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['officer', 'reviewer', 'finance'], p_action || ' held entries');
  fig record;
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
  -- (0058, ATTACK7 U5) An officer's held entry on the city's bank accounts (1003 special, 1004
  -- city_exp, 1005 treasury: either side) or on revenue and fund balance (3xxx, 4xxx) is the
  -- city's figure: the city bureau or city finance confirms it, never an officer of the county.
  IF p_action = 'confirm' AND u.role = 'officer' AND p.maker_role = 'officer' THEN
    SELECT a.chart_code, a.holder INTO fig FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id
     WHERE pp.pending_id = p.id AND fl._city_figure(a.chart_code, a.holder) ORDER BY pp.pos LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('city_confirms', format(
        'held entry %s is on %s, the city''s figure (the city''s bank accounts 1003 special, 1004 city_exp and '
        '1005 treasury, revenue 4xxx, fund balance 3xxx): the city bureau (a reviewer) or city finance confirms it, '
        'not an officer (fundledger --as REVIEWER entry confirm %s)', p.id,
        fig.chart_code || coalesce(' ' || nullif(fig.holder, ''), ''), p.id),
        'insufficient_privilege');
    END IF;
  END IF;
  -- (0064, ATTACK8 V5) Money into any bank or cash account by hand (a debit on 1001 cash, the
  -- deposits 1002-1005, or any account with a holder: the county's own expenditure account and its
  -- legacy accounts included) is the city's to confirm, whoever holds the account: two officers of
  -- one county put fake money into the county's account and shrank its deficit (Dr 1004 county_exp
  -- / Cr 5xxx). An officer confirms no such held entry.
  IF p_action = 'confirm' AND u.role = 'officer' THEN
    SELECT a.chart_code, a.holder INTO fig FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id
     WHERE pp.pending_id = p.id AND fl._money_in(a.chart_code, a.holder, pp.side) ORDER BY pp.pos LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('city_confirms', format(
        'held entry %s puts money into %s by hand (a debit on a bank or cash account: 1001 cash, 1002-1005 deposits, '
        'a county''s own expenditure and legacy accounts included): the city bureau (a reviewer) or city finance '
        'confirms it, not an officer (fundledger --as REVIEWER entry confirm %s)', p.id,
        fig.chart_code || coalesce(' ' || nullif(fig.holder, ''), ''), p.id),
        'insufficient_privilege');
    END IF;
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
END $function$;

-- fl.manual_policy: 0064's rules added
CREATE OR REPLACE FUNCTION fl.manual_policy()
 RETURNS TABLE(role text, rule text)
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
  VALUES
    ('officer', 'posts by hand only for its own unit'),
    ('officer', 'never credits (moves money out of) the special account 1003, the city expenditure account '
                '(1004 city_exp) or the treasury account 1005'),
    ('officer', 'confirms or rejects only another officer''s held entry of its own unit; never confirms one on the '
                'city''s figures (1003 special, 1004 city_exp, 1005 treasury: either side; revenue 4xxx; fund '
                'balance 3xxx): the city bureau (a reviewer) or city finance does'),
    ('officer', 'no manual entry on the city''s figures is ever written in an officer''s session, whichever '
                'path reaches the journal'),
    ('reviewer', 'posts by hand for any unit; confirms any held entry it did not make, but a pre-allocation'),
    ('reviewer', 'posts the city proper''s audited opening balance (opening post) and the counties'' (handover open), '
                 'both held; reverses entries'),
    ('reviewer', 'pre-allocates (held until a finance user confirms it); clears unpaid provider claims (held until '
                 'city finance or a second reviewer confirms it)'),
    ('finance', 'posts by hand for any unit; confirms any held entry it did not make; reverses entries'),
    ('finance', 'clears fiscal arrears, employer arrears and local-government shares (money arriving in the special '
                'account) at once, like a collection import'),
    ('auditor', 'posts nothing'),
    ('admin', 'posts nothing'),
    ('any', 'an entry posted by hand is always kind manual; its key is filed under manual:<user>:'),
    ('any', 'a manual entry, reversal, interest allocation or opening balance (the city proper''s opening post, a '
            'county''s handover open) that moves real money (1001-1005 or an account with a holder) is held until a '
            'different user confirms it; a county''s opening row is confirmed by city finance or a second reviewer, '
            'and refused once that county''s book was transferred up'),
    ('any', 'a clearing of unpaid provider claims (register clear: Dr 5001.other / Cr 1004 county expenditure account, '
            'money out of a county''s bank account) is held until city finance or a second reviewer confirms it; '
            'the clearing counts against the item only when confirmed'),
    ('any', 'the memo-register items of a county''s opening file (arrears, unpaid claims) are recorded at once: they '
            'move no money, and each payout from unpaid claims is held'),
    ('any', 'a pre-allocation (preallocate: Dr 1004 county expenditure / Cr 1003 special) is held until a finance user '
            'confirms it'),
    ('any', 'a manual entry on bond investment (1201) or borrowing (2101) is held until a different user '
            'confirms it, whoever makes it: buying bonds and borrowing move money; only temporary payments and '
            'receipts (1101/2001) post at once'),
    ('any', 'one call posts at most 1000 entries, 20000 postings and 8 MB; a user has at most 2000 held entries '
            'waiting for a second person'),
    ('any', 'a manual entry on revenue, expenditure or fund balance (3xxx-5xxx, the year-end rule''s inputs), '
            'and a reversal of a workflow entry (a year-end close, an import, a pre-allocation, a request''s '
            'step) or of an entry on 3xxx-5xxx, is held until a different user confirms it, whoever makes it'),
    ('any', 'a unit''s share of the city expenditure account (1004 city_exp) and of the treasury (1005) never '
            'goes below zero, whoever posts'),
    ('any', 'money out of a county''s own bank account (a credit on 1004 county expenditure or a legacy account) '
            'posts at once only for that county''s officer (its own claims: pay import, paid from county) or as '
            'finance''s transfer up of the legacy accounts; anyone else''s such entry (the city bureau''s payment '
            'import paid from county, a clearing of unpaid claims, a manual entry, a reversal) is held until a '
            'different user confirms it (city finance or a second reviewer for a city role''s entry), whatever '
            'command or statement writes it'),
    ('officer', 'never confirms a held entry that puts money into a bank or cash account (a debit on 1001-1005 or '
                'on an account with a holder, its own county''s expenditure and legacy accounts included): the city '
                'bureau (a reviewer) or city finance does; no such entry is written in an officer''s session'),
    ('any', 'a user withdraws (rejects its own) at most 2000 held entries in 24 hours, and an officer rejects at '
            'most 2000 in 24 hours; past that the city bureau or city finance rejects them')
$function$;
