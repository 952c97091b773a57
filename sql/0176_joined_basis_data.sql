-- 0176 (ATTACK21 N9): a registered joining date long before a unit's first figures no longer stretches
-- its months-payable basis; the closed years keep their figures.
--
-- BRIEF §5: months payable (可支付月数) divides by the last 12 months' spending ÷ 12 — or, while the
-- ledger holds less than 12 months of a unit, by its average daily spending since its first day in the
-- ledger × 365 ÷ 12 (never a short span's spending ÷ 12). 0157 (G5/G9) took a REGISTERED joining date
-- (the region file's `joined`, or 0167's later registration by the city bureau) as that first day in
-- the book the unit joined with. The joining date only bounds postings from below: a county that
-- joined the pooling on 2021-01-01 (佳政办发〔2021〕2号) but whose handover and flows begin in the
-- ledger at the end of 2023 was "12 months in the ledger" from its first day of figures, and the
-- monitor divided three months' spending by 12 (16.77 → 68.00 months in March; ~12× in January):
-- registering the very date already in force quadrupled the figure, a red county read green and
-- `monitor` lost its exit code 3.
--
-- Now (ledger.store.monitor._BASIS, the one definition every report reads):
--   * In the book a registered unit joined with, its first day in the ledger is the later of its joining
--     date in force and the earliest day on one of its fund figures in that book (fl.account_day: the
--     accounts of the book's pooled component whose kind is net assets, revenue or expenditure — the
--     accounts the surplus and the spending are read from). Honest back-loading (G5: January loaded
--     after a first posting of 28 March) still moves the day back, never before the joining date the
--     office registered (0154 refuses a posting before it); a joining date before the unit's figures
--     no longer lengthens the window. In a book it opened later, K6's first-statement day stays.
--   * A unit whose joining date was defaulted or derived keeps 0130's recorded first day, as before:
--     registering the date already in force changes no figure of a unit whose first statement was its
--     earliest day.
--   * The rule point joined_basis_data: a figure dated in a year its book closed before this migration
--     (the year-end close entry at or below the point) keeps 0157's basis — the closed year's monitor,
--     its performance review and its response plan read as they did when it closed.
--     fl.joined_basis_kept() (a definer reader: every role the monitor serves reads the point, which
--     an officer may not read from fl.rule_point, and the closes, which an officer's fl.year_close
--     rows do not show) gives per book the last 31 December kept (the close entry's year, its source).
--   * Left (docs/security.md N9): within [joining date, first figure] a back-dated posting by a role
--     that posts alone moves the day back to at most the registered joining date (ATTACK16b D4's
--     class, bounded by the bureau's registration and by the months closed); the auditors' guide says
--     how to look for one.

CREATE FUNCTION fl.joined_basis_kept() RETURNS TABLE (book text, through date)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
  SELECT e.book, make_date(max(coalesce((e.source ->> 'year')::int, extract(year FROM e.entry_date)::int)), 12, 31)
    FROM ONLY fl.entry e
   WHERE e.kind = 'year_close'
     AND e.id <= coalesce((SELECT r.after_entry FROM fl.rule_point r WHERE r.rule = 'joined_basis_data'), 0)
   GROUP BY e.book
$$;
REVOKE ALL ON FUNCTION fl.joined_basis_kept() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.joined_basis_kept() TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

SELECT fl._rule_takes_effect('joined_basis_data', '0176');
