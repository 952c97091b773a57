-- 0088 (ATTACK11 Y3): the fund balance (3xxx, 一般基金结余) is the year-end close's to move.
--
-- 0082 refused reversing a year_close entry into the next year. The two city users it refused then
-- posted the same thing as a held manual entry, Dr 3001 / Cr 4001 dated in the open year, and
-- confirmed it (maker-checker of the city): the closed year's revenue counted in the open year's
-- result — the year-end rule's current balance C — shrinking its deficit and the local government's
-- share. Two city users may write most entries together by design; what was missing is a rule of
-- the books: 3001 holds the closed years' results and the audited openings, and nothing else moves it.
--
-- Who writes 3xxx (every writer in sql/, swept): the year-end close (kind year_close: Dr 4xxx / Cr
-- 3001, Dr 3001 / Cr 5xxx), the audited openings (kind opening: the city proper's opening post and
-- a county's handover open, Dr 100x / Cr 3001), and the reversal of an opening (a reversal mirrors
-- its original: reversal_mirrors; a year_close is never reversed: 0082). The handover transfer up
-- (上划: Dr 1003 special / Cr 100x legacy) and every other workflow leave 3001 alone.
--
-- The rule (code fund_balance_close_only): an entry of any other workflow kind (collections,
-- payments, interest, transfers, clearings …) never moves 3xxx; a manual entry — held or posted, any
-- role, any path:
--   * it never moves 3xxx against revenue or expenditure (4xxx/5xxx): moving a result into or out
--     of the fund balance is what the year-end close does;
--   * once its book has closed a year it never moves 3xxx at all: 3001 then carries closed years'
--     results, and a prior year's figures are corrected by an entry of the open year on the revenue
--     or expenditure account concerned (cash basis: it is this year's figure), or by reversing the
--     entry in error.
--   Before a book's first close, an opening balance recorded by hand against a bank or other
--   balance-sheet account (Dr 1003 special / Cr 3001: held for a second person, the city's to
--   confirm) is still taken: no closed year's result is in 3001 yet.
-- Enforced by two statement triggers: fl.posting_fund_balance on the journal (fl.posting: whatever
-- path writes the entry, fl._post by the DBA included) and fl.pending_posting_fund_balance on held
-- postings, so such an entry is refused when it is held, not only when it is confirmed. The
-- refusal is Chinese first and says what to do instead. Both verdicts re-derive it
-- (ledger.core.rules, workflows: fund_balance_close_only) for the entries above this migration's
-- rule point (fl.rule_point 'fund_balance_close_only', 0068's mechanism): an honest manual 3001
-- entry written before the upgrade stays whole.

CREATE FUNCTION fl._fund_balance_writer(p_kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT p_kind IN ('year_close', 'opening', 'reversal')
$$;
REVOKE ALL ON FUNCTION fl._fund_balance_writer(text) FROM PUBLIC;

CREATE FUNCTION fl._fund_balance_refuse(p_what text, p_kind text, p_book text, p_chart text, p_closed int,
                                        p_against text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF p_against IS NOT NULL THEN
    PERFORM fl.refuse('fund_balance_close_only', format(
      '%s (a %s entry of book %s) moves fund balance %s against %s: moving a result into or out of the fund balance '
      'is the year-end close''s alone (close year); record revenue or expenditure on its own account against the '
      'bank or other balance-sheet account it concerns, dated in the open year', p_what, p_kind, p_book, p_chart,
      p_against), 'insufficient_privilege');
  END IF;
  IF p_closed IS NULL THEN
    PERFORM fl.refuse('fund_balance_close_only', format(
      '%s (a %s entry of book %s) moves fund balance %s: no %s entry does; the fund balance moves only by the '
      'year-end close, the audited openings (opening post, handover open) and their reversals',
      p_what, p_kind, p_book, p_chart, p_kind), 'insufficient_privilege');
  END IF;
  PERFORM fl.refuse('fund_balance_close_only', format(
    '%s (a %s entry of book %s) moves fund balance %s, but book %s has closed year %s: the fund balance now moves '
    'only by the year-end close, the audited openings and their reversals; correct a closed year''s figures with an '
    'entry of the open year on the revenue or expenditure account concerned (it counts in this year''s result), or '
    'reverse the entry in error (entry reverse)', p_what, p_kind, p_book, p_chart, p_book, p_closed),
    'insufficient_privilege');
END $$;
REVOKE ALL ON FUNCTION fl._fund_balance_refuse(text, text, text, text, int, text) FROM PUBLIC;

-- The journal: only statements that post on a 3xxx account look further (one pass over the
-- statement's accounts; an import touches none).
CREATE FUNCTION fl.posting_fund_balance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  acc bigint[];
  bad record;
BEGIN
  SELECT pg_catalog.array_agg(a.id) INTO acc
    FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.id, y.chart_code FROM fl.account y WHERE y.id = g.account_id OFFSET 0) a ON true
   WHERE pg_catalog.left(a.chart_code, 1) = '3';
  IF acc IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT e.id, e.kind, e.book, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
    FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
           WHERE x.account_id OPERATOR(pg_catalog.=) ANY (acc)) g
    JOIN fl.entry e ON e.id = g.entry_id
    JOIN fl.account a ON a.id = g.account_id
    LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = e.book) c ON true
    LEFT JOIN LATERAL (SELECT ra.chart_code FROM new_postings rp JOIN fl.account ra ON ra.id = rp.account_id
                        WHERE rp.entry_id = e.id AND pg_catalog.left(ra.chart_code, 1) IN ('4', '5')
                        ORDER BY rp.id LIMIT 1) r ON true
   WHERE NOT fl._fund_balance_writer(e.kind) AND (e.kind <> 'manual' OR c.y IS NOT NULL OR r.chart_code IS NOT NULL)
   ORDER BY e.id
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl._fund_balance_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.chart_code, bad.closed, bad.against);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.posting_fund_balance() FROM PUBLIC;
CREATE TRIGGER posting_fund_balance AFTER INSERT ON fl.posting REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_fund_balance();

-- Held entries: refused when held (fl._hold, or any INSERT of held postings).
CREATE FUNCTION fl.pending_posting_fund_balance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  SELECT pe.kind, pe.book, pe.idempotency_key, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
    FROM (SELECT DISTINCT x.pending_id, x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.chart_code FROM fl.account y
                   WHERE y.id = g.account_id AND pg_catalog.left(y.chart_code, 1) = '3' OFFSET 0) a ON true
    JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.id FROM fl.pending_entry y
                   WHERE y.id = g.pending_id OFFSET 0) pe ON true
    LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = pe.book) c ON true
    LEFT JOIN LATERAL (SELECT ra.chart_code FROM new_postings rp JOIN fl.account ra ON ra.id = rp.account_id
                        WHERE rp.pending_id = pe.id AND pg_catalog.left(ra.chart_code, 1) IN ('4', '5')
                        ORDER BY rp.pos LIMIT 1) r ON true
   WHERE NOT fl._fund_balance_writer(pe.kind) AND (pe.kind <> 'manual' OR c.y IS NOT NULL OR r.chart_code IS NOT NULL)
   ORDER BY pe.id
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl._fund_balance_refuse(bad.idempotency_key, bad.kind, bad.book,
                                    bad.chart_code, bad.closed, bad.against);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.pending_posting_fund_balance() FROM PUBLIC;
CREATE TRIGGER pending_posting_fund_balance AFTER INSERT ON fl.pending_posting
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION fl.pending_posting_fund_balance();

SELECT fl._rule_takes_effect('fund_balance_close_only', '0088');
