-- 0139 (issue 24): fl.entry_inserted's closed-month query (0128) runs only for a statement that has an
-- entry it could refuse — one dated outside the ledger's years, or on or before the last day of the
-- latest closed month. The same refusals, in the same order, with the same words.
--
-- 0128 put the closed-month prefix (the latest closed month's InitPlan, a lateral row per entry with
-- the year close's and the reversal's exemptions and its EXISTS subplan, a wider join and filter)
-- into the trigger's one statement. The executor initialises every node and expression of a cached
-- plan at each execution whether its branches run or not: the statement cost +0.13 M instructions
-- per posted-at-once entry of ~6.8 M (callgrind, bench/history/2026-12-07-write-path-conditions.md),
-- though no entry dated in an open month after the closed ones (every entry of a ledger closed month
-- by month, but a correction's reversal) can be refused by it. Now the first statement computes the
-- latest closed month and whether any entry of the statement is dated on or before its last day or
-- outside the years (an EXISTS over the statement's rows); 0128's query, unchanged, follows only then.
-- Every closed month is on or before the latest, so an entry dated after the latest's last day is in
-- no closed month and under none: the query would have found nothing.
--
-- fl.entry_inserted below is 0128's definition (its latest), changed only where "(0139)" says.

CREATE OR REPLACE FUNCTION fl.entry_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  first     int;
  last      int;
  bad_id    bigint;
  bad_date  date;
  bad_month date;
  yc_id     bigint;
  yc_date   date;
  yc_book   text;
  yc_y      int;
  bad_kind  text;
  bad_book  text;   -- (0105) a book that does not exist (entry_book_fkey's check)
  closed_max date;  -- (0139) the latest closed month
  near      boolean; -- (0139) an entry of the statement dated outside the ledger's years or on or before the
                    -- last day of the latest closed month: only then can the closed-month query find one
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  -- (0096) The three checks below read in one statement, not five (the first year's setting,
  -- the region's today, the closed month or date range, the closed year, the officer's kinds):
  -- each is the query it was, refused in the same order with the same words.
  -- (0139) The closed-month query (0128's b1) is its own statement, run only when an entry of this
  -- statement is dated outside the ledger's years or on or before the last day of the latest closed
  -- month (lim.near): every closed month is at most the latest, so an entry dated after that day is
  -- in no closed month and under none, and the query would find nothing. The executor initialises
  -- every node of a cached plan at each execution, taken or not: 0128's lateral rows made the one
  -- statement +0.13 M instructions per entry (bench/history/2026-12-07-write-path-conditions.md).
  SELECT l.first, l.last, l.closed_max, l.near, b2.id, b2.entry_date, b2.book, b2.y, b3.kind, l.bad_book
    INTO first, last, closed_max, near, yc_id, yc_date, yc_book, yc_y, bad_kind, bad_book
    FROM (SELECT lim.first, lim.last, lim.closed_max, lim.bad_book,
                 EXISTS (SELECT 1 FROM new_entries n
                          WHERE n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31)
                             OR n.entry_date < (lim.closed_max + interval '1 month')::date) AS near
            FROM (SELECT coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000) AS first,
                 extract(year FROM fl._region_today())::int + 1 AS last,
                 -- (0128, ATTACK16b D1) the latest closed month: nothing is dated before it either
                 (SELECT max(cp.month) FROM fl.closed_period cp) AS closed_max,
                 -- (0105) entry_book_fkey, checked here: the foreign key's FOR KEY SHARE lock on the
                 -- book's row was a WAL record per entry, and a MultiXact once two writers held it.
                 -- Books are never deleted and their codes never change (fl.reference_guard), so
                 -- "the book exists when the entry is inserted" is all the key guaranteed.
                 (SELECT d.book FROM (SELECT DISTINCT n.book FROM new_entries n) d
                   WHERE NOT EXISTS (SELECT 1 FROM fl.book bk WHERE bk.code = d.book)
                   ORDER BY d.book LIMIT 1) AS bad_book
           OFFSET 0) lim OFFSET 0) l   -- (once, not per entry: a pulled-up subquery is evaluated where it is used)
    -- (0039, ATTACK5 S4) Nothing is dated in a year before the last year its book closed:
    -- that year can never be closed again, and one fen there stopped every later year's close.
    -- A reversal dated in the same year as the entry it reverses is how such an entry is undone.
    LEFT JOIN LATERAL (
      SELECT n.id, n.entry_date, n.book, c.y
        FROM new_entries n
        JOIN (SELECT yc0.book, max(yc0.year) AS y FROM fl.year_close yc0 GROUP BY yc0.book) c ON c.book = n.book
       WHERE n.entry_date < make_date(c.y, 1, 1)
         AND NOT (n.kind = 'reversal' AND EXISTS (SELECT 1 FROM fl.entry r WHERE r.id = n.reverses
                                                    AND date_trunc('year', r.entry_date) = date_trunc('year', n.entry_date)))
       LIMIT 1) b2 ON true
    -- (0039, ATTACK5 S1) An officer posts by hand (manual entries, held when they move money or
    -- touch revenue, expenditure or the fund balance) and imports its unit's payments.
    -- Every other kind — collections and subsidies into the special account, openings,
    -- pre-allocations, disbursements, settlements, interest, closes — is a city role's record,
    -- whichever function or path wrote it.
    LEFT JOIN LATERAL (
      SELECT n.kind
        FROM new_entries n
       WHERE n.kind NOT IN ('manual', 'payments')
         AND EXISTS (SELECT 1 FROM fl.app_user u WHERE u.name = session_user AND u.role = 'officer')
       LIMIT 1) b3 ON true;
  IF near THEN   -- (0139) 0128's closed-month query, as it was
      SELECT n.id, n.entry_date,
             -- a date outside the ledger's years is told as such (entry_date_range), as before
             CASE WHEN n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31) THEN NULL
                  ELSE coalesce(c.month, CASE WHEN n.entry_date < lim.closed_max AND NOT yc.own AND NOT yc.undo
                                              THEN lim.closed_max END) END AS month
        INTO bad_id, bad_date, bad_month
        FROM (SELECT first AS first, last AS last, closed_max AS closed_max) lim
       CROSS JOIN new_entries n
         -- (0128, ATTACK16b D3) a year close's own closing entries, dated 31 December of the year it
         -- closes, go into that December whoever closed it (before 0123 the monthly routine could)
         -- ... and (0128) under a closed month, as under a closed year (0039), the one way out of an
         -- entry left there by a ledger written before: its reversal dated in the same year
         CROSS JOIN LATERAL (SELECT (n.kind = 'year_close' AND extract(month FROM n.entry_date) = 12
                                     AND extract(day FROM n.entry_date) = 31) AS own,
                                    (n.kind = 'reversal' AND EXISTS (SELECT 1 FROM fl.entry r WHERE r.id = n.reverses
                                       AND date_trunc('year', r.entry_date) = date_trunc('year', n.entry_date))) AS undo) yc
         LEFT JOIN fl.closed_period c ON c.month = date_trunc('month', n.entry_date)::date AND NOT yc.own
       WHERE c.month IS NOT NULL OR (n.entry_date < lim.closed_max AND NOT yc.own AND NOT yc.undo)
          OR n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31)
       LIMIT 1;
  END IF;
  -- (0105) First, as the foreign key's check (an AFTER ROW event) came before this trigger.
  IF bad_book IS NOT NULL THEN
    PERFORM fl.refuse('entry_book_fkey', format('an entry refers to book %s, which does not exist', bad_book),
                      'foreign_key_violation');
  END IF;
  -- (0128) an entry under a closed month in a year before a closed year is told by the year's
  -- refusal below (the more telling one, as before 0128)
  IF bad_id IS NOT NULL AND NOT coalesce(bad_month > bad_date AND yc_id IS NOT NULL, false) THEN
    IF bad_month IS NULL THEN
      PERFORM fl.refuse('entry_date_range', format(
        'entry dated %s refused: this ledger takes dates from %s (the region''s first handover year) to %s',
        bad_date, first, last));
    END IF;
    IF bad_month > bad_date THEN    -- (0128, ATTACK16b D1) an open month under a closed one
      PERFORM fl.refuse('period_closed', format(
        'entry dated %s refused: %s is closed, and nothing is dated on or before the last day of a closed month; '
        'date it in an open period after %s (a correction is a reversal dated there)',
        bad_date, to_char(bad_month, 'YYYY-MM'), to_char(bad_month, 'YYYY-MM')));
    END IF;
    PERFORM fl.refuse('period_closed',
      format('entry dated %s refused: the period %s is closed', bad_date, to_char(bad_date, 'YYYY-MM')));
  END IF;
  IF yc_id IS NOT NULL THEN
    PERFORM fl.refuse('entry_date_range', format(
      'entry dated %s refused: book %s closed year %s, and nothing may be dated in a year before it (such a year '
      'can no longer be closed); date it in an open period',
      yc_date, yc_book, yc_y));
  END IF;
  IF bad_kind IS NOT NULL THEN
    PERFORM fl.refuse('permission_denied', format(
      '%s is an officer and may not post %s entries: collections and subsidies, openings and the workflow''s '
      'money are recorded by finance or the bureau (an officer posts manual entries and its unit''s payments)',
      session_user, bad_kind), 'insufficient_privilege');
  END IF;
  -- (0065) No gate row: each entry's own deferred event (fl.seal_transaction) is the commit hook.
  RETURN NULL;
END $function$;
