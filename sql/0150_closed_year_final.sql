-- fundledger migration 0150: a closed year's approved requests and funding standards are final
-- (the leftovers of ATTACK17b F9; docs/security.md, closedyr).
--
-- 1. Requests. 0143 refused a closed year's request being submitted or approved after the close
--    but left the way back: voiding an approved, not yet disbursed request of a closed year
--    lowered the approved total the year's performance review reads (requests_vs_spending), so
--    the closed year's scores and ranking still moved. Decided as the finance office and the
--    auditor would: after the close the year's approvals are final, as its budget is. Whoever
--    writes (raw SQL included), for a request of a closed (year, book):
--      * a request counted as approved (approved, disbursed, settled) does not leave that count
--        (void; raw SQL: back to submitted, rejected) and its approved amount does not change —
--        refused (year_closed_reference): it is disbursed as approved and an approval in error
--        is corrected in an open year (the amount deducted from the unit's next request, or the
--        unit's refund posted in the open year), where the money moves anyway;
--      * its year, quarter, book, unit or component does not change (a request moved into or
--        out of a closed year moves the year's approved total as surely);
--    a submitted request is still rejected (0143's way out: it counts for nothing) and an
--    approved one still disbursed and settled. 0143's refusals (submit, approve) are kept as
--    they were, word for word. The trigger now fires on any UPDATE (not only OF state).
-- 2. Funding standards. fl.setting funding_standards holds one standard per (year, book); the
--    funding report of a year reads that year's. A region reload (or raw SQL) changing or
--    removing the standard of a closed (year, book) rewrote that closed year's funding report:
--    refused (year_closed_reference), the other years' standards stay changeable. A FIRST standard
--    for a closed year that had none is taken, as 0142 takes a closed year's first headcount: the
--    report had no standard to hold the year against, so it fills a gap (and a ledger whose
--    region file gains a standard for a year it closed before — a release adding one, as 2023's
--    was — still upgrades). The
--    standards are compared as the report reads them: numbers as numbers ("960" = "960.00"),
--    the book RES when none is given, the defaults of ledger.core.funding (2022 RES 960 / 610 /
--    350, 2 : 1) when the setting holds none. Settings that are not per year (thresholds,
--    performance weights) are not guarded here (docs/security.md, Left).
-- Both are re-derived by the independent verdict (ledger.core.rules): a request event that takes
-- a closed year's request out of the approved count, and a version of the funding_standards
-- setting that changes or removes a closed year's standard, recorded by the chained history after the
-- year's close and above the rule points closed_year_request_final / closed_year_standard.

CREATE OR REPLACE FUNCTION fl._closed_year_request() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  counted CONSTANT text[] := ARRAY['approved', 'disbursed', 'settled'];
BEGIN
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
REVOKE ALL ON FUNCTION fl._closed_year_request() FROM PUBLIC;

DROP TRIGGER fund_request_closed_year ON fl.fund_request;
CREATE TRIGGER fund_request_closed_year BEFORE INSERT OR UPDATE ON fl.fund_request
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_request();

-- A standard's amount or ratio as the report reads it: a number written as text ("960.00") or as a
-- number is that number (so "960" = "960.00"); anything else as it stands.
CREATE FUNCTION fl._standard_number(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
  SELECT CASE WHEN p #>> '{}' ~ '^\s*[0-9]{1,15}(\.[0-9]{1,15})?\s*$' THEN to_jsonb(btrim(p #>> '{}')::numeric) ELSE p END
$$;
REVOKE ALL ON FUNCTION fl._standard_number(jsonb) FROM PUBLIC;

-- The funding standards a value of the funding_standards setting holds, per (year, book): each
-- (year, book)'s entries as the report reads them (amounts and ratio as numbers where they are
-- numbers, the book RES when none is given); the defaults when it holds none (null, []).
CREATE FUNCTION fl._funding_standards_of(p_value jsonb) RETURNS TABLE (year int, book text, standard jsonb)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
  WITH v AS (
    SELECT CASE WHEN p_value IS NULL OR p_value = 'null'::jsonb OR p_value = '[]'::jsonb
                THEN '[{"year": 2022, "book": "RES", "per_insured": "960.00", "subsidy_min": "610.00",
                        "individual": "350.00", "ratio_max": "2"}]'::jsonb
                ELSE p_value END AS value),
  e AS (
    SELECT x.e, x.n FROM v, LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v.value) = 'array' THEN v.value
                                                             ELSE '[]'::jsonb END) WITH ORDINALITY AS x(e, n))
  SELECT CASE WHEN e.e ->> 'year' ~ '^\s*[0-9]{1,4}\s*$' THEN btrim(e.e ->> 'year')::int END,
         upper(btrim(coalesce(e.e ->> 'book', 'RES'))),
         jsonb_agg(jsonb_build_object(
           'per_insured', fl._standard_number(e.e -> 'per_insured'), 'subsidy_min', fl._standard_number(e.e -> 'subsidy_min'),
           'individual', fl._standard_number(e.e -> 'individual'),
           'ratio_max', fl._standard_number(coalesce(e.e -> 'ratio_max', '"2"'::jsonb))) ORDER BY e.n)
    FROM e GROUP BY 1, 2
$$;
REVOKE ALL ON FUNCTION fl._funding_standards_of(jsonb) FROM PUBLIC;

-- A change of fl.setting that changes or removes the funding standard of a closed (year, book) is
-- refused; a first standard for a closed year that had none is taken (it fills a gap, as 0142's
-- first headcount: the report had no standard to read); every other setting, and the standards of
-- open years, change as before.
CREATE FUNCTION fl._closed_year_setting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  was jsonb;
  now_ jsonb;
  before jsonb;
  y int;
  b text;
BEGIN
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
REVOKE ALL ON FUNCTION fl._closed_year_setting() FROM PUBLIC;

CREATE TRIGGER setting_closed_year BEFORE INSERT OR UPDATE OR DELETE ON fl.setting
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_setting();

SELECT fl._rule_takes_effect('closed_year_request_final', '0150');
SELECT fl._rule_takes_effect('closed_year_standard', '0150');
