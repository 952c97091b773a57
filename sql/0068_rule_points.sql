-- 0068 (ATTACK9 W6): a maker-checker rule judges the entries written after it took effect.
--
-- W6 (MED). 0064's rule (money into a bank or cash account by hand is confirmed by the city) was
-- judged by both verdicts for every entry since the chained history began: a provider's refund
-- into a county's expenditure account, held by one of its officers and confirmed by another —
-- allowed under 0058-0063 — was a `maker_checker` / `held_entries` finding after an honest upgrade,
-- forever (nothing is edited; a reversal leaves it), and "red" stopped meaning tampering. A ledger
-- lives for decades and its duty rules tighten; each rule binds from the moment its migration
-- made the database enforce it.
--
-- Now:
--   * fl.rule_point (one row per rule: its name, the revision that brought it, and after_entry —
--     the greatest entry id in the journal when the rule took effect) is append-only (UPDATE,
--     DELETE and TRUNCATE refused) and hooked into the chained history (fl._chain_table): its
--     one INSERT version is chained like the journal, so the point cannot be moved without a
--     second version or a broken chain.
--   * fl._rule_takes_effect(rule, revision), run by the migration that brings or tightens a rule:
--     takes a SHARE lock on fl.entry (no entry is being written while the point is read; the
--     journal's writers wait for the migration's commit) and records the point. A rule already
--     in force before this upgrade run (its revision at or below the revision the database had
--     when the upgrade began: fundledger.upgrade_from, set by ledger.store.migrate.upgrade, or
--     the schema's revision when the migration runs outside it) is recorded from the journal's
--     beginning (0): it bound every entry already.
--   * The rules recorded here: city_figures (0058, ATTACK7 U5: an officer's manual entry on 1003
--     special, 1004 city_exp, 1005 treasury, fund balance 3xxx or revenue 4xxx is the city's to
--     confirm) and money_in (0064, ATTACK8 V5: money into any bank or cash account by hand is the
--     city's to confirm).
--   * verify's held_entries (first pass) judges each rule only for entries with an id above its
--     point (a rule with no point: every entry); the independent verdict (ledger.core.rules)
--     reads the points from the chained history, not from the table, and names a point that
--     has more than one version or whose after_entry disagrees with where the history recorded
--     it (an entry above the point recorded before it, or the point naming an entry recorded
--     after it).

CREATE TABLE fl.rule_point (
  rule        text PRIMARY KEY CHECK (rule ~ '^[a-z_]{1,40}$'),
  revision    text NOT NULL CHECK (revision ~ '^[0-9]{4}$'),
  after_entry bigint NOT NULL CHECK (after_entry >= 0),
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER rule_point_append_only BEFORE UPDATE OR DELETE ON fl.rule_point
  FOR EACH ROW EXECUTE FUNCTION fl.refuse_change();
CREATE TRIGGER rule_point_no_truncate BEFORE TRUNCATE ON fl.rule_point
  FOR EACH STATEMENT EXECUTE FUNCTION fl.refuse_change();
SELECT fl._chain_table('fl.rule_point', ARRAY['rule']);
GRANT SELECT ON fl.rule_point TO fl_auditor, fl_reviewer, fl_finance;

CREATE FUNCTION fl._rule_takes_effect(p_rule text, p_revision text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  was   text := coalesce(nullif(current_setting('fundledger.upgrade_from', true), ''),
                         (SELECT v.version_num FROM fl.alembic_version v LIMIT 1), '');
  point bigint;
BEGIN
  PERFORM fl._contended_mark();          -- (0058's rule: a table lock that stops writers is marked)
  LOCK TABLE fl.entry IN SHARE MODE;
  point := CASE WHEN was ~ '^[0-9]{4}$' AND was >= p_revision THEN 0
                ELSE coalesce((SELECT max(e.id) FROM ONLY fl.entry e), 0) END;
  INSERT INTO fl.rule_point (rule, revision, after_entry) VALUES (p_rule, p_revision, point);
  RETURN point;
END $$;
REVOKE ALL ON FUNCTION fl._rule_takes_effect(text, text) FROM PUBLIC;

SELECT fl._rule_takes_effect('city_figures', '0058');
SELECT fl._rule_takes_effect('money_in', '0064');
