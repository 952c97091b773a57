-- 0169 (issue 24): the held entries' three account rules are one statement trigger,
-- fl.pending_posting_held_rules, as 0168 made the journal's.
--
-- fl.pending_posting carried three AFTER INSERT statement triggers for the same three rules as the
-- journal, so that such an entry is refused when it is held, not only when it is confirmed:
--   pending_posting_category_component (0115; code category_component),
--   pending_posting_fund_balance (0088/0095; code fund_balance_close_only),
--   pending_posting_shortfall_clearing (0101; code shortfall_clearing_only).
-- Every held statement — bench 2a's held entry, every manual entry that moves money or touches
-- 3xxx/4xxx/5xxx — paid three PL/pgSQL calls (two SET clauses each, a transition table each) and
-- three statements, each joining every held posting to its account and its held entry to find, for
-- almost every entry, nothing.
--
-- Now one trigger, one call, and one first statement over the statement's distinct accounts (each
-- read once by its key) that says which rules have an account of theirs in the statement; each
-- rule's own statement — its latest definition's (0115, 0095, 0101), unchanged — runs only then, in
-- the order the three triggers fired (category component, fund balance, shortfall clearing). Same
-- refusal functions, codes, words and SQLSTATEs. Each rule's statement filters the accounts itself,
-- as before: the first statement only decides whether it runs.
--
-- Firing order: the trigger's name sorts after pending_posting_cash_date (0031), as the three did, so
-- a held statement broken by the cash date and an account rule is refused as before; the shortfall
-- rule, which fired after pending_posting_record_insert (the history version, which refuses
-- nothing), now fires before it with the other two.
-- Its one SET clause is the three's (search_path: they planned as PostgreSQL chose, and so does it).
-- The three trigger functions go with their triggers. Each rule's part begins with its own line
-- (`IF cat THEN`, `IF fund THEN`, `IF short THEN`), which the red-team tests switch off one rule
-- at a time.

CREATE FUNCTION fl.pending_posting_held_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  cat   boolean;
  fund  boolean;
  short boolean;
  bad record;
BEGIN
  -- The statement's distinct accounts, each read once by its key: is any of them
  --   (0115) a revenue or expenditure account of a component (its book's list is read by the rule),
  --   (0088) a fund balance account 3xxx,
  --   (0101) a 4101.shortfall account?
  SELECT coalesce(pg_catalog.bool_or(a.component <> '' AND pg_catalog.left(a.chart_code, 1) IN ('4', '5')), false),
         coalesce(pg_catalog.bool_or(pg_catalog.left(a.chart_code, 1) = '3'), false),
         coalesce(pg_catalog.bool_or(a.chart_code = '4101.shortfall'), false)
    INTO cat, fund, short
    FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.chart_code, y.component FROM fl.account y WHERE y.id = g.account_id OFFSET 0) a ON true;

  -- (0115) category component: 0115's fl.pending_posting_category_component, its statement
  IF cat THEN
    SELECT pe.kind, pe.book, pe.idempotency_key, a.unit, a.chart_code, a.component, b.pooled_component AS pooled
      INTO bad
      FROM (SELECT DISTINCT x.pending_id, x.account_id FROM new_postings x) g
      JOIN LATERAL (SELECT y.unit, y.book, y.chart_code, y.component FROM fl.account y
                     WHERE y.id = g.account_id AND y.component <> '' AND left(y.chart_code, 1) IN ('4', '5')
                    OFFSET 0) a ON true
      JOIN fl.book b ON b.code = a.book
      JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.id FROM fl.pending_entry y
                     WHERE y.id = g.pending_id OFFSET 0) pe ON true
     WHERE fl.category_component_problem(a.chart_code, a.component, b.pooled_component) IS NOT NULL
       AND pe.kind NOT IN ('reversal', 'year_close')
     ORDER BY pe.id
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl._category_component_refuse(bad.idempotency_key, bad.kind, bad.book, bad.unit, bad.chart_code,
                                            bad.component, bad.pooled);
    END IF;
  END IF;

  -- (0088, 0095) fund balance: 0095's fl.pending_posting_fund_balance, its statement
  IF fund THEN
    SELECT pe.kind, pe.book, pe.idempotency_key, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
      FROM (SELECT DISTINCT x.pending_id, x.account_id FROM new_postings x) g
      JOIN LATERAL (SELECT y.chart_code FROM fl.account y
                     WHERE y.id = g.account_id AND pg_catalog.left(y.chart_code, 1) = '3' OFFSET 0) a ON true
      JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.id, y.reverses FROM fl.pending_entry y
                     WHERE y.id = g.pending_id OFFSET 0) pe ON true
      LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = pe.book) c ON true
      LEFT JOIN LATERAL (SELECT ra.chart_code FROM new_postings rp JOIN fl.account ra ON ra.id = rp.account_id
                          WHERE rp.pending_id = pe.id AND pg_catalog.left(ra.chart_code, 1) IN ('4', '5')
                          ORDER BY rp.pos LIMIT 1) r ON true
     WHERE fl._fund_balance_bad(pe.kind, c.y, r.chart_code, pe.reverses)    -- (0095)
     ORDER BY pe.id
     LIMIT 1;
    IF FOUND THEN
      PERFORM fl._fund_balance_refuse(bad.idempotency_key, bad.kind, bad.book,
                                      bad.chart_code, bad.closed, bad.against);
    END IF;
  END IF;

  -- (0101) shortfall clearing: 0101's fl.pending_posting_shortfall_clearing, its statement
  IF short THEN
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
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.pending_posting_held_rules() FROM PUBLIC;

DROP TRIGGER pending_posting_category_component ON fl.pending_posting;
DROP TRIGGER pending_posting_fund_balance ON fl.pending_posting;
DROP TRIGGER pending_posting_shortfall_clearing ON fl.pending_posting;
DROP FUNCTION fl.pending_posting_category_component();
DROP FUNCTION fl.pending_posting_fund_balance();
DROP FUNCTION fl.pending_posting_shortfall_clearing();

CREATE TRIGGER pending_posting_held_rules AFTER INSERT ON fl.pending_posting REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fl.pending_posting_held_rules();
