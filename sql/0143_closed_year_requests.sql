-- fundledger migration 0143: a fund request for a closed year is neither submitted nor approved
-- after the close (ATTACK17b F9).
--
-- 0138's sweep named fund requests "not a reference record: their money is posted as entries".
-- But the performance review (预算绩效考核) of a year reads the year's approved requests
-- themselves (requests_vs_spending = approved requests / expenditure), not entries: a request
-- for a closed year submitted and approved after the close moved the closed year's scores and
-- ranking. So, whoever writes (raw SQL included), for a (year, book) whose year-end close is
-- recorded (fl.year_close):
--   * a new fund request (submit) is refused — request the money for a quarter of an open year;
--   * a submitted request is not approved after the close — reject it and submit it for an open
--     year (a request approved before the close is still disbursed and settled: its money is
--     posted as entries of the open year, which the close and the closed periods hold).
-- Code year_closed_reference (the closed year's records are final), Chinese first. Re-derived by
-- the independent verdict (ledger.core.rules._closed_year_requests): a submit or approve event of
-- a closed year's request that the chained history recorded after the year's close, above the
-- rule point closed_year_request (events before this migration are not judged by it).
-- Left: voiding or rejecting an approved-not-disbursed request of a closed year (it lowers the
-- review's approved total) is not refused here — a void is how an approval in error is undone.

CREATE FUNCTION fl._closed_year_request() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = NEW.year AND yc.book = NEW.book) THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'the year %s of book %s is closed: a fund request for it cannot be submitted after its close (the year''s '
      'performance review is final), and nothing was written; request the money for a quarter of an open year',
      NEW.year, NEW.book));
  ELSIF NEW.state = 'approved' AND OLD.state IS DISTINCT FROM 'approved' THEN
    PERFORM fl.refuse('year_closed_reference', format(
      'request %s is for %s Q%s of book %s, a year closed since: it cannot be approved after the close (the year''s '
      'performance review is final), and nothing was changed; reject it (fundledger request reject %s) and have '
      'the unit submit it for an open year', NEW.id, NEW.year, NEW.quarter, NEW.book, NEW.id));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl._closed_year_request() FROM PUBLIC;

CREATE TRIGGER fund_request_closed_year BEFORE INSERT OR UPDATE OF state ON fl.fund_request
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_request();

SELECT fl._rule_takes_effect('closed_year_request', '0143');
