-- 0108 (ATTACK12 Z7's class, continued): what a user imports is counted per region day, with a cap
-- of its own.
--
-- 0073/0078 bound a user's manual entries (2,000 a region day for an officer) and their postings
-- (20,000); 0085 acknowledgements, fund requests and bank statements. Imports were left out: "imports
-- and workflow steps are not counted". An officer's payments import posts real money at once (its
-- county's claims, from its own expenditure account), one posting per row and a register line per
-- row, each sealed, chained and re-read by every verify for ever — so an officer wrote more in a day
-- through a file than the cap allows by hand, without bound: 100 files of 20,000 claims in a day.
--
-- What the cap means for an import *(our reading, BRIEF §4)*: not the manual cap. A manual entry is a
-- correction of a few lines, and 20,000 lines a day is far past any office's hand; a claims file is the
-- fund's ordinary way of paying — a county's month of claims is thousands to tens of thousands of rows,
-- the city's year a million (the benchmark's file) — so counting a file in the manual cap would stop a
-- county's normal month at the cap and still not bound growth any better. An import has a cap of its
-- own, in the same counter row (fl.manual_day, one row per user and region day, a guard, not a record):
-- the rows a user's imports write (rows_posted: new rows posted or held, a register line each; a row
-- already imported adds nothing) of every kind that posts — payments, collections, openings — at most
-- 100,000 a region day for an officer (several months of a county's claims, a year's at onboarding in
-- a few days) and 2,000,000 for the city bureau and city finance (two years of the whole city's
-- claims). Counted where every such import ends (fl._imp_finish: the batch's counts are set there, so
-- raw SQL calling fl.import_payments is counted as the command is), incremented and read in one
-- statement (INSERT … ON CONFLICT DO UPDATE … RETURNING, O(1) per file, one user's files queue on its
-- row), after the rows are written: a refused file rolls back with its increment; nothing is written.
-- The refusal (import_daily_cap, Chinese first) says how many and what to do: import the rest
-- tomorrow (split the file across days), or have the city bureau import it — the bureau's rows paid
-- from a county's account are held for city finance to confirm (maker-checker, 0060).
--
-- Both verdicts re-derive the cap from the batches (fl.import_batch: who, when, rows_posted; chained
-- since 0010): a user and region day whose batches of those kinds recorded after this rule's point
-- (fl.rule_point 'import_daily_cap', by the history's order: batches imported before the upgrade are
-- not counted, as the counter did not count them) wrote more rows than its role's cap is named
-- (held_entries online, workflows in the independent verdict): a DBA who switches the check off for a
-- day leaves the day only they name.
--
-- fl._imp_finish below is its latest migrated definition (0018's), changed only where marked 0108.

ALTER TABLE fl.manual_day ADD COLUMN import_rows bigint NOT NULL DEFAULT 0 CHECK (import_rows >= 0);

CREATE OR REPLACE FUNCTION fl._imp_finish(p_batch bigint, p_posted int, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  out jsonb;
  bt  fl.import_batch;
BEGIN
  UPDATE fl.import_batch b
     SET rows_posted = p_posted,
         rows_skipped = (SELECT count(*) FROM pg_temp.fl_imp_work) - p_posted,
         entries = (SELECT count(*) FROM pg_temp.fl_imp_res r WHERE r.status = 'posted')
   WHERE b.id = p_batch
  RETURNING jsonb_build_object('batch_id', b.id, 'kind', b.kind, 'file', b.file_name, 'rows_total', b.rows_total,
                               'rows_posted', b.rows_posted, 'rows_skipped', b.rows_skipped, 'entries', b.entries)
            || coalesce(p_extra, '{}')
    INTO out;
  -- (0108) The rows an import wrote, per user and region day, in 0073's counter row: 100000 for an
  -- officer, 2000000 for the city bureau and city finance, the kinds that post together.
  SELECT * INTO bt FROM fl.import_batch x WHERE x.id = p_batch;
  IF FOUND AND bt.kind IN ('payments', 'collections', 'opening') AND p_posted > 0 THEN
    DECLARE
      urole text := coalesce((SELECT u.role FROM fl.app_user u WHERE u.name = bt.imported_by), 'officer');
      cap   bigint;
      today date := fl._region_today();
      sofar bigint;
    BEGIN
      cap := CASE WHEN urole = 'officer' THEN 100000 ELSE 2000000 END;
      INSERT INTO fl.manual_day AS m (user_name, day, n, import_rows) VALUES (bt.imported_by, today, 0, p_posted)
        ON CONFLICT (user_name, day) DO UPDATE SET import_rows = m.import_rows + EXCLUDED.import_rows
        RETURNING m.import_rows INTO sofar;
      IF sofar > cap AND urole = 'officer' THEN
        PERFORM fl.refuse('import_daily_cap', format(
          '%s has already imported %s rows today (%s, the region''s day; at most %s new rows a day for an officer, '
          'payments, collections and openings together); this file''s %s new rows would pass that, and nothing was '
          'written. Import the rest tomorrow (from 00:00 of %s, the region''s time), splitting the file across days, '
          'or have the city bureau (a reviewer) import it: its rows paid from a county''s account are held for city '
          'finance to confirm',
          bt.imported_by, sofar - p_posted, today, cap, p_posted, today + 1), 'program_limit_exceeded');
      ELSIF sofar > cap THEN
        PERFORM fl.refuse('import_daily_cap', format(
          '%s has already imported %s rows today (%s, the region''s day; at most %s new rows a day for the city '
          'bureau or city finance, payments, collections and openings together); this file''s %s new rows would '
          'pass that, and nothing was written. Import the rest tomorrow (from 00:00 of %s, the region''s time), '
          'splitting the file across days',
          bt.imported_by, sofar - p_posted, today, cap, p_posted, today + 1), 'program_limit_exceeded');
      END IF;
    END;
  END IF;
  RETURN out;
END $$;
REVOKE ALL ON FUNCTION fl._imp_finish(bigint, int, jsonb) FROM PUBLIC;

SELECT fl._rule_takes_effect('import_daily_cap', '0108');
