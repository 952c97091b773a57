-- 0093 (ATTACK13 W4): the audited openings and the reversals are held to the fund balance rule too.
--
-- 0088 (ATTACK11 Y3) made the fund balance 3xxx the year-end close's to move, but exempted three
-- kinds (year_close, opening, reversal: fl._fund_balance_writer) from every check, whatever accounts
-- they name. After book RES closed 2023 the two city users reversed the book's 2023 opening into
-- 2024 and posted a "corrected" opening (fl.post_opening, which takes any accounts) with Dr 3001 /
-- Cr 4001 beside it: the closed year's surplus counted as the open year's revenue, Y3's effect again,
-- verify green. And reversing the 2023 opening after the close is itself Dr 3001 / Cr 1003 — the
-- entry 0088 refuses as a manual one once the book closed a year.
--
-- The rule now judges accounts and dates, not kinds (same code fund_balance_close_only, same
-- triggers, redefined from 0088):
--   * only the year-end close moves 3xxx against revenue or expenditure (4xxx/5xxx): an opening
--     carries balance-sheet balances (1xxx/2xxx/3xxx), and a reversal mirrors what it reverses;
--   * once its book has closed a year, an opening moves 3xxx only as a county's handover opening
--     (handover open: key opening:<unit>:<reference>, BRIEF §5 — a county may hand over after the
--     city's first close). The city proper's opening (opening post, key opening-city:…) is recorded
--     once, at go-live, before the first close;
--   * a reversal is held to the rule of the entry it reverses at the reversal's date: a reversal of an
--     entry dated in a year its book has closed never moves 3xxx (0082's reversal_year_closed for the
--     close itself): a closed year's figures are corrected on revenue or expenditure in the open year.
--   Manual entries and the other kinds: as 0088.
-- Both verdicts re-derive it (ledger.core.rules, workflows), above 0088's rule point.

CREATE FUNCTION fl._fund_balance_refuse_late(p_what text, p_kind text, p_book text, p_chart text, p_closed int,
                                             p_orig text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF p_kind = 'opening' THEN
    PERFORM fl.refuse('fund_balance_close_only', format(
      '%s (an opening of book %s) moves fund balance %s, but book %s has closed year %s: the city proper''s opening '
      'balances are recorded once, before the first close (a county''s come by handover open); correct a closed '
      'year''s figures with an entry of the open year on the revenue or expenditure account concerned',
      p_what, p_book, p_chart, p_book, p_closed), 'insufficient_privilege');
  END IF;
  PERFORM fl.refuse('fund_balance_close_only', format(
    '%s (a reversal of %s, book %s) would move fund balance %s back in the open year, but %s is dated in a year book '
    '%s has closed (%s): a closed year''s fund balance is the close''s; correct that year''s figures with an entry of '
    'the open year on the revenue or expenditure account concerned (it counts in this year''s result)',
    p_what, p_orig, p_book, p_chart, p_orig, p_book, p_closed), 'insufficient_privilege');
END $$;
REVOKE ALL ON FUNCTION fl._fund_balance_refuse_late(text, text, text, text, int, text) FROM PUBLIC;

-- (kind, key, closed, against, year of the reversed entry) -> whether the rule refuses it.
CREATE FUNCTION fl._fund_balance_bad(p_kind text, p_key text, p_closed int, p_against text, p_orig_year int)
RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT p_kind <> 'year_close' AND (
           p_against IS NOT NULL
        OR p_kind NOT IN ('manual', 'opening', 'reversal')
        OR (p_closed IS NOT NULL AND (
                 p_kind = 'manual'
              OR (p_kind = 'opening' AND NOT pg_catalog.starts_with(p_key, 'opening:'))
              OR (p_kind = 'reversal' AND p_orig_year IS NOT NULL AND p_orig_year <= p_closed))))
$$;
REVOKE ALL ON FUNCTION fl._fund_balance_bad(text, text, int, text, int) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.posting_fund_balance() RETURNS trigger
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
  SELECT e.id, e.kind, e.book, a.chart_code, c.y AS closed, r.chart_code AS against, e.reverses,
         pg_catalog.date_part('year', o.entry_date)::int AS orig_year INTO bad
    FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
           WHERE x.account_id OPERATOR(pg_catalog.=) ANY (acc)) g
    JOIN fl.entry e ON e.id = g.entry_id
    JOIN fl.account a ON a.id = g.account_id
    LEFT JOIN fl.entry o ON o.id = e.reverses
    LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = e.book) c ON true
    LEFT JOIN LATERAL (SELECT ra.chart_code FROM new_postings rp JOIN fl.account ra ON ra.id = rp.account_id
                        WHERE rp.entry_id = e.id AND pg_catalog.left(ra.chart_code, 1) IN ('4', '5')
                        ORDER BY rp.id LIMIT 1) r ON true
   WHERE fl._fund_balance_bad(e.kind, e.idempotency_key, c.y, r.chart_code,
                              pg_catalog.date_part('year', o.entry_date)::int)
   ORDER BY e.id
   LIMIT 1;
  IF FOUND THEN
    IF bad.kind IN ('opening', 'reversal') AND bad.against IS NULL THEN
      PERFORM fl._fund_balance_refuse_late(fl.entry_label(bad.id), bad.kind, bad.book, bad.chart_code, bad.closed,
                                           CASE WHEN bad.reverses IS NULL THEN '' ELSE fl.entry_label(bad.reverses) END);
    END IF;
    PERFORM fl._fund_balance_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.chart_code, bad.closed, bad.against);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION fl.pending_posting_fund_balance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  SELECT pe.kind, pe.book, pe.idempotency_key, a.chart_code, c.y AS closed, r.chart_code AS against, pe.reverses INTO bad
    FROM (SELECT DISTINCT x.pending_id, x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.chart_code FROM fl.account y
                   WHERE y.id = g.account_id AND pg_catalog.left(y.chart_code, 1) = '3' OFFSET 0) a ON true
    JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.id, y.reverses FROM fl.pending_entry y
                   WHERE y.id = g.pending_id OFFSET 0) pe ON true
    LEFT JOIN fl.entry o ON o.id = pe.reverses
    LEFT JOIN LATERAL (SELECT pg_catalog.max(yc.year) AS y FROM fl.year_close yc WHERE yc.book = pe.book) c ON true
    LEFT JOIN LATERAL (SELECT ra.chart_code FROM new_postings rp JOIN fl.account ra ON ra.id = rp.account_id
                        WHERE rp.pending_id = pe.id AND pg_catalog.left(ra.chart_code, 1) IN ('4', '5')
                        ORDER BY rp.pos LIMIT 1) r ON true
   WHERE fl._fund_balance_bad(pe.kind, pe.idempotency_key, c.y, r.chart_code,
                              pg_catalog.date_part('year', o.entry_date)::int)
   ORDER BY pe.id
   LIMIT 1;
  IF FOUND THEN
    IF bad.kind IN ('opening', 'reversal') AND bad.against IS NULL THEN
      PERFORM fl._fund_balance_refuse_late(bad.idempotency_key, bad.kind, bad.book, bad.chart_code, bad.closed,
                                           CASE WHEN bad.reverses IS NULL THEN '' ELSE fl.entry_label(bad.reverses) END);
    END IF;
    PERFORM fl._fund_balance_refuse(bad.idempotency_key, bad.kind, bad.book,
                                    bad.chart_code, bad.closed, bad.against);
  END IF;
  RETURN NULL;
END $$;
