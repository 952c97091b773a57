-- 0161 (issue 24): fl._held_by_hand (0050: which postings a manual entry holds for a second person)
-- is inlined by the planner into its callers, as fl._real_money (0017), the function it calls, is.
--
-- It is a one-expression IMMUTABLE SQL function, applied to each posting of a call by
-- fl.post_entries and fl.reverse_entry. Its SET clause (search_path) kept PostgreSQL from inlining
-- it, so every posting started an executor for it: two per bench 2a entry, ~0.045 M instructions
-- each, and a statement each in pg_stat_statements. Without the SET clause the planner replaces
-- the call by its expression (and fl._real_money's inside it), planned under the caller's
-- search_path, which both callers pin (pg_catalog, fl, pg_temp): the function names in the body
-- are schema-qualified, and its `IN` resolves in pg_catalog first there. The same rule, the same
-- result for every posting (test_upgrade_0161 holds the table of charts and holders); not PUBLIC's,
-- as before; tests/security/test_sweep.py lists it with the other inlined functions.
--
-- Its body is 0050's definition, unchanged; only the SET clause is gone.

CREATE OR REPLACE FUNCTION fl._held_by_hand(p_chart text, p_holder text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT fl._real_money(p_chart, p_holder)
      -- (0027, ATTACK3 R4; 0030 for every role) revenue, expenditure and fund-balance figures
      -- are the year-end rule's inputs (who pays a deficit).
      OR pg_catalog.left(p_chart, 1) IN ('3', '4', '5')
      -- (0050, ATTACK6 T7) bonds bought and money borrowed.
      OR pg_catalog.split_part(p_chart, '.', 1) IN ('1201', '2101')
$function$;
REVOKE ALL ON FUNCTION fl._held_by_hand(text, text) FROM PUBLIC;
