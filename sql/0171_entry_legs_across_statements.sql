-- 0171 (ATTACK20b M2): the fund-balance rule judges an entry by ALL its legs, every statement's.
--
-- The rule (0088/0095, since 0168 part of fl.posting_account_rules; for held entries of 0169's
-- fl.pending_posting_held_rules) refuses a 3xxx posting by what it is "against": the entry's first
-- revenue/expenditure leg. It looked for that leg in the statement's transition table (new_postings)
-- only, and ran only when the statement held a 3xxx account. The journal accepts one entry's
-- postings in several INSERT statements of a transaction (fl.import_payments writes an entry's 1004
-- credit and its debits in two; the owner's raw SQL may do the same), so an entry split over two
-- statements escaped: Dr 3001 in one, Cr 4001 in the next (the second holds no 3xxx account: the rule
-- never ran), or 4001 first (the second's 3001 found nothing "against" beside it) — a manual entry
-- moving a result into the fund balance committed, while the same rows in one statement are refused
-- fund_balance_close_only.
--
-- Chosen: (c) judge from the table, per statement. An AFTER statement trigger sees the journal with
-- the statement's rows in it, so the rule now reads the entry's legs from fl.posting (held:
-- fl.pending_posting) and runs for every entry of the statement that has a 3xxx, 4xxx or 5xxx leg in
-- the statement and a 3xxx leg in the table. The statement that completes the pair (a 3xxx leg and a
-- revenue/expenditure leg) always holds one of the two, so whatever the order of the statements, the
-- entry is judged with both, in the statement that makes it bad; the refusal is the rule's own
-- (code fund_balance_close_only, same words, same SQLSTATE). A SAVEPOINT changes nothing (the rows
-- of the earlier statement are in the table until rolled back, and then they are gone).
-- Not chosen: (a) refusing any entry whose postings come in more than one statement — simplest, but
-- fl.import_payments writes every entry in two statements (rewriting that function and the tests
-- whose raw SQL writes an entry leg by leg is a larger change than the rule); (b) a deferred
-- constraint trigger at commit — PostgreSQL's constraint triggers are per row, one call per posting
-- at commit on every write path.
--
-- Swept: the other statement triggers reading new_postings joined by entry_id do not depend on an
-- entry's OTHER legs: category component (0115) and shortfall clearing (0101) judge a leg by its
-- account and its entry's row (kind, source, book), which one statement or several see alike; the
-- entry's balance is judged at commit (seal_transaction, 0065) from the table; fl.posting_inserted's
-- checks (0159) are per (entry, account) row or per account. Those parts are unchanged here.
--
-- Cost: the statement count of the trigger is unchanged (the prefilter stays one statement; the fund
-- rule's second statement runs, as before, only when an entry has a 3xxx leg). The prefilter adds,
-- per entry of the statement with a 3xxx/4xxx/5xxx leg, one index probe of fl.posting by entry
-- (posting_entry) and its legs' accounts by key — two rows for a usual entry.
-- Both functions are redefined from their latest definitions (0168, 0169), SET clauses kept. The fund
-- rule's part now begins `IF fund_ent IS NOT NULL THEN` in both (the red-team tests switch it off by it).

CREATE OR REPLACE FUNCTION fl.posting_account_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  cat_acc   int[];
  fund_ent  bigint[];
  short_acc bigint[];
  bad record;
BEGIN
  -- The statement's distinct accounts, each read once by its key; each rule's prefilter:
  --   (0115) a revenue or expenditure account of a component that its book's list does not let carry
  --          it (the book read only for such an account);
  --   (0088) (0171) the entries to judge: an entry of the statement with a 3xxx, 4xxx or 5xxx leg in it
  --          that has a fund balance leg 3xxx in the journal (this statement's or an earlier one's) —
  --          one probe of posting_entry per such entry;
  --   (0101) a 4101.shortfall account.
  WITH a AS MATERIALIZED (
    SELECT a.id, a.chart_code, c.off
      FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
      JOIN LATERAL (SELECT y.id, y.book, y.chart_code, y.component FROM fl.account y WHERE y.id = g.account_id OFFSET 0) a ON true
      LEFT JOIN LATERAL (SELECT true AS off FROM fl.book b
                          WHERE a.component <> '' AND pg_catalog.left(a.chart_code, 1) IN ('4', '5') AND b.code = a.book
                            AND fl.category_component_problem(a.chart_code, a.component, b.pooled_component) IS NOT NULL
                         OFFSET 0) c ON true)
  SELECT (SELECT pg_catalog.array_agg(a.id) FILTER (WHERE a.off) FROM a),
         (SELECT pg_catalog.array_agg(n.entry_id)
            FROM (SELECT DISTINCT x.entry_id FROM new_postings x
                   WHERE x.account_id OPERATOR(pg_catalog.=) ANY
                         (SELECT a.id FROM a WHERE pg_catalog.left(a.chart_code, 1) IN ('3', '4', '5'))) n
           WHERE EXISTS (SELECT 1 FROM fl.posting p JOIN fl.account pa ON pa.id = p.account_id
                          WHERE p.entry_id = n.entry_id AND pg_catalog.left(pa.chart_code, 1) = '3')),
         (SELECT pg_catalog.array_agg(a.id) FILTER (WHERE a.chart_code = '4101.shortfall') FROM a)
    INTO cat_acc, fund_ent, short_acc;

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

  -- (0088, 0095) fund balance: 0095's fl.posting_fund_balance, its second statement — (0171) over the
  -- entry's legs in the journal, every statement's, not only this statement's (new_postings)
  IF fund_ent IS NOT NULL THEN
    SELECT e.id, e.kind, e.book, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
      FROM (SELECT DISTINCT p.entry_id, p.account_id FROM fl.posting p
             WHERE p.entry_id OPERATOR(pg_catalog.=) ANY (fund_ent)) g
      JOIN fl.entry e ON e.id = g.entry_id
      JOIN fl.account a ON a.id = g.account_id AND pg_catalog.left(a.chart_code, 1) = '3'
      LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = e.book) c ON true
      LEFT JOIN LATERAL (SELECT ra.chart_code FROM fl.posting rp JOIN fl.account ra ON ra.id = rp.account_id
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

CREATE OR REPLACE FUNCTION fl.pending_posting_held_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  cat   boolean;
  fund_ent bigint[];
  short boolean;
  bad record;
BEGIN
  -- The statement's distinct accounts, each read once by its key: is any of them
  --   (0115) a revenue or expenditure account of a component (its book's list is read by the rule),
  --   (0101) a 4101.shortfall account?
  -- (0088) (0171) and the held entries to judge: one of the statement with a 3xxx, 4xxx or 5xxx leg in
  --   it that has a fund balance leg 3xxx held (this statement's or an earlier one's) — one probe of
  --   the primary key (pending_id, pos) per such entry.
  WITH a AS MATERIALIZED (
    SELECT a.id, a.chart_code, a.component
      FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
      JOIN LATERAL (SELECT y.id, y.chart_code, y.component FROM fl.account y WHERE y.id = g.account_id OFFSET 0) a ON true)
  SELECT coalesce((SELECT pg_catalog.bool_or(a.component <> '' AND pg_catalog.left(a.chart_code, 1) IN ('4', '5')) FROM a), false),
         (SELECT pg_catalog.array_agg(n.pending_id)
            FROM (SELECT DISTINCT x.pending_id FROM new_postings x
                   WHERE x.account_id OPERATOR(pg_catalog.=) ANY
                         (SELECT a.id FROM a WHERE pg_catalog.left(a.chart_code, 1) IN ('3', '4', '5'))) n
           WHERE EXISTS (SELECT 1 FROM fl.pending_posting p JOIN fl.account pa ON pa.id = p.account_id
                          WHERE p.pending_id = n.pending_id AND pg_catalog.left(pa.chart_code, 1) = '3')),
         coalesce((SELECT pg_catalog.bool_or(a.chart_code = '4101.shortfall') FROM a), false)
    INTO cat, fund_ent, short;

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

  -- (0088, 0095) fund balance: 0095's fl.pending_posting_fund_balance, its statement — (0171) over the
  -- held entry's legs, every statement's, not only this statement's (new_postings)
  IF fund_ent IS NOT NULL THEN
    SELECT pe.kind, pe.book, pe.idempotency_key, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
      FROM (SELECT DISTINCT p.pending_id, p.account_id FROM fl.pending_posting p
             WHERE p.pending_id OPERATOR(pg_catalog.=) ANY (fund_ent)) g
      JOIN LATERAL (SELECT y.chart_code FROM fl.account y
                     WHERE y.id = g.account_id AND pg_catalog.left(y.chart_code, 1) = '3' OFFSET 0) a ON true
      JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.id, y.reverses FROM fl.pending_entry y
                     WHERE y.id = g.pending_id OFFSET 0) pe ON true
      LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = pe.book) c ON true
      LEFT JOIN LATERAL (SELECT ra.chart_code FROM fl.pending_posting rp JOIN fl.account ra ON ra.id = rp.account_id
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
