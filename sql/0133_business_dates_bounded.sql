-- 0133: every business date a user types is held to the ledger's years (ATTACK17 E4).
--
-- 0126 gave a fund request's approval a business date (request approve --date) and bounded it
-- above only (not after the region's today): the city bureau could record that a 2024 request
-- submitted today was approved on 2000-01-01, before the ledger's first year — and the approval
-- date is what a disbursement may not precede. A bank statement line took any date as well
-- (2099-03-01), though matching reads it as the day money moved.
--
-- The class: one floor, fl._business_date_floor, holds a typed date to the ledger's years as
-- entry_date_range holds an entry's (from 1 January of the region's first handover year; a
-- statement line not after the region's today, an approval not after it as 0126 had it). An
-- approval is also not dated before 1 January of the year before its request's year: requests
-- are filed ahead of their quarter, and a backlog approval keeps its real past date within that.
-- Triggers hold every writer to it (the functions and raw SQL alike); the writers are unchanged.
-- Rows written before this migration are not judged again (nothing already written changes).

CREATE FUNCTION fl._business_date_floor() RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT make_date(coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000), 1, 1)
$$;
REVOKE ALL ON FUNCTION fl._business_date_floor() FROM PUBLIC;

CREATE FUNCTION fl.request_approved_on_range() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  lo date := greatest(fl._business_date_floor(), make_date(greatest(NEW.year - 1, 1), 1, 1));
BEGIN
  IF NEW.approved_on < lo OR NEW.approved_on > fl._region_today() THEN
    PERFORM fl.refuse('approval_date', format(
      'request %s (%s Q%s): an approval dated %s is outside %s .. %s: an approval is dated the day it was decided, '
      'not before the ledger''s first year nor 1 January of the year before the request''s year, and not after today '
      '(fundledger request approve %s --date YYYY-MM-DD)',
      NEW.id, NEW.year, NEW.quarter, NEW.approved_on, lo, fl._region_today(), NEW.id), 'check_violation');
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.request_approved_on_range() FROM PUBLIC;
CREATE TRIGGER request_approved_on_range BEFORE INSERT OR UPDATE OF approved_on ON fl.fund_request
  FOR EACH ROW WHEN (NEW.approved_on IS NOT NULL) EXECUTE FUNCTION fl.request_approved_on_range();

CREATE FUNCTION fl.statement_line_date_range() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NEW.line_date < fl._business_date_floor() OR NEW.line_date > fl._region_today() THEN
    PERFORM fl.refuse('statement_line_date', format(
      'statement file %s, row %s: a bank line dated %s is outside %s .. %s (the ledger''s first year to the '
      'region''s today); correct the date in the file and import it again, nothing was written',
      coalesce((SELECT b.file_name FROM fl.bank_statement b WHERE b.id = NEW.statement_id), '?'), NEW.row_no,
      NEW.line_date, fl._business_date_floor(), fl._region_today()), 'check_violation');
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.statement_line_date_range() FROM PUBLIC;
CREATE TRIGGER statement_line_date_range BEFORE INSERT OR UPDATE OF line_date ON fl.statement_line
  FOR EACH ROW EXECUTE FUNCTION fl.statement_line_date_range();
