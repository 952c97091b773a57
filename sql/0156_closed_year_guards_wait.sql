-- 0156: the closed-year guards wait for a year's close in progress (ATTACK18 G8).
--
-- 0138/0142 (budgets, plans, headcounts), 0143/0150 (fund requests), 0150 (funding standards) and
-- 0095/0117 (a reversal of a closed year's entry) read fl.year_close at READ COMMITTED without a
-- lock. The close (fl.close_year_from_books) holds SHARE ROW EXCLUSIVE on fl.year_close and
-- fl.closed_period, but an approval, a budget import or a settings write posts no entry and took
-- neither, so it did not wait: a request approved (or a first budget imported) while the close ran
-- committed beside it, the closed year's performance review read it, and `verify` named it
-- (year_closed_reference) on a ledger whose every write had passed the database's rules. A
-- reversal's check ran in a BEFORE ROW trigger, before fl.entry_inserted's statement-level lock.
--
-- Each guard now first takes ROW EXCLUSIVE on fl.closed_period — the lock every posting writer
-- already takes (fl.entry_inserted), which the close's SHARE ROW EXCLUSIVE excludes — so it waits
-- for a close in progress and then sees it. fl.closed_period, not fl.year_close: a writer that
-- posted earlier in its transaction holds it already, so no writer waits on one table while
-- holding the other against the close's order (no deadlock). The bodies are otherwise 0142's,
-- 0150's and 0117's, with their SET clauses.

CREATE OR REPLACE FUNCTION fl._closed_year_request() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  counted CONSTANT text[] := ARRAY['approved', 'disbursed', 'settled'];
BEGIN
  -- (0156, ATTACK18 G8) Wait for a year's close in progress, then read: the close holds SHARE ROW
  -- EXCLUSIVE on fl.closed_period until it commits, which this ROW EXCLUSIVE waits for (writers
  -- never block each other), and the statements below read with a snapshot taken after it. It is
  -- the lock fl.entry_inserted takes for every entry: a writer that posted first holds it already.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  IF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = NEW.year AND yc.book = NEW.book) THEN
      PERFORM fl.refuse('year_closed_reference', format(
        'the year %s of book %s is closed: a fund request for it cannot be submitted after its close (the year''s '
        'performance review is final), and nothing was written; request the money for a quarter of an open year',
        NEW.year, NEW.book));
    END IF;
    RETURN NEW;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.year_close yc
                  WHERE (yc.year = NEW.year AND yc.book = NEW.book) OR (yc.year = OLD.year AND yc.book = OLD.book)) THEN
    RETURN NEW;
  END IF;
  IF (NEW.year, NEW.quarter, NEW.book, NEW.unit, NEW.component)
     IS DISTINCT FROM (OLD.year, OLD.quarter, OLD.book, OLD.unit, OLD.component) THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'request %s is for %s Q%s of book %s: a request of a closed year is not moved to another year, quarter, book, '
      'unit or component (the year''s performance review is final), and nothing was changed; a request for an open '
      'year is submitted as a new one', OLD.id, OLD.year, OLD.quarter, OLD.book));
  ELSIF NEW.state = 'approved' AND OLD.state IS DISTINCT FROM 'approved' THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'request %s is for %s Q%s of book %s, a year closed since: it cannot be approved after the close (the year''s '
      'performance review is final), and nothing was changed; reject it (fundledger request reject %s) and have '
      'the unit submit it for an open year', NEW.id, NEW.year, NEW.quarter, NEW.book, NEW.id));
  ELSIF OLD.state = ANY (counted)
        AND (NOT NEW.state = ANY (counted) OR NEW.amount_approved IS DISTINCT FROM OLD.amount_approved) THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'request %s is for %s Q%s of book %s, a year closed since: its approval of %s is final (the year''s '
      'performance review counts it), so it is neither voided nor changed after the close, and nothing was changed; '
      'have it disbursed as approved (fundledger request disburse %s) and correct an approval in error in an open '
      'year: deduct the amount from the unit''s next request, or post the unit''s refund in the open year',
      OLD.id, OLD.year, OLD.quarter, OLD.book, fl.fmt_fen(OLD.amount_approved), OLD.id));
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION fl._closed_year_reference() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  y  int;
  b  text;
  v  int;
BEGIN
  -- (0156, ATTACK18 G8) Wait for a year's close in progress, then read: the close holds SHARE ROW
  -- EXCLUSIVE on fl.closed_period until it commits, which this ROW EXCLUSIVE waits for (writers
  -- never block each other), and the statements below read with a snapshot taken after it. It is
  -- the lock fl.entry_inserted takes for every entry: a writer that posted first holds it already.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
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

CREATE OR REPLACE FUNCTION fl._closed_year_setting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  was jsonb;
  now_ jsonb;
  before jsonb;
  y int;
  b text;
BEGIN
  -- (0156, ATTACK18 G8) Wait for a year's close in progress, then read: the close holds SHARE ROW
  -- EXCLUSIVE on fl.closed_period until it commits, which this ROW EXCLUSIVE waits for (writers
  -- never block each other), and the statements below read with a snapshot taken after it. It is
  -- the lock fl.entry_inserted takes for every entry: a writer that posted first holds it already.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  IF (TG_OP = 'DELETE' OR NEW.key IS DISTINCT FROM 'funding_standards')
     AND (TG_OP = 'INSERT' OR OLD.key IS DISTINCT FROM 'funding_standards') THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.key = 'funding_standards' THEN
    was := OLD.value;
  ELSE
    SELECT s.value INTO was FROM fl.setting s WHERE s.key = 'funding_standards';
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.key = 'funding_standards' THEN
    now_ := NEW.value;
  END IF;
  FOR y, b IN SELECT yc.year, yc.book FROM fl.year_close yc ORDER BY yc.year, yc.book LOOP
    before := (SELECT s.standard FROM fl._funding_standards_of(was) s WHERE s.year = y AND s.book = b);
    IF before IS NOT NULL AND before
       IS DISTINCT FROM (SELECT s.standard FROM fl._funding_standards_of(now_) s WHERE s.year = y AND s.book = b) THEN
      PERFORM fl.refuse('year_closed_reference', format(
        'the year %s of book %s is closed: its funding standard is final (its funding report is read against it), '
        'so it is neither changed nor removed after the close, and nothing was changed; keep %s''s standard in '
        'the region file as it was (change the standards of open years only), or state the change in a note to '
        '%s''s final accounts', y, b, y, y));
    END IF;
  END LOOP;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE OR REPLACE FUNCTION fl.reversal_allowed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  o fl.entry;
BEGIN
  -- (0156, ATTACK18 G8) Wait for a year's close in progress, then read: the close holds SHARE ROW
  -- EXCLUSIVE on fl.closed_period until it commits, which this ROW EXCLUSIVE waits for (writers
  -- never block each other), and the statements below read with a snapshot taken after it. It is
  -- the lock fl.entry_inserted takes for every entry: a writer that posted first holds it already.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  SELECT * INTO o FROM fl.entry x WHERE x.id = NEW.reverses;
  IF FOUND THEN
    PERFORM fl.reversal_allowed_of(o);
    PERFORM fl._reversal_date_check(o, NEW.entry_date);     -- (0117, ATTACK15 A9)
  END IF;
  RETURN NEW;
END $$;
