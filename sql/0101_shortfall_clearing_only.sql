-- 0101 (ATTACK14 V4): the government's shortfall receipts (4101.shortfall) are the register's to write.
--
-- The rule "the government's payment of its share of a deficit is not revenue of the year it
-- arrives" (BRIEF §5) had two implementations: the year-end rule (fl.year_figures_v2/_v3: the close,
-- report shortfall, the final accounts' reconciling line) leaves out of the current balance C the
-- register clearings of government-share items; the monitor left out every posting on 4101.shortfall.
-- Only `government pay` / `register clear` wrote both at once. City finance recorded the county
-- government's payment by hand (entry post Dr 1003 special / Cr 4101.shortfall, held, the bureau
-- confirmed): the monitor said C 1,000.00, the rule 1,200.00 (the close charges on it), and the
-- government-share item stayed owed while its money counted as revenue of C. verify was whole.
--
-- The monitor now reads the receipts as the rule reads them (ledger.store.monitor: the clearings,
-- not the account). And the account is now what its name says, so every report that reads it (the
-- forecast's shortfall receipts, the subsidy and performance reports) agrees with the register:
-- code shortfall_clearing_only — a posting on 4101.shortfall (any book, unit, component) belongs to
--   * the clearing of a government-share item of the same book and unit (kind register_clear, its
--     source naming the item: fl.clear_register, fl.government_pay), or
--   * the year-end close (kind year_close: Dr 4101.shortfall / Cr 3001), or
--   * a reversal (it mirrors its original, reversal_mirrors; a clearing's reversal unclears the
--     item, 0081; a hand entry made before this release can still be undone).
-- A manual entry, an import, any other workflow — held or posted, any role, any path (fl._post by
-- the DBA included) — is refused, in Chinese first, saying to record the payment by `government pay`.
-- Enforced by two statement triggers beside fl.posting_inserted (0088's pattern; that trigger is left
-- alone): fl.posting_shortfall_clearing on the journal, fl.pending_posting_shortfall_clearing on held
-- postings (refused when held, not only when confirmed). The independent verdicts re-derive it
-- (ledger.core.rules, workflows: shortfall_clearing_only) above this migration's rule point
-- (fl.rule_point 'shortfall_clearing_only'), and hold a register_clear entry on 4101.shortfall to a
-- clearing row of a government-share item (the trigger runs before fl.clear_register writes it): an
-- honest hand entry written before the upgrade stays whole.

CREATE FUNCTION fl._shortfall_writer(p_kind text, p_source jsonb, p_book text, p_unit text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT p_kind IN ('year_close', 'reversal')
      OR (p_kind = 'register_clear' AND p_source ->> 'kind' = 'government_share'
          AND EXISTS (SELECT 1 FROM fl.register_item i
                       WHERE i.id::text = p_source ->> 'register_item' AND i.kind = 'government_share'
                         AND i.book = p_book AND i.unit = p_unit))
$$;
REVOKE ALL ON FUNCTION fl._shortfall_writer(text, jsonb, text, text) FROM PUBLIC;

CREATE FUNCTION fl._shortfall_refuse(p_what text, p_kind text, p_book text, p_unit text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  PERFORM fl.refuse('shortfall_clearing_only', format(
    '%s (a %s entry of book %s) posts 4101.shortfall for unit %s: the government''s payment of its share of a '
    'deficit is recorded only by clearing its register item (government pay %s, or register clear), which settles '
    'the share the close recorded; nothing was written', p_what, p_kind, p_book, p_unit, p_unit),
    'insufficient_privilege');
END $$;
REVOKE ALL ON FUNCTION fl._shortfall_refuse(text, text, text, text) FROM PUBLIC;

-- The journal: only statements that post on a 4101.shortfall account look further.
CREATE FUNCTION fl.posting_shortfall_clearing() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  acc bigint[];
  bad record;
BEGIN
  SELECT pg_catalog.array_agg(a.id) INTO acc
    FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.id, y.chart_code FROM fl.account y WHERE y.id = g.account_id OFFSET 0) a ON true
   WHERE a.chart_code = '4101.shortfall';
  IF acc IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT e.id, e.kind, e.book, a.unit INTO bad
    FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
           WHERE x.account_id OPERATOR(pg_catalog.=) ANY (acc)) g
    JOIN fl.entry e ON e.id = g.entry_id
    JOIN fl.account a ON a.id = g.account_id
   WHERE NOT fl._shortfall_writer(e.kind, e.source, e.book, a.unit)
   ORDER BY e.id
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl._shortfall_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.unit);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.posting_shortfall_clearing() FROM PUBLIC;
CREATE TRIGGER posting_shortfall_clearing AFTER INSERT ON fl.posting REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_shortfall_clearing();

-- Held entries: refused when held (fl._hold, or any INSERT of held postings).
CREATE FUNCTION fl.pending_posting_shortfall_clearing() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  SELECT pe.kind, pe.book, pe.idempotency_key, a.unit INTO bad
    FROM (SELECT DISTINCT x.pending_id, x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.unit FROM fl.account y
                   WHERE y.id = g.account_id AND y.chart_code = '4101.shortfall' OFFSET 0) a ON true
    JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.source, y.id FROM fl.pending_entry y
                   WHERE y.id = g.pending_id OFFSET 0) pe ON true
   WHERE NOT fl._shortfall_writer(pe.kind, pe.source, pe.book, a.unit)
   ORDER BY pe.id
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl._shortfall_refuse(bad.idempotency_key, bad.kind, bad.book, bad.unit);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.pending_posting_shortfall_clearing() FROM PUBLIC;
CREATE TRIGGER pending_posting_shortfall_clearing AFTER INSERT ON fl.pending_posting
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION fl.pending_posting_shortfall_clearing();

SELECT fl._rule_takes_effect('shortfall_clearing_only', '0101');
