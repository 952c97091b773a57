-- 0130 (ATTACK16b D4, MED): a unit's first day in the ledger is recorded once, chained, and no later
-- entry moves it.
--
-- BRIEF §5: months payable (可支付月数) divides by the average monthly spending of the last 12
-- months — or, while the ledger holds less than 12 months of a unit, by its average daily
-- spending since its first day in the ledger × 365 ÷ 12. That first day was recomputed by every
-- report from the entries' dates (the earliest day on one of the unit's fund figures, ATTACK16
-- C1's rule: ledger.store.monitor.FUND_FIGURES). City finance posts alone (imports post at once):
-- a 0.01 collection dated a year back, into any month not closed, moved the unit's first day a
-- year earlier, the short history's daily average fell (or the basis became a quarter's spending
-- ÷ 12) and a red months payable became green or "excess". 0123/0128 keep entries out of closed
-- months, so a ledger that does not close monthly was fully exposed. Any first day read from
-- entry dates moves with a back-dated entry of a role that posts alone.
--
-- Now the first day is a recorded fact:
--   * fl.unit_first_day (book, unit, first_day, entry_id, frozen_through, recorded_at): one row per
--     book and unit, written by the statement that first posts on one of the unit's fund figures
--     (an account of the book's pooled component whose kind is net assets, revenue or expenditure:
--     the accounts the surplus and the spending are read from) — the earliest date among that
--     statement's postings on them, and the entry (the lowest id of that date) that dated it. A
--     later entry, however dated and by whom, never changes it: the row is append-only
--     (fl.refuse_change: UPDATE, DELETE and TRUNCATE refused) and hooked into the chained history
--     (fl._chain_table), so a second version or a change with the triggers off is named by the
--     history's checks.
--   * fl.unit_first_day_record(): an AFTER INSERT statement trigger of fl.account_day (a new day
--     row is an account's first posting of a day; a unit's first fund figure is always one), a
--     definer function no role may call. It reads only the statement's new day rows, and inserts
--     only for a book and unit that has no row (ON CONFLICT DO NOTHING: two first postings of a
--     new unit in two transactions — the one that inserts first records it, the other waits for
--     its commit and leaves it).
--   * Existing ledgers: the migration freezes today's value (the earliest day on the unit's fund
--     figures in fl.account_day, the value every report computed before this migration) with
--     frozen_through = the greatest entry id in the journal then (fl.entry locked in SHARE mode
--     while it is read, as fl._rule_takes_effect does: no entry is being written meanwhile). A
--     first day already moved by a back-dated entry before the upgrade is frozen as it was: the
--     auditors' guide says how to look for one.
--   * The monitor, its chart, the forecast, the performance report and the response plan's
--     month-end levels read this row (ledger.store.monitor.first_days), one definition for all.
--   * The independent verdict re-derives each row from the journal (check first_days,
--     ledger.core.proof): the named entry exists, is dated first_day and posts on one of the
--     unit's fund figures; the unit's first fund-figure entry (lowest id) is of the named entry's
--     transaction (a frozen row: first_day is the earliest date of the unit's fund-figure entries up
--     to frozen_through); and every book and unit with a fund-figure posting has a row.

SELECT fl._contended_mark();
LOCK TABLE fl.entry IN SHARE MODE;

CREATE TABLE fl.unit_first_day (
  book           text   NOT NULL REFERENCES fl.book (code),
  unit           text   NOT NULL REFERENCES fl.unit (code),
  first_day      date   NOT NULL,
  entry_id       bigint NOT NULL REFERENCES fl.entry (id),
  frozen_through bigint CHECK (frozen_through >= entry_id),
  recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (book, unit)
);

CREATE TRIGGER unit_first_day_append_only BEFORE UPDATE OR DELETE ON fl.unit_first_day
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER unit_first_day_no_truncate BEFORE TRUNCATE ON fl.unit_first_day
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();
-- (0069's mark) a writer that keeps a new unit's row uncommitted past its call keeps the unit's
-- other first writers waiting: marked like every table the write path inserts into
CREATE TRIGGER unit_first_day_contended_insert AFTER INSERT ON fl.unit_first_day
  FOR EACH STATEMENT EXECUTE FUNCTION fl.contended_written();

-- Today's value, frozen (before the trigger exists; fl.entry is locked, nothing is being written).
INSERT INTO fl.unit_first_day (book, unit, first_day, entry_id, frozen_through)
SELECT k.book, k.unit, k.day,
       (SELECT min(p.entry_id) FROM fl.posting p WHERE p.account_id = ANY (k.accounts) AND p.entry_date = k.day),
       (SELECT max(e.id) FROM ONLY fl.entry e)
  FROM (SELECT a.book, a.unit, min(d.day) AS day, array_agg(DISTINCT a.id) AS accounts
          FROM fl.account_day d JOIN fl.account a ON a.id = d.account_id
          JOIN fl.chart fc ON fc.code = a.chart_code
          JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
         WHERE fc.kind IN ('net_assets', 'revenue', 'expenditure')
         GROUP BY a.book, a.unit) k
 ORDER BY k.book, k.unit;

CREATE FUNCTION fl.unit_first_day_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  books text[];
  units text[];
  days  date[];
BEGIN
  -- The statement's new day rows on a fund figure of a book and unit that has no first day yet.
  -- (Nearly always none: the unit has its row since its first posting; nothing more is read.)
  SELECT array_agg(k.book), array_agg(k.unit), array_agg(k.day)
    INTO books, units, days
    FROM (SELECT a.book, a.unit, min(n.day) AS day
            FROM new_days n JOIN fl.account a ON a.id = n.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE fc.kind IN ('net_assets', 'revenue', 'expenditure')
             AND NOT EXISTS (SELECT 1 FROM fl.unit_first_day f WHERE f.book = a.book AND f.unit = a.unit)
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

CREATE TRIGGER account_day_unit_first_day AFTER INSERT ON fl.account_day
  REFERENCING NEW TABLE AS new_days FOR EACH STATEMENT EXECUTE FUNCTION fl.unit_first_day_record();

SELECT fl._chain_table('fl.unit_first_day', ARRAY['book', 'unit']);

-- Read by every role the monitor serves; an officer reads its own unit's rows (as fl.account).
GRANT SELECT ON fl.unit_first_day TO fl_officer, fl_reviewer, fl_finance, fl_auditor;
ALTER TABLE fl.unit_first_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY unit_rows ON fl.unit_first_day FOR SELECT
  USING ((SELECT fl.my_unit()) IS NULL OR unit = (SELECT fl.my_unit()));
