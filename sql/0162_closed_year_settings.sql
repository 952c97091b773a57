-- fundledger migration 0162: the settings a year's reports are read with take effect per year, and a
-- closed year's are final (F9c's leftover; docs/region.md, "Settings per year"; docs/security.md F9c).
--
-- The monitor's colours (months_red_below … balance_rate_excess_above), the 略有结余 range
-- (budget_surplus_min_pct / _max_pct), the performance review's weights (performance_weights) and what
-- the city's final accounts eliminate (final_accounts_eliminate) were one value for every year: a reload
-- changing one re-read the closed years' monitor colours, budget checks, review scores and final
-- accounts. A region file's [settings] now holds them for every year and a [settings.YEAR] table changes
-- some from that year on (fl.setting settings_from_year: {"2026": {key: value}}); the reports of a year
-- read the ones in force for it (ledger.core.year_settings, ledger.store.year_settings).
--
-- fl._closed_year_settings (BEFORE INSERT/UPDATE/DELETE on fl.setting) refuses a write that changes what
-- is in force for a closed year (any book: fl.year_close), compared as the readers read it
-- (fl._settings_in_force: numbers as numbers, "3" = "3.0"; a key absent is its default; the weights
-- with every indicator) — year_closed_reference, naming the year and the keys, and saying what to do:
-- keep the closed years' values and write the new ones in a [settings.YEAR] table of the first open
-- year. What is in force for an open year changes as before. A key the ledger never held is taken at
-- its first writing (the reload of the release that brings it; 0150 takes a first standard so). As 0156's guards, it first waits for a
-- year's close in progress. The verdict re-reads every version of these settings from the chained
-- history and names one that changed a closed year's, recorded after its close and above the rule
-- point closed_year_settings (ledger.core.rules._closed_year_settings), online and offline.

-- A setting's number as the readers read it: a number written as text ("-5", "3.0") or as a JSON number
-- is that number; anything else as it stands (ledger.core.year_settings._number).
CREATE FUNCTION fl._settings_number(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
  SELECT CASE WHEN jsonb_typeof(p) IN ('string', 'number') AND p #>> '{}' ~ '^\s*-?[0-9]{1,15}(\.[0-9]{1,15})?\s*$'
              THEN to_jsonb(btrim(p #>> '{}', E' \t\n\r\f\v')::numeric) ELSE p END
$$;
REVOKE ALL ON FUNCTION fl._settings_number(jsonb) FROM PUBLIC;

-- The per-year settings in force for p_year in a state of fl.setting (p_settings: key -> value): each
-- key's [settings] value (its default when absent), replaced by the latest settings_from_year table of a
-- year up to p_year that names it; as compared (ledger.core.year_settings.in_force).
CREATE FUNCTION fl._settings_in_force(p_settings jsonb, p_year int) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
  WITH d(key, value) AS (VALUES
      ('months_red_below', '"3"'::jsonb), ('months_yellow_below', '"6"'), ('months_excess_above', '"15"'),
      ('balance_rate_red_below', '"-5"'), ('balance_rate_yellow_below', '"0"'), ('balance_rate_excess_above', '"15"'),
      ('budget_surplus_min_pct', '"0"'), ('budget_surplus_max_pct', '"5"'),
      ('performance_weights', '{"revenue_execution": "15", "expenditure_execution": "15",
        "collection_completion": "15", "balance_rate": "15", "months_payable": "15", "requests_vs_spending": "10",
        "government_shares": "15"}'),
      ('final_accounts_eliminate', '[["5302", "4401"], ["5301", "4402"]]')),
  y AS (
    SELECT t.key::int AS year, t.value AS tbl
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_settings -> 'settings_from_year') = 'object'
                           THEN p_settings -> 'settings_from_year' ELSE '{}'::jsonb END) t
     WHERE t.key ~ '^[0-9]{4}$' AND jsonb_typeof(t.value) = 'object' AND t.key::int <= p_year),
  v AS (
    SELECT d.key, d.value AS dflt,
           coalesce((SELECT y.tbl -> d.key FROM y WHERE y.tbl ? d.key ORDER BY y.year DESC LIMIT 1),
                    p_settings -> d.key, d.value) AS value
      FROM d)
  SELECT jsonb_object_agg(v.key, CASE
           WHEN v.key = 'final_accounts_eliminate' THEN v.value
           WHEN v.key = 'performance_weights' THEN CASE WHEN jsonb_typeof(v.value) = 'object'
             THEN (SELECT jsonb_object_agg(w.key, fl._settings_number(w.value)) FROM jsonb_each(v.dflt || v.value) w)
             ELSE v.value END
           ELSE fl._settings_number(v.value) END)
    FROM v
$$;
REVOKE ALL ON FUNCTION fl._settings_in_force(jsonb, int) FROM PUBLIC;

CREATE FUNCTION fl._closed_year_settings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  watched CONSTANT text[] := ARRAY['months_red_below', 'months_yellow_below', 'months_excess_above',
    'balance_rate_red_below', 'balance_rate_yellow_below', 'balance_rate_excess_above', 'budget_surplus_min_pct',
    'budget_surplus_max_pct', 'performance_weights', 'final_accounts_eliminate', 'settings_from_year'];
  was jsonb;
  now_ jsonb;
  a jsonb;
  b jsonb;
  y int;
  keys text;
  last_closed int;
BEGIN
  IF NOT ((TG_OP <> 'DELETE' AND NEW.key = ANY (watched)) OR (TG_OP <> 'INSERT' AND OLD.key = ANY (watched))) THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  -- Wait for a year's close in progress, then read (0156, ATTACK18 G8): the close holds SHARE ROW
  -- EXCLUSIVE on fl.closed_period until it commits, which this ROW EXCLUSIVE waits for.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  SELECT coalesce(jsonb_object_agg(s.key, s.value), '{}'::jsonb) INTO was FROM fl.setting s WHERE s.key = ANY (watched);
  IF TG_OP = 'INSERT' AND NOT was ? NEW.key THEN
    -- a key the ledger never held (written by the reload of the release that brings it): taken, as
    -- 0150 takes a closed year's first funding standard — no report of a closed year was read with
    -- it (its feature came with it), and no key is ever removed (fl.reference_guard)
    RETURN NEW;
  END IF;
  now_ := was;
  IF TG_OP <> 'INSERT' THEN
    now_ := now_ - OLD.key;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.key = ANY (watched) THEN
    now_ := now_ || jsonb_build_object(NEW.key, NEW.value);
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
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
REVOKE ALL ON FUNCTION fl._closed_year_settings() FROM PUBLIC;

CREATE TRIGGER setting_closed_year_in_force BEFORE INSERT OR UPDATE OR DELETE ON fl.setting
  FOR EACH ROW EXECUTE FUNCTION fl._closed_year_settings();

-- A loaded ledger holds the year tables' key from now on ({}: none), as `init` writes it (so `verify
-- --region` finds the file's {} in the ledger before the next reload). Nothing in force changes.
INSERT INTO fl.setting (key, value)
  SELECT 'settings_from_year', '{}'::jsonb WHERE EXISTS (SELECT 1 FROM fl.setting s WHERE s.key = 'region')
  ON CONFLICT (key) DO NOTHING;

SELECT fl._rule_takes_effect('closed_year_settings', '0162');
