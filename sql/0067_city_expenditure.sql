-- 0067 (ATTACK9 W2): an officer's manual entry on expenditure (5xxx) is the city's to confirm.
--
-- W2 (HIGH). 0064 closed money *into* a bank account by hand; the deficit route stayed open: two
-- officers of 230822 held and confirmed Dr 1101 temporary payment (or Dr 2001 temporary receipt) /
-- Cr 5001.inpatient ¥800,000 — no bank or cash account debited, no city figure (0058: 1003/1004
-- city_exp/1005, 3xxx, 4xxx) — and the county's expenditure, hence the deficit its local government
-- covers at year end (缺口分担, BRIEF §4-§5), fell by ¥800,000 with no one from the city involved.
-- The class: anything the year-end shortfall rule reads — fund balance 3xxx, revenue 4xxx and
-- expenditure 5xxx, either side (a debit on 5xxx raises the deficit and charges the local
-- government more: no better) — written by an officer's hand is confirmed by the city bureau (a
-- reviewer) or city finance. fl._city_figure, the one place the rule lives, now names 3xxx-5xxx;
-- so, unchanged in their logic:
--   * fl._decider refuses an officer's confirmation of an officer's held entry on 5xxx
--     (city_confirms; the message names the reviewer's command);
--   * fl.posting_city_figures refuses a manual entry on 5xxx written in an officer's session,
--     whatever path reaches the journal;
--   * verify's held_entries (first pass) and ledger.core.rules.city_figure (the independent
--     maker_checker) read 5xxx too.
-- An officer's own payments import (kind payments: Dr 5xxx / Cr its county_exp) posts at once as
-- before: it is not a manual entry. Every manual entry on 3xxx-5xxx was already held (0039);
-- an officer's correction of expenditure is now confirmed by the city instead of a colleague.
--
-- The functions below are their definitions as migrated at 0070 (this migration's parent; 0064 last defined them), each
-- changed only in the city figure's words (and the manual policy's line for officers).

CREATE OR REPLACE FUNCTION fl._city_figure(p_chart text, p_holder text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce(p_holder, '') IN ('special', 'city_exp', 'treasury')
      OR pg_catalog.left(coalesce(p_chart, ''), 1) IN ('3', '4', '5')
$$;
REVOKE ALL ON FUNCTION fl._city_figure(text, text) FROM PUBLIC;

-- fl.posting_city_figures (0058, 0064): the city figure's words name expenditure 5xxx
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
  SELECT g.entry_id, e.kind, a.chart_code, a.holder,
         -- (0067) which words: the city's own bank accounts (0058's), then money into a bank or
         -- cash account (0064's), then fund balance, revenue, expenditure (0058's, 0067's)
         CASE WHEN e.kind = 'manual' AND coalesce(a.holder, '') IN ('special', 'city_exp', 'treasury') THEN 0
              WHEN fl._money_in(a.chart_code, a.holder, g.side) THEN 1 ELSE 2 END AS rank
    INTO bad
    FROM (SELECT DISTINCT entry_id, account_id, side FROM new_postings) g
    JOIN LATERAL (SELECT x.kind FROM fl.entry x WHERE x.id = g.entry_id OFFSET 0) e ON true
    JOIN LATERAL (SELECT x.chart_code, x.holder FROM fl.account x WHERE x.id = g.account_id OFFSET 0) a ON true
   WHERE (e.kind = 'manual' AND fl._city_figure(a.chart_code, a.holder))
      OR fl._money_in(a.chart_code, a.holder, g.side)   -- (0064, ATTACK8 V5) whatever the kind
   ORDER BY 5
   LIMIT 1;
  IF FOUND AND bad.rank = 1 THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not write %s (a %s entry) that puts money into %s, a bank or cash account: money '
      'into a bank account by hand is held and the city bureau (a reviewer) or city finance confirms it',
      session_user, fl.entry_label(bad.entry_id), bad.kind, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')),
      'insufficient_privilege');
  ELSIF FOUND THEN
    PERFORM fl.refuse('city_confirms', format(
      '%s is an officer and may not post a manual entry on %s, the city''s figure (the city''s bank accounts 1003 '
      'special, 1004 city_exp and 1005 treasury; fund balance 3xxx, revenue 4xxx and expenditure 5xxx, which the '
      'year-end shortfall rule reads): such an entry is held and the city bureau (a reviewer) or city finance '
      'confirms it (fundledger --as REVIEWER entry confirm HELD_ID)',
      session_user, bad.chart_code || coalesce(' ' || nullif(bad.holder, ''), '')), 'insufficient_privilege');
  END IF;
  RETURN NULL;
END $function$;

-- fl._decider (0064): the city figure's words name expenditure 5xxx
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
  IF p_action = 'confirm' AND u.role = 'officer' AND p.maker_role = 'officer' THEN
    SELECT a.chart_code, a.holder INTO fig FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id
     WHERE pp.pending_id = p.id AND fl._city_figure(a.chart_code, a.holder) ORDER BY pp.pos LIMIT 1;
    IF FOUND THEN
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

-- fl.manual_policy (0064): an officer never confirms an entry on 3xxx-5xxx
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
                'city''s figures (1003 special, 1004 city_exp, 1005 treasury: either side; fund balance 3xxx, '
                'revenue 4xxx and expenditure 5xxx, either side: the year-end shortfall rule''s inputs): the city '
                'bureau (a reviewer) or city finance does'),
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
