-- fundledger migration 0142: a closed year's FIRST insured headcount is accepted; a correction
-- stays refused (ATTACK17b F10).
--
-- Decided (against 0138's "a first one too", for headcounts only): insured headcount statistics
-- (参保人数) are final only after the year ends and often arrive after its books close (early
-- January). 0138 refused a first version for a closed year too, so such a year's funding report
-- flagged no_headcount for ever. A first headcount changes no figure the close or the final
-- accounts used (the close reads entries and the register; only `report funding` reads the
-- headcount, and without one it can say nothing per person): it fills a gap. So for
-- fl.insured_count a version 1 for a closed (year, book) is accepted; when it was recorded is
-- its recorded_at and its history version (`insured history` shows recorded_by/recorded_at, and
-- the chained history orders it after the close); a later version (a correction of a closed
-- year's headcount) stays refused as final (year_closed_reference).
--
-- Annual plans and budgets keep 0138's rule, a first version refused too: the closed year's
-- budget execution, plan execution and final accounts read them, so a first plan or budget given
-- after the close would change what the close's reports showed — it is stated as a note to the
-- final accounts instead.
--
-- The verdict twin (ledger.core.rules._closed_year_references) does not name a version-1
-- headcount recorded after the close; a later version, still judged by where the chained history
-- recorded it against the close (ATTACK17b F8), is named (year_closed_reference).

CREATE OR REPLACE FUNCTION fl._closed_year_reference() RETURNS trigger
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
  -- (0142, ATTACK17b F10) a closed year's FIRST headcount fills a gap: accepted
  IF TG_TABLE_NAME = 'insured_count' AND v = 1 THEN
    RETURN NEW;
  END IF;
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
      'the year %s of book %s is closed: its insured headcount is final once recorded (a first one is accepted, '
      'a correction is not), and nothing was written; state the correction in a note to %s''s final accounts, '
      'or import the headcount for an open year', y, b, y));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl._closed_year_reference() FROM PUBLIC;
