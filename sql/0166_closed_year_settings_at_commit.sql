-- fundledger migration 0166: a closed year's settings are judged on what a transaction leaves, not on
-- each row it writes on the way (ATTACK19b K2; docs/security.md F9c, K2; docs/region.md "Settings
-- per year").
--
-- 0162's fl._closed_year_settings was a BEFORE ROW trigger: each fl.setting row was judged against the
-- state the rows before it had left. A region reload writes [settings]'s keys first and the
-- [settings.YEAR] tables (settings_from_year) last, so a file that keeps every closed year's values in
-- force — [settings] changed to 7 / 8 from 2024 on while the old 3 / 6 move into a [settings.2021]
-- table — was refused at its first row (year_closed_reference): at that moment the table that keeps
-- 2023 at 3 is not written yet. No one order of the rows fits every file (a reload can move one key
-- into a year table and another out of one), so the guard is now a constraint trigger DEFERRABLE
-- INITIALLY DEFERRED: it runs at COMMIT and compares what is in force for each closed year in the
-- state the transaction leaves with the state it began from — each watched key this transaction
-- wrote as it stood before (its latest version in the chained history recorded by another, committed
-- transaction — fl.record_log's vxid; absent when this transaction's first version of it is an INSERT:
-- a key the ledger never held is taken at its first writing, as 0162), every other key as it stands.
-- A raw change of a closed year's settings is refused at its COMMIT, nothing written; the verdict
-- judges the versions one transaction at a time likewise (ledger.core.rules._closed_year_settings).
-- It still first waits for a year's close in progress (0156). fl._settings_in_force and
-- fl._settings_number are 0162's.

DROP TRIGGER setting_closed_year_in_force ON fl.setting;

CREATE OR REPLACE FUNCTION fl._closed_year_settings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  watched CONSTANT text[] := ARRAY['months_red_below', 'months_yellow_below', 'months_excess_above',
    'balance_rate_red_below', 'balance_rate_yellow_below', 'balance_rate_excess_above', 'budget_surplus_min_pct',
    'budget_surplus_max_pct', 'performance_weights', 'final_accounts_eliminate', 'settings_from_year'];
  me CONSTANT xid8 := pg_current_xact_id();
  was jsonb := '{}'::jsonb;
  now_ jsonb;
  a jsonb;
  b jsonb;
  y int;
  k text;
  first_op text;
  prior jsonb;
  keys text;
  last_closed int;
BEGIN
  IF NOT ((TG_OP <> 'DELETE' AND NEW.key = ANY (watched)) OR (TG_OP <> 'INSERT' AND OLD.key = ANY (watched))) THEN
    RETURN NULL;
  END IF;
  -- Wait for a year's close in progress, then read (0156, ATTACK18 G8): the close holds SHARE ROW
  -- EXCLUSIVE on fl.closed_period until it commits, which this ROW EXCLUSIVE waits for.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  -- the state this transaction leaves
  SELECT coalesce(jsonb_object_agg(s.key, s.value), '{}'::jsonb) INTO now_ FROM fl.setting s WHERE s.key = ANY (watched);
  -- the state it began from: a key it wrote, as the last version another transaction recorded (none:
  -- its first version here is an INSERT of a key the ledger did not hold, taken as it is now); every
  -- other key as it stands
  FOREACH k IN ARRAY watched LOOP
    SELECT l.op INTO first_op FROM fl.record_log l
     WHERE l.tbl = 'fl.setting' AND l.row_key = jsonb_build_object('key', k) AND l.vxid = me
     ORDER BY l.id LIMIT 1;
    IF first_op IS NULL THEN
      IF now_ ? k THEN
        was := was || jsonb_build_object(k, now_ -> k);
      END IF;
    ELSIF first_op = 'INSERT' THEN
      IF now_ ? k THEN
        was := was || jsonb_build_object(k, now_ -> k);
      END IF;
    ELSE
      SELECT l.row_data INTO prior FROM fl.record_log l
       WHERE l.tbl = 'fl.setting' AND l.row_key = jsonb_build_object('key', k) AND l.vxid IS DISTINCT FROM me
       ORDER BY l.id DESC LIMIT 1;
      IF prior IS NOT NULL AND prior ? 'value' THEN
        was := was || jsonb_build_object(k, prior -> 'value');
      ELSIF now_ ? k THEN
        was := was || jsonb_build_object(k, now_ -> k);
      END IF;
    END IF;
  END LOOP;
  -- a key removed (the reference guard off): judged as absent now, present before
  IF TG_OP = 'DELETE' AND NOT now_ ? OLD.key AND NOT was ? OLD.key THEN
    was := was || jsonb_build_object(OLD.key, OLD.value);
  END IF;
  SELECT max(yc.year) INTO last_closed FROM fl.year_close yc;
  FOR y IN SELECT DISTINCT yc.year FROM fl.year_close yc ORDER BY 1 LOOP
    a := fl._settings_in_force(was, y);
    b := fl._settings_in_force(now_, y);
    IF a IS DISTINCT FROM b THEN
      SELECT string_agg(e.key, ', ' ORDER BY e.key) INTO keys FROM jsonb_each(a) e WHERE e.value IS DISTINCT FROM b -> e.key;
      PERFORM fl.refuse('year_closed_reference', format(
        'the year %s is closed: the settings its monitor colours, budget checks, performance review and final '
        'accounts are read with are final, so %s is not changed for it, and nothing was changed; keep [settings] '
        'and the [settings.YEAR] tables up to %s in the region file as they were, and write the new values in a '
        '[settings.%s] table: they take effect from that year on', y, keys, last_closed, last_closed + 1));
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl._closed_year_settings() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER setting_closed_year_in_force AFTER INSERT OR UPDATE OR DELETE ON fl.setting
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fl._closed_year_settings();
