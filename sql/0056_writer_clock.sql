-- 0056 (issue 15, gap 3): a writer's own DateStyle and TimeZone — set by ALTER ROLE on its login,
-- ALTER DATABASE, PGTZ/PGDATESTYLE in its environment or a SET in its session — no longer change
-- what the ledger stores.
--
-- Evidence (tests/security/test_attack7_gaps.py):
-- * TimeZone: "today" was the session's current_date where a function fills a date the caller
--   left out — the date of a reversal (fl.reverse_entry, `entry reverse` without --date), of a
--   disbursement and a settlement (fl.request_disburse / fl.request_settle with a NULL date) —
--   and in the year bound of every entry (fl.entry_inserted, fl._hold: up to next year), the
--   acknowledgement day's bound (fl.monitor_acknowledge) and the justification's as_of
--   (fl.request_justification). A writer at 'Etc/GMT+12' reversed an entry on 1 January in
--   Shanghai dated 31 December of the year before (into another fiscal year, or a closed
--   month); 'Pacific/Kiritimati' dated it a day ahead. Today is now the region's
--   (fl.setting region.time_zone, Asia/Shanghai by default), as the cash-date and
--   period-end rules already read it (0031, fl.closed_period_ended): fl._region_today().
-- * DateStyle: a document's date is cast from text inside fl.post_entries, fl.post_opening and
--   fl.import_statement under the caller's DateStyle. ISO 'YYYY-MM-DD' reads the same under
--   every DateStyle, but '03/04/2023' was 4 March under 'ISO, MDY' and 3 April under
--   'German, DMY'. Those functions now read dates under 'ISO, YMD' (as the seal and the
--   history do): ISO dates as before, and a day-month order the caller's session chose is
--   refused (bad_input), never guessed.
-- * IntervalStyle and extra_float_digits: no column, argument or document value of the ledger
--   is an interval or a floating-point number, and every text the ledger hashes is written
--   under pinned settings (0007, 0010, 0016, 0027, 0032, 0034): nothing to pin.

CREATE FUNCTION fl._region_today() RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT (pg_catalog.now() AT TIME ZONE coalesce((SELECT s.value ->> 'time_zone' FROM fl.setting s
                                                   WHERE s.key = 'region'), 'Asia/Shanghai'))::date
$$;
REVOKE ALL ON FUNCTION fl._region_today() FROM PUBLIC;
COMMENT ON FUNCTION fl._region_today() IS
  'Today in the region''s time zone (fl.setting region.time_zone): the session''s TimeZone plays no part (0056)';

-- Each function is redefined from its definition as migrated (whatever migration last wrote
-- it), with the session's current_date replaced by the region's; nothing else changes.
DO $$
DECLARE
  f   regprocedure;
  def text;
  new text;
BEGIN
  FOREACH f IN ARRAY ARRAY[
      'fl.reverse_entry(bigint,text,date,text)', 'fl.request_disburse(bigint,date,text)',
      'fl.request_settle(bigint,date,text)', 'fl.entry_inserted()',
      'fl._hold(fl.app_user,text,fl.new_entry[],fl.new_posting[])',
      'fl.monitor_acknowledge(text,text,text,date,date,text,text)',
      'fl.request_justification(text,text,text,integer,integer)']::regprocedure[] LOOP
    def := pg_catalog.pg_get_functiondef(f);
    new := pg_catalog.regexp_replace(def, '\mcurrent_date\M', 'fl._region_today()', 'gi');
    IF new = def THEN
      RAISE EXCEPTION '0056: % no longer reads current_date; look at it again', f;
    END IF;
    EXECUTE new;
  END LOOP;
END $$;

ALTER FUNCTION fl.post_entries(jsonb) SET DateStyle = 'ISO, YMD';
ALTER FUNCTION fl.post_opening(jsonb) SET DateStyle = 'ISO, YMD';
ALTER FUNCTION fl.import_statement(text, text, text, text, text, jsonb) SET DateStyle = 'ISO, YMD';
