-- 0136 (issue 24): fl.account's identity check is its trigger's WHEN — the same rule, still
-- PostgreSQL's own on every writer (raw SQL included), without a PL/pgSQL call per account row
-- that changes nothing of an account's identity.
--
-- fl.account_identity_fixed (0001) is a BEFORE UPDATE row trigger that refuses a change of an
-- account's book, chart code, unit, holder, component or bank account. Every posting statement
-- updates its accounts' running totals (fl.posting_inserted), so a two-legged entry called it
-- twice to find nothing changed (pg_stat_user_functions: 2.00 calls per posted-at-once entry).
-- The comparison the function makes is now the trigger's WHEN: the function (unchanged: the same
-- refusal, SQLSTATE and constraint name append_only) runs only for an UPDATE that changes one of
-- those columns. The trigger keeps its name (the red-team tests switch it off and on by name).
--
-- Measured beside it and not taken (bench/history/2026-12-07-write-path-conditions.md): fl.manual_day's
-- eight counter CHECKs as one, and the totals caps (account_totals_cap, account_day_totals_cap)
-- written in two comparisons instead of four — together with this change −0.015 M instructions
-- per entry of ~6.8 M, within what the counts resolve: the CHECKs' node text is not where an
-- entry's instructions go.

DROP TRIGGER account_identity_fixed ON fl.account;
CREATE TRIGGER account_identity_fixed BEFORE UPDATE ON fl.account
  FOR EACH ROW
  WHEN ((NEW.book, NEW.chart_code, NEW.unit, NEW.holder, NEW.component, NEW.bank_account_id)
        IS DISTINCT FROM (OLD.book, OLD.chart_code, OLD.unit, OLD.holder, OLD.component, OLD.bank_account_id))
  EXECUTE FUNCTION fl.account_identity_fixed();
