-- 0168 (issue 24): the journal's three account rules are one statement trigger, fl.posting_account_rules.
--
-- fl.posting carried three AFTER INSERT statement triggers that each looked at the statement's
-- distinct accounts first and went further only when one of them is the rule's:
--   posting_category_component (0115: an account its component does not carry, made before the
--     allow-list: only a reversal or the year-end close posts it; code category_component),
--   posting_fund_balance (0088/0095: fund balance 3xxx; code fund_balance_close_only),
--   posting_shortfall_clearing (0101: 4101.shortfall; code shortfall_clearing_only).
-- Every posting statement — bench 2a's two-legged entry, every import — paid three PL/pgSQL trigger
-- calls (each with its two SET clauses and its transition table), three prefilter statements, each
-- probing the same accounts by key, to find none of them (bench/history/2026-12-07-write-path-*.md:
-- "the largest piece a merge could take").
--
-- Now one trigger, one call, one prefilter statement over the distinct accounts (each probed once by
-- its key) that gives each rule its own list; each rule's second statement is its latest definition's
-- (0115, 0095, 0101), unchanged, run only when its list is not empty, in the order the three triggers
-- fired: category component, fund balance, shortfall clearing. Same refusal functions, codes, words
-- and SQLSTATEs (fl._category_component_refuse, fl._fund_balance_refuse, fl._shortfall_refuse).
-- The held entries' three triggers on fl.pending_posting are untouched.
--
-- Firing order: the trigger's name sorts before posting_inserted, as posting_category_component and
-- posting_fund_balance did; the shortfall rule, which fired after posting_inserted and
-- posting_record_insert, now fires before them. A statement refused by both the shortfall rule and
-- one of posting_inserted's checks is now refused by the shortfall rule's words first; a statement
-- refused is refused either way, and every other statement sees exactly what it saw.
--
-- The three trigger functions go with their triggers (nothing else calls a trigger function). Each
-- rule's part begins with its own line (`IF cat_acc IS NOT NULL THEN`, `IF fund_acc …`,
-- `IF short_acc …`), which the red-team tests switch off one rule at a time.

CREATE FUNCTION fl.posting_account_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  cat_acc   int[];
  fund_acc  bigint[];
  short_acc bigint[];
  bad record;
BEGIN
  -- The statement's distinct accounts, each read once by its key; each rule's prefilter a FILTER:
  --   (0115) a revenue or expenditure account of a component that its book's list does not let carry
  --          it (the book read only for such an account);
  --   (0088) a fund balance account 3xxx;
  --   (0101) a 4101.shortfall account.
  SELECT pg_catalog.array_agg(a.id) FILTER (WHERE c.off),
         pg_catalog.array_agg(a.id) FILTER (WHERE pg_catalog.left(a.chart_code, 1) = '3'),
         pg_catalog.array_agg(a.id) FILTER (WHERE a.chart_code = '4101.shortfall')
    INTO cat_acc, fund_acc, short_acc
    FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.id, y.book, y.chart_code, y.component FROM fl.account y WHERE y.id = g.account_id OFFSET 0) a ON true
    LEFT JOIN LATERAL (SELECT true AS off FROM fl.book b
                        WHERE a.component <> '' AND pg_catalog.left(a.chart_code, 1) IN ('4', '5') AND b.code = a.book
                          AND fl.category_component_problem(a.chart_code, a.component, b.pooled_component) IS NOT NULL
                       OFFSET 0) c ON true;

  -- (0115) category component: 0115's fl.posting_category_component, its second statement
  IF cat_acc IS NOT NULL THEN
    SELECT e.id, e.kind, e.book, a.unit, a.chart_code, a.component, b.pooled_component AS pooled INTO bad
      FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
             WHERE x.account_id OPERATOR(pg_catalog.=) ANY (cat_acc)) g
      JOIN fl.entry e ON e.id = g.entry_id
      JOIN fl.account a ON a.id = g.account_id
      JOIN fl.book b ON b.code = a.book
     WHERE e.kind NOT IN ('reversal', 'year_close')
     ORDER BY e.id
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl._category_component_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.unit, bad.chart_code,
                                            bad.component, bad.pooled);
    END IF;
  END IF;

  -- (0088, 0095) fund balance: 0095's fl.posting_fund_balance, its second statement
  IF fund_acc IS NOT NULL THEN
    SELECT e.id, e.kind, e.book, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
      FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
             WHERE x.account_id OPERATOR(pg_catalog.=) ANY (fund_acc)) g
      JOIN fl.entry e ON e.id = g.entry_id
      JOIN fl.account a ON a.id = g.account_id
      LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = e.book) c ON true
      LEFT JOIN LATERAL (SELECT ra.chart_code FROM new_postings rp JOIN fl.account ra ON ra.id = rp.account_id
                          WHERE rp.entry_id = e.id AND pg_catalog.left(ra.chart_code, 1) IN ('4', '5')
                          ORDER BY rp.id LIMIT 1) r ON true
     WHERE fl._fund_balance_bad(e.kind, c.y, r.chart_code, e.reverses)      -- (0095)
     ORDER BY e.id
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl._fund_balance_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.chart_code, bad.closed, bad.against);
    END IF;
  END IF;

  -- (0101) shortfall clearing: 0101's fl.posting_shortfall_clearing, its second statement
  IF short_acc IS NOT NULL THEN
    SELECT e.id, e.kind, e.book, a.unit INTO bad
      FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
             WHERE x.account_id OPERATOR(pg_catalog.=) ANY (short_acc)) g
      JOIN fl.entry e ON e.id = g.entry_id
      JOIN fl.account a ON a.id = g.account_id
     WHERE NOT fl._shortfall_writer(e.kind, e.source, e.book, a.unit)
     ORDER BY e.id
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl._shortfall_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.unit);
    END IF;
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.posting_account_rules() FROM PUBLIC;

DROP TRIGGER posting_category_component ON fl.posting;
DROP TRIGGER posting_fund_balance ON fl.posting;
DROP TRIGGER posting_shortfall_clearing ON fl.posting;
DROP FUNCTION fl.posting_category_component();
DROP FUNCTION fl.posting_fund_balance();
DROP FUNCTION fl.posting_shortfall_clearing();

CREATE TRIGGER posting_account_rules AFTER INSERT ON fl.posting REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_account_rules();
