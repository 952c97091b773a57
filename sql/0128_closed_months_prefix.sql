-- 0128 (ATTACK16b D1, D3): what 0123 left on a ledger upgraded with months closed the old way.
--
-- D3. Before 0123 nothing refused `close period 2024-12` (the monthly routine); the year close then
-- posts its closing entries dated 31 December and an entry dated in a closed month was refused, the
-- close's own too: on a ledger upgraded with its December so closed the year was unclosable for
-- ever (no shortfall rule, no government share, no later year's close, and 0123 refused every later
-- month's close "close year first"). The year close's own entries (kind year_close, written only by
-- fl.close_year, once a year: year_closed; dated 31 December: 0100) now go into their December
-- whoever closed it. They are judged by the year close's own rules (year_close_date,
-- year_close_result); verify's closed_periods and the independent verdict pass them over likewise.
-- 0123 still refuses closing December as a month: the year close closes it.
--
-- D1. 0123 made months close in order from then on; a ledger closed out of order before it kept its
-- open months under a closed one (January and March closed, February open): an officer alone dated
-- a reclass in February and closed March's balance sheet moved. The posting check now refuses an
-- entry dated before the latest closed month as well as one dated in a closed month (period_closed,
-- naming the closed month): a closed month is a prefix of the books on every ledger, whatever wrote
-- the closes. What was dated in such a month before stays (the verdicts judge it as before: an
-- entry written into a month under a closed one after 0128 is refused here, and one a superuser
-- writes with the trigger off is not named by a verdict — docs/security.md, ATTACK16b D1).
-- The year close's own entries are exempt as above (its December may be under a closed January).

-- fl.entry_inserted below is 0105's definition (its latest), changed only where "(0128)" says.

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
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  -- (0096) The three checks below read in one statement, not five (the first year's setting,
  -- the region's today, the closed month or date range, the closed year, the officer's kinds):
  -- each is the query it was, refused in the same order with the same words.
  SELECT lim.first, lim.last, b1.id, b1.entry_date, b1.month, b2.id, b2.entry_date, b2.book, b2.y, b3.kind, lim.bad_book
    INTO first, last, bad_id, bad_date, bad_month, yc_id, yc_date, yc_book, yc_y, bad_kind, bad_book
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
           OFFSET 0) lim   -- (once, not per entry: a pulled-up subquery is evaluated where it is used)
    LEFT JOIN LATERAL (
      SELECT n.id, n.entry_date,
             -- a date outside the ledger's years is told as such (entry_date_range), as before
             CASE WHEN n.entry_date < make_date(lim.first, 1, 1) OR n.entry_date > make_date(lim.last, 12, 31) THEN NULL
                  ELSE coalesce(c.month, CASE WHEN n.entry_date < lim.closed_max AND NOT yc.own AND NOT yc.undo
                                              THEN lim.closed_max END) END AS month
        FROM new_entries n
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
       LIMIT 1) b1 ON true
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


