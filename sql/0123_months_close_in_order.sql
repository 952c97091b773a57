-- 0123 (ATTACK16 C2): months close in order — a closed month is a prefix of the books.
--
-- fl.close_period closed any one month whose first day was given, in any order, and the posting
-- checks refuse only an entry dated *in* a closed month. So a month nobody closed under a closed
-- one stayed open: a county officer alone (a 1101/2001 reclass posts at once) dated an entry
-- in December 2023 after January 2024 was closed, and the balance sheet of closed January — the
-- figures the bureau reported, with a period digest filed at its close — changed; a reviewer
-- who closed March with February skipped left February open to a collection that changed
-- March's closing balance of the special account.
--
-- The close now takes the months before it as they are, in order, from the ledger's first
-- year (setting first_year) on:
--   * a month already closed stays as it is;
--   * an earlier open month that holds an entry refuses the close (close that month first);
--   * an earlier open December of a year that holds entries and has no year close refuses it
--     too, whether or not the December itself holds entries (close that year first: the year
--     close posts its closing entries dated 31 December and then closes its months; a December
--     closed first would leave the year unclosable);
--   * every other earlier open month (nothing is dated in it) is closed with it, reason
--     "closed with YYYY-MM (no entries)", so nothing can be dated there afterwards.
-- And a December of a year that holds entries is not closed as a month while its year has no
-- close (ATTACK16 C5: closing it made the year unclosable, the close's own entries being dated in
-- it); the year close closes it.
-- The posting checks are unchanged (a month is closed or not): every path that posts (manual,
-- imports' pre-checks, held entries confirmed, the raw INSERT's trigger) and both verdicts
-- (verify's closed_periods, the independent verdict's) already judge an entry by its month's
-- close. A ledger closed out of order before this migration keeps its open months: the next
-- close after it refuses until they are closed, each named.

CREATE OR REPLACE FUNCTION fl.close_period(p_month date, p_reason text DEFAULT ''::text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  u fl.app_user := fl.require_role(ARRAY['reviewer'], 'close periods');
  v_first date;
  bad record;
BEGIN
  IF extract(day FROM p_month) <> 1 THEN
    PERFORM fl.refuse('closed_period_month', 'a period is a month: give its first day');
  END IF;
  -- Serialise with writers: an entry in flight for this month either commits before
  -- the close or is refused after it. A writer idle in its transaction is ended (0018).
  -- Taken before the months are read, so no entry lands in an empty month between the
  -- reading and its close.
  PERFORM fl._lock_closed_period();
  -- (ATTACK16 C5) A December is closed by its year close: the close posts its closing entries
  -- dated 31 December and then closes the year's months, and an entry dated in a closed month is
  -- refused — the close's own too. A December closed as a month made its year unclosable for
  -- ever (no shortfall rule, no government share, no later year's close).
  IF extract(month FROM p_month) = 12
     AND NOT EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = extract(year FROM p_month)::int)
     AND EXISTS (SELECT 1 FROM fl.entry e WHERE e.entry_date >= date_trunc('year', p_month)::date
                                            AND e.entry_date < (date_trunc('year', p_month) + interval '1 year')::date) THEN
    PERFORM fl.refuse('december_close', format(
      '%s is closed by the year close of %s, not as a month: the year close dates its closing entries %s-12-31 and '
      'then closes the year''s months; close year %s instead (close year --year %s --date %s-12-31); nothing was closed',
      to_char(p_month, 'YYYY-MM'), extract(year FROM p_month), extract(year FROM p_month), extract(year FROM p_month),
      extract(year FROM p_month), extract(year FROM p_month)));
  END IF;
  v_first := make_date(coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000), 1, 1);
  IF p_month > v_first THEN
    WITH months AS (
           SELECT g.m::date AS m FROM generate_series(v_first, p_month - interval '1 month', interval '1 month') g(m)),
         used AS (
           SELECT DISTINCT date_trunc('month', e.entry_date)::date AS m FROM fl.entry e
            WHERE e.entry_date >= v_first AND e.entry_date < p_month),
         used_years AS (SELECT DISTINCT extract(year FROM used.m)::int AS y FROM used)
    SELECT ms.m, (used.m IS NOT NULL) AS has_entries
      INTO bad
      FROM months ms LEFT JOIN used ON used.m = ms.m
     WHERE NOT EXISTS (SELECT 1 FROM fl.closed_period c WHERE c.month = ms.m)
       AND (used.m IS NOT NULL
            OR (extract(month FROM ms.m) = 12
                AND extract(year FROM ms.m)::int IN (SELECT y FROM used_years)
                AND NOT EXISTS (SELECT 1 FROM fl.year_close yc WHERE yc.year = extract(year FROM ms.m)::int)))
     ORDER BY ms.m LIMIT 1;
    IF FOUND AND bad.has_entries AND extract(month FROM bad.m) = 12 THEN
      PERFORM fl.refuse('period_order', format(
        '%s cannot be closed while %s, which holds entries, is open: months close in order, and a December is '
        'closed by its year close; close year %s first (close year --year %s --date %s-12-31); nothing was closed',
        to_char(p_month, 'YYYY-MM'), to_char(bad.m, 'YYYY-MM'), extract(year FROM bad.m), extract(year FROM bad.m),
        extract(year FROM bad.m)));
    ELSIF FOUND AND bad.has_entries THEN
      PERFORM fl.refuse('period_order', format(
        '%s cannot be closed while %s, which holds entries, is open: months close in order; close period %s first; '
        'nothing was closed', to_char(p_month, 'YYYY-MM'), to_char(bad.m, 'YYYY-MM'), to_char(bad.m, 'YYYY-MM')));
    ELSIF FOUND THEN
      PERFORM fl.refuse('period_order', format(
        '%s cannot be closed while year %s, which holds entries, has no year close: its December is closed by the '
        'year close; close year %s first (close year --year %s --date %s-12-31); nothing was closed',
        to_char(p_month, 'YYYY-MM'), extract(year FROM bad.m), extract(year FROM bad.m), extract(year FROM bad.m),
        extract(year FROM bad.m)));
    END IF;
    INSERT INTO fl.closed_period (month, reason)
    SELECT g.m::date, format('closed with %s (no entries)', to_char(p_month, 'YYYY-MM'))
      FROM generate_series(v_first, p_month - interval '1 month', interval '1 month') g(m)
    ON CONFLICT DO NOTHING;
  END IF;
  INSERT INTO fl.closed_period (month, reason) VALUES (p_month, coalesce(p_reason, '')) ON CONFLICT DO NOTHING;
  RETURN FOUND;
END $function$;
