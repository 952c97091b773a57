-- 0077 (ATTACK10 X1): an entry id is positive.
--
-- 0068's duty-rule points are entry ids (fl.rule_point.after_entry: the greatest entry when the
-- rule took effect), and fl.entry.id is an identity whose sequence a superuser restarts at will
-- (ALTER TABLE fl.entry ALTER COLUMN id SET MINVALUE -1000 RESTART WITH -7). An entry with id 0 or
-- below was judged by no duty rule, even where every point is 0 ("binds from the beginning").
--
-- Now:
--   * CHECK entry_id_positive (id > 0) on fl.entry: the identity counts from 1, so no honest row
--     has another id; a restarted sequence's next entry is refused. It is fingerprinted like every
--     constraint (its definition and whether it is validated): dropping it shows in the catalogue
--     while it is gone, and putting it back validates every row.
--   * Both verdicts judge "written after a rule took effect" by where the history recorded the
--     entry (its first fl.entry version after the point's fl.rule_point version), not by its id
--     alone, and name any id at or below 0 (entry_id_positive) or at or below a point for an
--     entry recorded after it (entry_id_moved): verify's held_entries (first pass) and
--     ledger.core.rule_binding (the independent verdict, online and offline).
--
-- A database that already holds an entry with an id at or below 0 (only a DBA's hand makes one)
-- is not refused its upgrade: the constraint is added NOT VALID there — new rows are checked, the
-- old ones are the verdicts' findings — and the catalogue check names the constraint as not
-- validated (its fingerprint is the validated constraint).

ALTER TABLE fl.entry ADD CONSTRAINT entry_id_positive CHECK (id > 0) NOT VALID;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ONLY fl.entry e WHERE e.id <= 0) THEN
    ALTER TABLE fl.entry VALIDATE CONSTRAINT entry_id_positive;
  ELSE
    RAISE WARNING 'fl.entry holds entries with an id at or below 0: constraint entry_id_positive checks new rows only; '
                  'fundledger verify names those entries';
  END IF;
END $$;
