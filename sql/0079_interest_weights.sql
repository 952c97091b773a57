-- 0079 (issue 15): an interest allocation records what its shares were computed from.
--
-- fl.allocate_interest (0017, held for a second person) refuses a table of shares that is not
-- the rule's: the bank's interest (p_total) shared by each unit[/component]'s sum of end-of-day
-- balances in the special account over the period (积数, fl.interest_shares), largest remainder.
-- The independent verdict could not re-derive it (interest_shares was a gap): the weights are
-- the balances as the hold saw them, and an entry written later but dated in the period changes
-- them. Now the held entry's source (and so the posted entry's) records the total and every
-- positive weight beside the shares, as a pre-allocation records its basis (0046):
--   "total": the interest the bank paid (fen), "weights": {"230822": 123456, "230881/…": …}.
-- ledger.core.fund_rules then judges every allocation's shares against the rule over the
-- recorded weights, and the recorded weights against the daily movements whenever no other
-- entry dated in the period was written after the hold. Entries posted before this migration
-- have no recorded weights: their shares are judged from the daily movements alone, under the
-- same condition.
--
-- fl.allocate_interest below is its latest migrated definition (0017's), changed only in the
-- source it builds (marked 0079) and with 0027's lock_timeout set in the definition (a CREATE
-- OR REPLACE drops the SET clauses it does not name).

CREATE OR REPLACE FUNCTION fl.allocate_interest(p_book text, p_date date, p_key text, p_total bigint, p_start date, p_end date,
                                     p_shares jsonb)
RETURNS TABLE (entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout TO '5s' AS $$
#variable_conflict use_column
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['finance'], 'allocate special-account interest');
  bad record;
  n   int;
  k   text;
BEGIN
  IF jsonb_typeof(p_shares) IS DISTINCT FROM 'array' OR jsonb_array_length(p_shares) = 0 THEN
    PERFORM fl.refuse('bad_document', 'expected a non-empty list of interest shares');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM fl.book b WHERE b.code = p_book) THEN
    PERFORM fl.refuse('account_book', format('unknown book ''%s''', p_book), 'foreign_key_violation');
  END IF;
  IF p_total IS NULL OR p_total <= 0 THEN
    PERFORM fl.refuse('posting_amount_positive', 'the interest to share must be a positive number of fen');
  END IF;
  IF p_start IS NULL OR p_end IS NULL OR p_date IS NULL OR p_start > p_end OR p_end > p_date THEN
    PERFORM fl.refuse('interest_period', format(
      'the interest period %s … %s must be a range of days ending on or before the entry date %s',
      coalesce(p_start::text, '?'), coalesce(p_end::text, '?'), coalesce(p_date::text, '?')));
  END IF;
  SELECT x->>'unit' AS unit, x->>'amount' AS amount INTO bad
    FROM jsonb_array_elements(p_shares) x
   WHERE jsonb_typeof(x) <> 'object' OR jsonb_typeof(x->'amount') IS DISTINCT FROM 'number'
      OR (x->>'amount')::numeric <> trunc((x->>'amount')::numeric) OR (x->>'amount')::numeric <= 0
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('posting_amount_positive', format('interest share of unit %s must be a positive number of fen',
                                                        coalesce(bad.unit, '?')));
  END IF;
  IF (SELECT sum((x->>'amount')::numeric) FROM jsonb_array_elements(p_shares) x) <> p_total THEN
    PERFORM fl.refuse('interest_shares', format(
      'the interest shares add up to %s, not to the %s the bank paid; nothing was posted',
      fl.fmt_fen((SELECT sum((x->>'amount')::numeric) FROM jsonb_array_elements(p_shares) x)), fl.fmt_fen(p_total)));
  END IF;
  SELECT count(*) INTO n FROM fl.interest_shares(p_book, p_total, p_start, p_end) s WHERE s.share > 0;
  IF n = 0 THEN
    PERFORM fl.refuse('interest_shares', format(
      'no unit held a positive balance in the %s special account over %s … %s; there is nobody to credit interest to',
      p_book, p_start, p_end));
  END IF;
  SELECT coalesce(s.unit, g.unit) AS unit, coalesce(s.component, g.component, '') AS component,
         s.share AS rule, g.amount AS given INTO bad
    FROM (SELECT * FROM fl.interest_shares(p_book, p_total, p_start, p_end) s0 WHERE s0.share > 0) s
    FULL JOIN (SELECT x->>'unit' AS unit, coalesce(x->>'component', '') AS component,
                      sum((x->>'amount')::numeric) AS amount, count(*) AS n
                 FROM jsonb_array_elements(p_shares) x GROUP BY 1, 2) g
      ON g.unit = s.unit AND g.component = s.component
   WHERE s.share IS DISTINCT FROM g.amount OR g.n > 1
   ORDER BY 1, 2 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('interest_shares', format(
      'the interest share of unit %s%s is %s, but the rule (average daily balance %s … %s, largest remainder) '
      'gives %s; nothing was posted (recompute the table: fundledger interest allocate)',
      bad.unit, CASE WHEN bad.component <> '' THEN ' ' || bad.component ELSE '' END,
      coalesce(fl.fmt_fen(bad.given), 'missing'), p_start, p_end, coalesce(fl.fmt_fen(bad.rule), 'nothing')));
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'an interest allocation needs an idempotency key');
  END IF;
  k := CASE WHEN p_key LIKE 'interest:%' THEN p_key ELSE 'interest:' || p_key END;
  -- Held for a second person (0017): finance allocates, the bureau or another finance user confirms.
  RETURN QUERY SELECT x.entry_id, x.status, x.held_id FROM fl._hold(u, 'interest',
    ARRAY[ROW(1, p_book, p_date, format('专户利息 special-account interest %s, %s', p_book, p_date),
              'interest', k, NULL, '',
              jsonb_build_object('shares', p_shares, 'from', p_start, 'to', p_end,
                                 -- (0079) what the shares were computed from: the total and each
                                 -- unit[/component]'s sum of end-of-day balances (positive only)
                                 'total', p_total,
                                 'weights', (SELECT jsonb_object_agg(s.unit || CASE WHEN s.component <> ''
                                                                                   THEN '/' || s.component ELSE '' END,
                                                                     s.weight ORDER BY s.unit, s.component)
                                               FROM fl.interest_shares(p_book, p_total, p_start, p_end) s
                                              WHERE s.weight > 0)), NULL)::fl.new_entry],
    (SELECT array_agg(ROW(1, (2 * s.i - 2 + l.pos)::int, p_book, CASE l.pos WHEN 1 THEN '1003' ELSE '4201' END,
                          s.x->>'unit', CASE l.pos WHEN 1 THEN 'special' ELSE '' END,
                          coalesce(s.x->>'component', ''), CASE l.pos WHEN 1 THEN 'D' ELSE 'C' END,
                          (s.x->>'amount')::bigint, NULL, NULL)::fl.new_posting ORDER BY s.i, l.pos)
       FROM jsonb_array_elements(p_shares) WITH ORDINALITY AS s(x, i) CROSS JOIN (VALUES (1), (2)) AS l(pos))) x;
END $$;
