-- 0157 (G5, G9): a unit's REGISTERED joining date is its months-payable basis; 0130's recorded first
-- day stays the basis of a unit whose joining date was defaulted or derived.
--
-- BRIEF §5: while the ledger holds less than 12 months of a unit, months payable divides by its
-- average daily spending since its first day in the ledger × 365 ÷ 12. 0130 records that day from
-- the statement that first posts on one of the unit's fund figures, and no later entry moves it
-- (ATTACK16b D4); 0154 registers each unit's joining date (fl.unit_joined) and refuses any posting on
-- a unit dated before it (ATTACK17b F1). Two findings were left:
--   * G5 (MED): the recorded first day can be LATER than the unit's history. A county's first posting
--     dated 28 March, then January's collections loaded: the basis stays 28 March, a quarter's
--     spending is averaged over three days' worth, and months payable reads red. A future-dated
--     accrual as a new unit's first statement records a first day next year: the monitor says
--     "excess". No rule that reads posting dates tells this honest back-loading from D4's back-dated
--     0.01 (only the amount differs).
--   * G9 (LOW/MED): two honest first postings of a new unit committing together: the record names
--     the entry that reached fl.account_day first, the verdict the lower entry id — a permanent
--     first_days finding though nothing was tampered with.
--
-- Now (ledger.store.monitor reads the basis; docs/security.md G5, G9):
--   * A joining date the office REGISTERED (fl.unit_joined.source = 'region': the region file's
--     `[[units]] joined`, written by `init` as the ledger's owner, append-only, chained) is the unit's
--     first day for months payable — in every book, whatever is posted when or in what order. No
--     posting is dated before it (0154), so no posting moves it, earlier or later.
--   * A DEFAULTED date (source 'first_year': the file gave none, 1 January of first_year) or a
--     DERIVED one (source 'upgrade': 0154's upgrade took the earliest day on the unit's accounts) is
--     not a registration: such a unit keeps 0130's recorded first day as its basis, exactly as before
--     this migration (every existing ledger's figures unchanged). Which it is was recorded and chained
--     by 0154 (fl.unit_joined.source: an auditor reads it in `unit list`, the table and its history);
--     no application role may write fl.unit_joined.
--   * fl.unit_first_day_record (0130's AFTER INSERT statement trigger of fl.account_day, from its
--     latest definition, 0154) keeps 0154's refusal (before_unit_joined) for every unit, and no longer
--     writes a first-day row for a unit with a registered joining date: the record is not its basis,
--     and two first postings of it in concurrent transactions leave nothing to disagree about (G9).
--     A registered unit's row written before this migration stays, and is judged as strictly as
--     before.
--   * The rule point first_day_joined: the independent verdict (check first_days, online and
--     offline) no longer asks a row of a registered unit whose first fund-figure entry is above it;
--     every other row and every missing row is judged as before.

SELECT fl._contended_mark();
LOCK TABLE fl.entry IN SHARE MODE;

CREATE OR REPLACE FUNCTION fl.unit_first_day_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  books text[];
  units text[];
  days  date[];
  bad   record;
BEGIN
  -- (0154) No day on a unit's account before the unit joined (fl.unit_joined): the statement's new
  -- day rows only (an account's first posting of a day), each found by its unit's primary key.
  SELECT n.day, a.unit, j.joined_on, n.account_id INTO bad
    FROM new_days n JOIN fl.account a ON a.id = n.account_id
    JOIN fl.unit_joined j ON j.unit = a.unit
   WHERE n.day < j.joined_on
   ORDER BY n.day, a.unit LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('before_unit_joined', format(
      '%s posts on unit %s dated %s, before the unit joined the pooled fund on %s (its joining date, registered '
      'with the unit): nothing was written; date it on or after %s — a unit''s first day in the ledger is never '
      'before it joined', fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p
                                          WHERE p.account_id = bad.account_id AND p.entry_date = bad.day)),
      bad.unit, bad.day, bad.joined_on, bad.joined_on));
  END IF;

  -- The statement's new day rows on a fund figure of a book and unit that has no first day yet and
  -- no registered joining date (0157: a registered one is its basis; no row is written for it).
  -- (Nearly always none: the unit has its row since its first posting; nothing more is read.)
  SELECT array_agg(k.book), array_agg(k.unit), array_agg(k.day)
    INTO books, units, days
    FROM (SELECT a.book, a.unit, min(n.day) AS day
            FROM new_days n JOIN fl.account a ON a.id = n.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE fc.kind IN ('net_assets', 'revenue', 'expenditure')
             AND NOT EXISTS (SELECT 1 FROM fl.unit_first_day f WHERE f.book = a.book AND f.unit = a.unit)
             AND NOT EXISTS (SELECT 1 FROM fl.unit_joined j WHERE j.unit = a.unit AND j.source = 'region')
           GROUP BY a.book, a.unit) k;
  IF books IS NULL THEN
    RETURN NULL;
  END IF;
  -- The entry that dated it: the lowest id posting that day on one of the unit's fund figures (the
  -- unit's first: every one of them is this statement's, the unit had no fund figure before).
  INSERT INTO fl.unit_first_day (book, unit, first_day, entry_id)
  SELECT x.book, x.unit, x.day,
         (SELECT min(p.entry_id) FROM fl.posting p
            JOIN fl.account a ON a.id = p.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE p.account_id IN (SELECT n.account_id FROM new_days n WHERE n.day = x.day)
             AND p.entry_date = x.day AND a.book = x.book AND a.unit = x.unit
             AND fc.kind IN ('net_assets', 'revenue', 'expenditure'))
    FROM unnest(books, units, days) AS x(book, unit, day)
   ORDER BY x.book, x.unit
  ON CONFLICT (book, unit) DO NOTHING;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.unit_first_day_record() FROM PUBLIC;

SELECT fl._rule_takes_effect('first_day_joined', '0157');
