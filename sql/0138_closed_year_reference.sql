-- fundledger migration 0138: a closed year's reference records are final (ATTACK17 E6).
--
-- 0024 made a closed year's budget final: a budget version after the first, for a (year, book)
-- whose year-end close is recorded (fl.year_close), is refused (budget_year_closed). The same
-- year's other reference records were not held: `budget plan import` made a new annual plan
-- version, and `insured import` a new headcount version (a first one needed no reason at all),
-- for a closed year, so `report funding --year <closed year>` (per-insured subsidy and
-- contribution, the standard's flags) and the plan-based figures changed after the final
-- accounts were made.
--
-- One guard, fl._closed_year_reference(), BEFORE INSERT on every per-year reference record the
-- year's reports read: fl.budget and its lines fl.budget_line, fl.budget_plan and
-- fl.budget_plan_line, fl.insured_count. Any row for a (year, book) whose year is closed is
-- refused, whoever inserts it (raw SQL included), before anything is written; the import that
-- made it writes nothing (all or nothing). A FIRST version too (decided: the funding report,
-- the plan and the budget execution of a closed year are what its close and final accounts
-- saw; a headcount or plan first given after the close would change them just as a second
-- version would — a closed year's record stays as it was closed). The refusal says what to do
-- instead: record it for an open year, or as a note to the closed year's final accounts.
--
-- Codes: a budget version after the first keeps 0024's budget_year_closed (its message);
-- everything else is year_closed_reference. Re-derived by the independent verdict
-- (ledger.core.rules, workflows: a reference row recorded after its year's close and after
-- this rule's point) from the rule point closed_year_reference (rows recorded before this
-- migration are not judged by it).
--
-- tests/security/test_attack17_closed_year_reference.py sweeps the catalogue: every fl table
-- with a year column is either guarded here or named there as not a reference record
-- (fund requests, register items, seals, voucher counters, the close itself).

CREATE FUNCTION fl._closed_year_reference() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  y  int;
  b  text;
  v  int;
BEGIN
  CASE TG_TABLE_NAME
    WHEN 'budget', 'budget_plan', 'insured_count' THEN
      y := NEW.year; b := NEW.book; v := NEW.version;
    WHEN 'budget_line' THEN
      SELECT h.year, h.book, h.version INTO y, b, v FROM fl.budget h WHERE h.id = NEW.budget_id;
    WHEN 'budget_plan_line' THEN
      SELECT h.year, h.book, h.version INTO y, b, v FROM fl.budget_plan h WHERE h.id = NEW.plan_id;
    ELSE
      RETURN NEW;
  END CASE;
  IF y IS NULL OR NOT EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = y AND yc.book = b) THEN
    RETURN NEW;
  END IF;
  IF TG_TABLE_NAME IN ('budget', 'budget_line') AND v > 1 THEN
    PERFORM fl.refuse('budget_year_closed', format(
      'the year %s of book %s is closed: its budget is final and cannot be adjusted', y, b));
  ELSIF TG_TABLE_NAME IN ('budget', 'budget_line') THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'the year %s of book %s is closed: a budget cannot be given to it after its close, and nothing was written; '
      'budget an open year, or state it in a note to %s''s final accounts', y, b, y));
  ELSIF TG_TABLE_NAME IN ('budget_plan', 'budget_plan_line') THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'the year %s of book %s is closed: its annual plan is final (a first one too), and nothing was written; '
      'import the plan for an open year, or state the change in a note to %s''s final accounts', y, b, y));
  ELSE
    PERFORM fl.refuse('year_closed_reference', format(
      'the year %s of book %s is closed: its insured headcounts are final (a first one too), and nothing was '
      'written; import the headcount for an open year, or state the correction in a note to %s''s final accounts',
      y, b, y));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl._closed_year_reference() FROM PUBLIC;

CREATE TRIGGER budget_closed_year BEFORE INSERT ON fl.budget
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_reference();
CREATE TRIGGER budget_line_closed_year BEFORE INSERT ON fl.budget_line
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_reference();
CREATE TRIGGER budget_plan_closed_year BEFORE INSERT ON fl.budget_plan
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_reference();
CREATE TRIGGER budget_plan_line_closed_year BEFORE INSERT ON fl.budget_plan_line
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_reference();
CREATE TRIGGER insured_count_closed_year BEFORE INSERT ON fl.insured_count
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_reference();

SELECT fl._rule_takes_effect('closed_year_reference', '0138');
