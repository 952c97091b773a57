-- 0165 (ATTACK19 J2, the verdict's side): a unit with fund figures has a registered joining date.
--
-- 0163 refuses any posting on a unit with no fl.unit_joined row (fl.unit_first_day_record). The
-- independent verdict (check first_days, online and offline) now names such a unit too — one whose
-- first fund-figure entry is above this rule point: a superuser's postings with the trigger off, or
-- the row's absence however it came about. Since 0154 init registers a joining date with every unit
-- and the migration registered one for each, an honest ledger has no such unit; the point keeps a
-- ledger's earlier entries judged as they were.

SELECT fl._rule_takes_effect('unit_joined_required', '0165');
