-- 0082 (ATTACK10 X13): a year-close entry is not reversed.
--
-- The year-end close moves each unit's revenue and expenditure into fund balance (kind year_close:
-- Dr 4xxx / Cr 3001, Dr 3001 / Cr 5xxx). Its months are closed, so a reversal took the next year's
-- date — and was allowed (held, then confirmed): Dr 3001 / Cr 4001 dated in the open year put the
-- closed year's collections into the open year's revenue, the year-end rule's current balance C,
-- shrinking its deficit and the local government's share (or, reversing an expenditure close,
-- inflating them), while the closed year stayed closed and could never be closed again.
--
-- Now a reversal of a year_close entry is refused (reversal_year_closed, Chinese first, saying what
-- to do instead: correct the closed year's figures with an entry of the open year, which the
-- year-end rule counts as that year's):
--   * by fl.reverse_entry when it is asked for (nothing is held);
--   * by fl.reversal_allowed, a row trigger on fl.entry for reversals only (WHEN NEW.reverses IS NOT
--     NULL), whatever path writes one — a held reversal made before this migration and confirmed
--     after it, or fl._post called directly;
--   * and re-derived by both verdicts (entry_dates: a reversal of a year_close entry is a finding).
--
-- The other kinds whose meaning is tied to a year were swept: a government payment's reversal puts
-- the share back on the register from its date (0081), so the year figures follow it; interest,
-- pre-allocations, collections and payments reversed in a later year are that year's corrections
-- (they move the open year's own figures, as any late correction does) and stay allowed.

CREATE FUNCTION fl.reversal_allowed_of(o fl.entry) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF o.kind = 'year_close' THEN
    PERFORM fl.refuse('reversal_year_closed', format(
      '%s is book %s''s close of year %s, which is not reversed: the year stays closed, and its revenue or '
      'expenditure would count in another year''s result; correct the closed year''s figures with an entry of the '
      'open year instead', fl.entry_label(o.id), o.book, extract(year FROM o.entry_date)::int),
      'insufficient_privilege');
  END IF;
END $$;
REVOKE ALL ON FUNCTION fl.reversal_allowed_of(fl.entry) FROM PUBLIC;

CREATE FUNCTION fl.reversal_allowed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  o fl.entry;
BEGIN
  SELECT * INTO o FROM fl.entry x WHERE x.id = NEW.reverses;
  IF FOUND THEN
    PERFORM fl.reversal_allowed_of(o);
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.reversal_allowed() FROM PUBLIC;

CREATE TRIGGER entry_reversal_allowed BEFORE INSERT ON fl.entry
  FOR EACH ROW WHEN (NEW.reverses IS NOT NULL) EXECUTE FUNCTION fl.reversal_allowed();

CREATE OR REPLACE FUNCTION fl.reverse_entry(p_entry bigint, p_reason text, p_date date, p_key text)
RETURNS TABLE (ord int, entry_id bigint, status text, held_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
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
