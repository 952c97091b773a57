-- 0117 (ATTACK15 A9): a reversal is not dated before the entry it reverses.
--
-- fl.reverse_entry checked a reversal's date against the closed periods, the date range and the
-- cash-date rule, never against the reversed entry's own date. A reviewer reversed a reclass of
-- 1 June 2024 "on 2 January 2024" (posted at once): from January to May the books held the
-- correction of something that had not happened (暂付款 1101 at −100.00 in every as-of report).
-- Across a year it moved a result: a collection of 10 January 2025 reversed "on 31 December 2024"
-- took 1,000.00 off 2024's revenue while 2025 kept the collection.
--
-- Now a reversal dated before its original is refused as reversal_predates (Chinese first, saying
-- the earliest date it may take and that a correction of a later day is dated on or after it):
--   * by fl.reverse_entry when it is asked for (nothing is held);
--   * by the BEFORE INSERT row trigger entry_reversal_allowed (fl.reversal_allowed) on every path
--     that writes a reversal — a held reversal confirmed after this upgrade, fl._post directly;
--   * and re-derived by both verdicts (ledger.core.rules, entry_dates) for the reversals above
--     this migration's rule point 'reversal_date' (0068's mechanism): a reversal written under the
--     old rule before the upgrade stays whole.
-- A reversal in a later period or year than its original (a late correction: "that year's
-- correction", 0082) stays allowed; the year-end rule takes a year's negative net figures as they
-- are (ledger.core.shortfall, same fix).
--
-- fl.reversal_allowed and fl.reverse_entry below are their latest migrated definitions (0082; the
-- lock_timeout 0087 gave fl.reverse_entry back is kept), changed only where "(0117" says.

CREATE FUNCTION fl._reversal_date_check(o fl.entry, p_date date) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF p_date < o.entry_date THEN
    PERFORM fl.refuse('reversal_predates', pg_catalog.format(
      'a reversal of %s dated %s would come before the entry itself (dated %s): the books would show the correction '
      'of something that had not happened yet. Date the reversal %s or later (fundledger entry reverse %s --date '
      '%s --reason ...)', fl.entry_label(o.id), p_date, o.entry_date, o.entry_date, o.id, o.entry_date),
      'check_violation');
  END IF;
END $$;
REVOKE ALL ON FUNCTION fl._reversal_date_check(fl.entry, date) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.reversal_allowed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  o fl.entry;
BEGIN
  SELECT * INTO o FROM fl.entry x WHERE x.id = NEW.reverses;
  IF FOUND THEN
    PERFORM fl.reversal_allowed_of(o);
    PERFORM fl._reversal_date_check(o, NEW.entry_date);     -- (0117, ATTACK15 A9)
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.reversal_allowed() FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.reverse_entry(p_entry bigint, p_reason text, p_date date, p_key text)
RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
#variable_conflict use_column
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer','finance'], 'reverse entries');
  ns    text := 'reversal:' || u.name || ':';
  k     text;
  o     fl.entry;
  prior bigint;
  es    fl.new_entry[];
  ps    fl.new_posting[];
BEGIN
  SELECT * INTO o FROM fl.entry x WHERE x.id = p_entry;
  IF NOT FOUND THEN
    PERFORM fl.refuse('not_found', format('no entry %s', p_entry), 'no_data_found');
  END IF;
  -- (0082, ATTACK10 X13) A year's close is not reversed: see fl.reversal_allowed.
  PERFORM fl.reversal_allowed_of(o);
  -- (0117, ATTACK15 A9) Nor is anything reversed before its own date.
  PERFORM fl._reversal_date_check(o, coalesce(p_date, fl._region_today()));
  IF coalesce(trim(p_reason), '') = '' THEN
    PERFORM fl.refuse('reversal_reason', 'a reversal needs a reason');
  END IF;
  IF coalesce(p_key, '') = '' THEN
    PERFORM fl.refuse('idempotency_key', 'a reversal needs an idempotency key');
  END IF;
  k := CASE WHEN left(p_key, length(ns)) = ns THEN p_key ELSE ns || p_key END;
  SELECT x.id INTO prior FROM fl.entry x WHERE x.reverses = p_entry;
  IF FOUND AND NOT EXISTS (SELECT 1 FROM fl.entry x WHERE x.id = prior AND x.idempotency_key = k) THEN
    PERFORM fl.refuse('reversed_once', format('%s was already reversed by %s', fl.entry_label(p_entry), fl.entry_label(prior)),
      'unique_violation');
  END IF;
  SELECT pe.id INTO prior FROM fl.pending_entry pe
   WHERE pe.reverses = p_entry AND pe.state = 'held' AND pe.idempotency_key <> k;
  IF FOUND THEN
    PERFORM fl.refuse('reversed_once', format(
      'a reversal of %s is already held (held entry %s): confirm or reject that one', fl.entry_label(p_entry), prior),
      'unique_violation');
  END IF;
  es := ARRAY[ROW(1, o.book, coalesce(p_date, fl._region_today()),
                  '红字冲销 reversal of ' || fl.entry_label(p_entry) || ': ' || p_reason,
                  'reversal', k, p_entry, p_reason, jsonb_build_object('reverses', p_entry), NULL)::fl.new_entry];
  SELECT array_agg(ROW(1, p.rn, a.book, a.chart_code, a.unit, a.holder, a.component,
                       CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, p.line_ref, p.memo)::fl.new_posting
                   ORDER BY p.rn)
    INTO ps
    FROM (SELECT q.*, row_number() OVER (ORDER BY q.id)::int AS rn FROM fl.posting q WHERE q.entry_id = p_entry) p
    JOIN fl.account a ON a.id = p.account_id;
  -- (0030) Held for a second person: a reversal that moves real money, one on revenue,
  -- expenditure or fund balance (the year-end rule's inputs), and any reversal of a workflow
  -- entry (a year-end close, a pre-allocation, an import, a settlement: each had its own steps).
  IF o.kind <> 'manual'
     OR EXISTS (SELECT 1 FROM unnest(ps) p
                 WHERE fl._held_by_hand(p.chart_code, p.holder)) THEN
    RETURN QUERY SELECT h.ord, h.entry_id, h.status, h.held_id FROM fl._hold(u, 'reversal', es, ps) h;
  ELSE
    RETURN QUERY SELECT r.ord, r.entry_id, r.status, NULL::bigint FROM fl._post(es, ps) r;
  END IF;
END $$;

SELECT fl._rule_takes_effect('reversal_date', '0117');
