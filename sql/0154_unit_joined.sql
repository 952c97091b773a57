-- 0154 (ATTACK17b F1, MED): a unit's joining date (加入统筹日期) is registered with the unit, once, and
-- nothing is posted on the unit dated before it — so a new unit's first day in the ledger can no
-- longer be set by a back-dated first posting.
--
-- 0130 records a unit's first day in the ledger (fl.unit_first_day, the months-payable basis while
-- the ledger holds less than 12 months of it) from the statement that first posts on one of its fund
-- figures. For a unit with no fund figure yet (a county just registered, or not yet handed over),
-- that statement is whoever posts first: city finance's 0.01 collection dated a year back, posted
-- at once and alone, WAS the unit's first day — a year of history the unit never had, its daily
-- spending averaged over it, and a red months payable read "excess" (ATTACK17b F1).
--
-- Now a first day that no posting sets bounds the one a posting sets:
--   * fl.unit_joined (unit, joined_on, source, recorded_at): one row per unit, written when the unit
--     is registered (`fundledger init [--region FILE]`, by the ledger's owner — ledger.store.migrate
--     .load_reference: the region file's `joined`, or the first year's 1 January when the file gives
--     none and the ledger holds no entry yet; a unit registered into a ledger that already holds
--     entries must name its own), never changed (fl.refuse_change: UPDATE, DELETE, TRUNCATE refused)
--     and chained (fl._chain_table). No application role may write it.
--   * fl.unit_first_day_record (0130's AFTER INSERT statement trigger of fl.account_day, redefined
--     from 0130): a statement's new day row on any account of a unit, dated before the unit's joining
--     date, is refused (before_unit_joined, naming the unit, the day, the entry and the joining date)
--     — every writer, every role, raw SQL too: a day row is an account's first posting of a day, and
--     no day row of a unit exists before it joined. So the recorded first day is never before the
--     joining date; a unit with no joining row (registered by raw SQL, not by init) is bounded only by
--     the first year as before.
--   * Existing ledgers: each unit's joining date is derived from what is recorded and frozen — the
--     earliest day on any of its accounts (fl.account_day: its first day in the ledger, never after
--     its recorded first day), or, for a unit with no posting yet, the first year's 1 January (the
--     earliest date any entry may carry, 0133) — so no entry already posted lies before it and no
--     date allowed before the upgrade is refused for a unit that has none. fl.entry is locked
--     (SHARE) while it is read, as 0130 did.
--   * The independent verdict (check first_days, online and `verify --offline`) re-derives the rule
--     from the journal: an entry above the rule point unit_joined with a posting on a unit dated
--     before the unit's joining date is named.

SELECT fl._contended_mark();
LOCK TABLE fl.entry IN SHARE MODE;

CREATE TABLE fl.unit_joined (
  unit        text NOT NULL PRIMARY KEY REFERENCES fl.unit (code),
  joined_on   date NOT NULL,
  source      text NOT NULL CHECK (source IN ('region', 'first_year', 'upgrade')),
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TRIGGER unit_joined_append_only BEFORE UPDATE OR DELETE ON fl.unit_joined
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER unit_joined_no_truncate BEFORE TRUNCATE ON fl.unit_joined
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();

-- Today's units, frozen (fl.entry locked: nothing is being posted meanwhile).
INSERT INTO fl.unit_joined (unit, joined_on, source)
SELECT u.code,
       coalesce((SELECT min(d.day) FROM fl.account a JOIN fl.account_day d ON d.account_id = a.id
                  WHERE a.unit = u.code),
                make_date(coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'),
                                   2000), 1, 1)),
       'upgrade'
  FROM fl.unit u
 ORDER BY u.code;

SELECT fl._chain_table('fl.unit_joined', ARRAY['unit']);

-- Reference data like fl.unit: every role that reads units reads it.
GRANT SELECT ON fl.unit_joined TO fl_officer, fl_reviewer, fl_finance, fl_auditor;

CREATE OR REPLACE FUNCTION fl.unit_first_day_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  books text[];
  units text[];
  days  date[];
  bad   record;
BEGIN
  -- (0154) No day on a unit's account before the unit joined (fl.unit_joined): the statement's new
  -- day rows only (an account's first posting of a day), each found by its unit's primary key.
  SELECT n.day, a.unit, j.joined_on, n.account_id INTO bad
    FROM new_days n JOIN fl.account a ON a.id = n.account_id
    JOIN fl.unit_joined j ON j.unit = a.unit
   WHERE n.day < j.joined_on
   ORDER BY n.day, a.unit LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('before_unit_joined', format(
      '%s posts on unit %s dated %s, before the unit joined the pooled fund on %s (its joining date, registered '
      'with the unit): nothing was written; date it on or after %s — a unit''s first day in the ledger is never '
      'before it joined', fl.entry_label((SELECT min(p.entry_id) FROM fl.posting p
                                          WHERE p.account_id = bad.account_id AND p.entry_date = bad.day)),
      bad.unit, bad.day, bad.joined_on, bad.joined_on));
  END IF;

  -- The statement's new day rows on a fund figure of a book and unit that has no first day yet.
  -- (Nearly always none: the unit has its row since its first posting; nothing more is read.)
  SELECT array_agg(k.book), array_agg(k.unit), array_agg(k.day)
    INTO books, units, days
    FROM (SELECT a.book, a.unit, min(n.day) AS day
            FROM new_days n JOIN fl.account a ON a.id = n.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE fc.kind IN ('net_assets', 'revenue', 'expenditure')
             AND NOT EXISTS (SELECT 1 FROM fl.unit_first_day f WHERE f.book = a.book AND f.unit = a.unit)
           GROUP BY a.book, a.unit) k;
  IF books IS NULL THEN
    RETURN NULL;
  END IF;
  -- The entry that dated it: the lowest id posting that day on one of the unit's fund figures (the
  -- unit's first: every one of them is this statement's, the unit had no fund figure before).
  INSERT INTO fl.unit_first_day (book, unit, first_day, entry_id)
  SELECT x.book, x.unit, x.day,
         (SELECT min(p.entry_id) FROM fl.posting p
            JOIN fl.account a ON a.id = p.account_id
            JOIN fl.chart fc ON fc.code = a.chart_code
            JOIN fl.book fb ON fb.code = a.book AND a.component = fb.pooled_component
           WHERE p.account_id IN (SELECT n.account_id FROM new_days n WHERE n.day = x.day)
             AND p.entry_date = x.day AND a.book = x.book AND a.unit = x.unit
             AND fc.kind IN ('net_assets', 'revenue', 'expenditure'))
    FROM unnest(books, units, days) AS x(book, unit, day)
   ORDER BY x.book, x.unit
  ON CONFLICT (book, unit) DO NOTHING;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.unit_first_day_record() FROM PUBLIC;

SELECT fl._rule_takes_effect('unit_joined', '0154');
