-- 0095 (ATTACK13 W4): the audited openings and the reversals are held to the fund balance rule.
--
-- 0088 (ATTACK11 Y3) made the fund balance 3xxx (一般基金结余) the year-end close's to move, but
-- exempted the kinds opening and reversal (fl._fund_balance_writer) from every check, whatever
-- accounts they name. After book RES closed 2023 the two city users reversed the book's 2023
-- opening into 2024 and posted a "corrected" opening (fl.post_opening takes any accounts) with
-- Dr 3001 / Cr 4001 beside it: the closed year's surplus counted as the open year's revenue — the
-- year-end rule's current balance C — Y3's effect again, verify green. The reversal alone is the
-- Dr 3001 / Cr 1003 that 0088 refuses as a manual entry once the book closed a year.
--
-- Two rules, same code fund_balance_close_only (Chinese first, saying what to do instead):
--   1. Only the year-end close moves 3xxx against revenue or expenditure (4xxx/5xxx). An opening
--      carries balance-sheet balances only: banks, receivables and payables against the fund
--      balance (opening post: the city proper's; handover open: a county's, always Dr 100x legacy /
--      Cr 3001). Refused on the journal (fl.posting_fund_balance: whatever path writes the entry,
--      fl._post by the DBA included) and when held (fl.pending_posting_fund_balance). A reversal is
--      judged by what it reverses (it mirrors its original exactly: reversal_mirrors, at commit);
--      a "reversal" that reverses no entry is no fund balance writer and moves no 3xxx at all.
--   2. An entry dated in a year its book has closed (any year up to the book's last close) that
--      moves 3xxx is not reversed: the reversal would move a closed year's fund balance in the open
--      year. A closed year's figures are corrected on revenue or expenditure in the open year (as
--      0082 says for the close itself). Refused by fl.reversal_allowed_of — fl.reverse_entry when
--      the reversal is asked for (nothing is held), and the BEFORE INSERT row trigger
--      entry_reversal_allowed on every path that writes a reversal (a held reversal confirmed after
--      the close, fl._post). A reversal of an entry of a year still open (the city's opening posted
--      after the close, corrected in its own year) stays allowed.
-- Not a rule (0093 had it and was taken back): "no city opening after a close". The city proper's
-- opening of a book and component not yet opened is posted after a close in the officers' guide
-- (the city's audited 2025 opening, after the 2024 close) and stays allowed: it names a bank or
-- other balance-sheet account, so no year's result moves (rule 1), and it is recorded once
-- (opening_once: a second one needs the first reversed, which rule 2 refuses for a closed year's).
-- Left as 0088 left it (ATTACK11 Y3's stated limit): a manual Dr 1003 / Cr 3001 before the book's
-- first close is an opening balance by hand, and the acceptance years record theirs that way.
--
-- Both verdicts (ledger.core.rules, workflows: fund_balance_close_only, online and verify --offline)
-- re-derive both rules for the entries above this migration's rule point (fl.rule_point
-- 'fund_balance_openings', 0068's mechanism): an opening or reversal written honestly under 0088
-- before the upgrade stays whole.
--
-- fl._fund_balance_refuse, fl.posting_fund_balance and fl.pending_posting_fund_balance are their
-- latest migrated definitions (0088), fl.reversal_allowed_of its latest (0091), each changed only
-- where "(0095" says.

CREATE OR REPLACE FUNCTION fl._fund_balance_refuse(p_what text, p_kind text, p_book text, p_chart text, p_closed int,
                                                   p_against text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  -- (0095, ATTACK13 W4) an opening against revenue or expenditure; a reversal that reverses nothing
  IF p_kind = 'opening' THEN
    PERFORM fl.refuse('fund_balance_close_only', format(
      '%s (an opening of book %s) moves fund balance %s against %s: an opening carries balance-sheet balances only '
      '(a bank, receivable or payable against the fund balance); moving a result into or out of the fund balance is '
      'the year-end close''s alone, and a closed year''s figures are corrected with an entry of the open year on the '
      'revenue or expenditure account concerned', p_what, p_book, p_chart, p_against), 'insufficient_privilege');
  END IF;
  IF p_kind = 'reversal' THEN
    PERFORM fl.refuse('fund_balance_close_only', format(
      '%s (a reversal of book %s that reverses no entry) moves fund balance %s: a reversal moves the fund balance only '
      'as the exact mirror of the entry it reverses (fundledger entry reverse)', p_what, p_book, p_chart),
      'insufficient_privilege');
  END IF;
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

-- (0095) Which entry's 3xxx posting the rule refuses: 0088's (a manual entry against 4xxx/5xxx or
-- after its book's first close; any other kind but the close, an opening and a reversal), an
-- opening against 4xxx/5xxx, a reversal that reverses nothing.
CREATE FUNCTION fl._fund_balance_bad(p_kind text, p_closed int, p_against text, p_reverses bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE p_kind
    WHEN 'year_close' THEN false
    WHEN 'opening' THEN p_against IS NOT NULL
    WHEN 'reversal' THEN p_reverses IS NULL
    WHEN 'manual' THEN p_closed IS NOT NULL OR p_against IS NOT NULL
    ELSE true END
$$;
REVOKE ALL ON FUNCTION fl._fund_balance_bad(text, int, text, bigint) FROM PUBLIC;

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
  SELECT e.id, e.kind, e.book, a.chart_code, c.y AS closed, r.chart_code AS against INTO bad
    FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
           WHERE x.account_id OPERATOR(pg_catalog.=) ANY (acc)) g
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
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION fl.pending_posting_fund_balance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
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
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION fl.reversal_allowed_of(o fl.entry) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  c      fl.register_clearing;
  it     fl.register_item;
  closed int;
  fb     text;
BEGIN
  IF o.kind = 'year_close' THEN
    PERFORM fl.refuse('reversal_year_closed', format(
      '%s is book %s''s close of year %s, which is not reversed: the year stays closed, and its revenue or '
      'expenditure would count in another year''s result; correct the closed year''s figures with an entry of the '
      'open year instead', fl.entry_label(o.id), o.book, extract(year FROM o.entry_date)::int),
      'insufficient_privilege');
  END IF;
  -- (0091, ATTACK11 Y7) What the reversal would undo on the register (fl.reversal_unclears) must
  -- leave every item between nothing and its amount; an entry reversed already is not judged again.
  IF NOT EXISTS (SELECT 1 FROM fl.entry x WHERE x.reverses = o.id) THEN
    -- (0095, ATTACK13 W4) An entry of a closed year that moves the fund balance is not reversed:
    -- its reversal would move that year's fund balance in the open year (the close's alone).
    SELECT pg_catalog.max(yc.year) INTO closed FROM fl.year_close yc WHERE yc.book = o.book;
    IF closed IS NOT NULL AND extract(year FROM o.entry_date)::int <= closed THEN
      SELECT a.chart_code INTO fb FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
       WHERE p.entry_id = o.id AND pg_catalog.left(a.chart_code, 1) = '3' ORDER BY p.id LIMIT 1;
      IF FOUND THEN
        PERFORM fl.refuse('fund_balance_close_only', format(
          '%s (book %s, dated %s) moves fund balance %s, and book %s has closed year %s: its reversal would move that '
          'closed year''s fund balance in the open year, which only the year-end close does; correct the closed '
          'year''s figures with an entry of the open year on the revenue or expenditure account concerned (it counts '
          'in this year''s result)', fl.entry_label(o.id), o.book, o.entry_date, fb, o.book, closed),
          'insufficient_privilege');
      END IF;
    END IF;
    FOR c IN SELECT * FROM fl.register_clearing x WHERE x.entry_id = o.id ORDER BY x.id LOOP
      SELECT * INTO it FROM fl.register_item i WHERE i.id = c.item_id;
      PERFORM fl._unclear_check(o.id, c, it);
    END LOOP;
  END IF;
END $$;

SELECT fl._rule_takes_effect('fund_balance_openings', '0095');
