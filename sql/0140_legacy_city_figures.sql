-- 0140 (ATTACK17 E5): a county's legacy accounts are the city's figures, either side.
--
-- E5 (MED). After the city confirmed a county's audited opening (0052: the rows on its legacy bank
-- accounts are held for city finance or a second reviewer), two officers of the county — one holds,
-- the other confirms — moved money off its legacy revenue or expenditure account (Dr 1101 temporary
-- payment "advance" / Cr 1002 legacy_revenue, Cr 1004 legacy_expenditure) before city finance's
-- transfer up (上划): `handover transfer` then moved what was left (1,000,000.00 of the audited
-- 1,300,000.50) and verify stayed green. 0058 had left "a county's own accounts (county_exp, the
-- legacy accounts)" to the county; only the legacy special account was out of an officer's reach
-- (fl._manual_policy: an officer never credits 1003, whatever the holder).
--
-- The class is whose money a bank account holds, asked in one place, fl._city_figure(chart, holder):
--   * pooled (the city's shared accounts: special, city_exp, treasury) — 0058;
--   * awaiting pooling (a county's legacy accounts: legacy_special, legacy_revenue,
--     legacy_expenditure — BRIEF §5: the county's audited balances, whose whole surplus moves up to
--     the special account) — now; whatever their balance: before the county's opening is recorded
--     they hold nothing an officer could move out (money into them by hand is the city's since
--     0064, and no bank account goes below zero), after the transfer up nothing either;
--   * the county's own (county_exp: its pre-allocated money, paid out by its own claims) — the
--     county's, as before (money into it by hand is the city's: 0064).
-- A city figure is the city's on either side, so, with their logic unchanged:
--   * fl._decider: an officer confirms no officer's held entry on a legacy account (city_confirms,
--     its own words now: what the account is and who confirms);
--   * fl.posting_inserted (0090's statement rule, whatever path reaches the journal, raw SQL
--     included): no manual entry on a legacy account is written in an officer's session;
--   * verify's held_entries (first pass) and the independent verdict's maker_checker
--     (ledger.core.rules.city_figure) name an officer's confirmation of such an entry — bound from
--     rule point legacy_figures (0068), so a ledger whose county officers did so before this
--     release verifies as before.
-- A legitimate movement out of a legacy account before the transfer up (a county's unpaid claim
-- paid from it) is still possible: the officer holds it, the city bureau or city finance confirms it,
-- and `handover transfer` names what left the legacy accounts since the audited opening (cli).
-- fl.manual_policy() says so.

-- fl._city_figure (0067): and a county's legacy accounts
CREATE OR REPLACE FUNCTION fl._city_figure(p_chart text, p_holder text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce(p_holder, '') IN ('special', 'city_exp', 'treasury',
                                    'legacy_special', 'legacy_revenue', 'legacy_expenditure')
      OR pg_catalog.left(coalesce(p_chart, ''), 1) IN ('3', '4', '5')
$$;
REVOKE ALL ON FUNCTION fl._city_figure(text, text) FROM PUBLIC;

-- The functions below are their definitions as migrated at 0139 (0067 last defined them), each
-- changed only where the comments "(0140" say.

-- fl._decider (0067): the city figure's words name a county's legacy accounts
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
  -- (0058, ATTACK7 U5) An officer's held entry on the city's bank accounts (1003 special, 1004
  -- city_exp, 1005 treasury: either side) or on fund balance, revenue and (0067, ATTACK9 W2)
  -- expenditure (3xxx-5xxx: the year-end shortfall rule's inputs) is the city's figure: the city
  -- bureau or city finance confirms it, never an officer of the county. (0067: asked after 0064's
  -- money-in rule, whose words say more of an entry that does both.)
  -- (0140, ATTACK17 E5) fl._city_figure names a county's legacy accounts too (1002 legacy_revenue,
  -- 1003 legacy_special, 1004 legacy_expenditure: money awaiting the transfer up), so two officers
  -- of the county no longer move the audited surplus off them between themselves.
  IF p_action = 'confirm' AND u.role = 'officer' AND p.maker_role = 'officer' THEN
    SELECT a.chart_code, a.holder INTO fig FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id
     WHERE pp.pending_id = p.id AND fl._city_figure(a.chart_code, a.holder) ORDER BY pp.pos LIMIT 1;
    IF FOUND THEN
      -- (0140, ATTACK17 E5) a county's legacy accounts are named as such: money awaiting the
      -- transfer up (上划), which the city audited and confirmed
      IF fig.holder LIKE 'legacy\_%' THEN
        PERFORM fl.refuse('city_confirms', format(
          'held entry %s is on %s, a county''s legacy account (1002 legacy_revenue, 1003 legacy_special, 1004 '
          'legacy_expenditure): its money awaits the transfer up to the special account (上划) and is the city''s '
          'to move, either side: the city bureau (a reviewer) or city finance confirms it, not an officer of the '
          'county (fundledger --as REVIEWER entry confirm %s; or its maker withdraws it: fundledger entry reject %s '
          '--reason ...)', p.id,
          fig.chart_code || ' ' || fig.holder, p.id, p.id),
          'insufficient_privilege');
      END IF;
      PERFORM fl.refuse('city_confirms', format(
        'held entry %s is on %s, the city''s figure (the city''s bank accounts 1003 special, 1004 city_exp and '
        '1005 treasury; fund balance 3xxx, revenue 4xxx and expenditure 5xxx, which the year-end shortfall rule '
        'reads): the city bureau (a reviewer) or city finance confirms it, not an officer of the county (fundledger '
        '--as REVIEWER entry confirm %s)', p.id,
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
                'city''s figures (1003 special, 1004 city_exp, 1005 treasury: either side; a county''s legacy '
                'accounts 1002 legacy_revenue, 1003 legacy_special and 1004 legacy_expenditure, money awaiting the '
                'transfer up, either side; fund balance 3xxx, revenue 4xxx and expenditure 5xxx, either side: the '
                'year-end shortfall rule''s inputs): the city bureau (a reviewer) or city finance does'),
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
    ('any', 'a county''s legacy accounts (1002 legacy_revenue, 1003 legacy_special, 1004 legacy_expenditure) hold '
            'money awaiting the transfer up (上划) that the city audited: a manual entry on one, either side, is '
            'confirmed by the city bureau (a reviewer) or city finance, never by an officer of the county'),
    ('officer', 'never confirms a held entry that puts money into a bank or cash account (a debit on 1001-1005 or '
                'on an account with a holder, its own county''s expenditure and legacy accounts included): the city '
                'bureau (a reviewer) or city finance does; no such entry is written in an officer''s session'),
    ('any', 'a user withdraws (rejects its own) at most 2000 held entries in 24 hours, and an officer rejects at '
            'most 2000 in 24 hours; past that the city bureau or city finance rejects them')
$function$;

-- The rule binds the entries written after it took effect (0068): an officer's confirmation of a
-- colleague's entry on a legacy account made before this release is judged as it was then.
SELECT fl._rule_takes_effect('legacy_figures', '0140');
