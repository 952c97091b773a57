-- 0126 (ATTACK15 A10): a fund request's approval has a business date, and nothing that pays the
-- request, settles it or clears a register item is dated before what it follows.
--
-- The ledger kept only the wall clock of an approval (fl.request_event.at): city finance could
-- disburse a request "on" any day — before it was approved, before its quarter began — and the
-- bureau settle it onward before it was disbursed; a register clearing could be dated before the
-- item it clears was opened. The demo approved in 2026 what it disbursed in 2024, and nothing in
-- the books could tell a true story from a back-dated one.
--
-- Now:
--   * fl.fund_request.approved_on: the approval's business date (批复日期), given by the approver
--     (`request approve --date`, default the region's today), never after the region's today. The
--     approval's UPDATE of the request records it in the chained history (fl.record_log) with the
--     rest of the row. A request approved before this upgrade keeps approved_on NULL: its approval
--     has no business date and is not judged by one (ledger.core.histories.ADDED: a version
--     recorded before the column existed equals the row holding NULL there).
--   * fl.request_approve(id, amount, date): the date is the third argument (NULL: the region's
--     today); a call with two arguments still resolves (the default).
--   * a disbursement (kind request_disburse) is dated on or after the approval's business date and
--     on or after the first day of the request's quarter; a settlement onward (request_settle) on
--     or after the disbursement it settles — a BEFORE INSERT trigger on fl.entry for those kinds,
--     so every path that writes one (fl.request_disburse, fl.request_settle, fl._post) is held;
--   * a register clearing (fl.register_clearing, amount > 0) is dated on or after its item's
--     opened_on, on every path (register clear, government pay, an adjustment-fund allocation, a
--     held clearing's confirmation), and a held clearing is refused when held (fl.pending_entry).
--     The negative rows 0081 writes when a clearing's entry is reversed are the reversal's (0117
--     dates it on or after the clearing): not judged here.
--   * the independent verdict re-derives the rules (ledger.core.rules, `workflows`) for the entries
--     above this migration's rule point 'approval_date' (0068's mechanism): what was written before
--     the upgrade stays whole.
-- Refusals: approval_date, disburse_predates, settle_predates, clearing_predates (Chinese first in
-- the catalogue, naming the dates and the command to run).

ALTER TABLE fl.fund_request ADD COLUMN approved_on date;

-- fl.request_approve is its latest migrated definition (0005's), changed only where "(0126" says.
REVOKE ALL ON FUNCTION fl.request_approve(bigint, bigint) FROM fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
DROP FUNCTION fl.request_approve(bigint, bigint);

CREATE FUNCTION fl.request_approve(p_id bigint, p_amount bigint DEFAULT NULL, p_date date DEFAULT NULL)
RETURNS fl.fund_request
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  u   fl.app_user := fl.require_role(ARRAY['reviewer'], 'approve fund requests');
  r   fl.fund_request := fl._request_for(p_id, 'approve');
  amt bigint;
  sp  fl.bank_account;
  d   date := coalesce(p_date, fl._region_today());     -- (0126, ATTACK15 A10) the approval's business date
BEGIN
  PERFORM fl._not_submitter(r, 'approve');
  -- (0126, ATTACK15 A10) An approval is dated the day it was decided: today or earlier.
  IF d > fl._region_today() THEN
    PERFORM fl.refuse('approval_date', format(
      'request %s: an approval dated %s is after today (%s in the region): date it the day the approval was decided, '
      'today or earlier (fundledger request approve %s --date YYYY-MM-DD)', p_id, d, fl._region_today(), p_id),
      'check_violation');
  END IF;
  amt := coalesce(p_amount, r.amount_requested);
  IF amt <= 0 THEN
    PERFORM fl.refuse('approval_amount', format('request %s: the amount approved must be positive (reject the request instead)', p_id));
  END IF;
  IF amt > r.amount_requested THEN
    PERFORM fl.refuse('approval_amount', format('request %s: cannot approve %s, more than the %s requested',
      p_id, fl.fmt_fen(amt), fl.fmt_fen(r.amount_requested)));
  END IF;
  sp := fl._special_account(r.book);
  IF sp.balance - sp.reserved < amt THEN
    PERFORM fl.refuse('special_account_available', format(
      'request %s: cannot approve %s; the special account (%s) holds %s, of which %s is already reserved (%s available)',
      p_id, fl.fmt_fen(amt), r.book, fl.fmt_fen(sp.balance), fl.fmt_fen(sp.reserved),
      fl.fmt_fen(greatest(sp.balance - sp.reserved, 0))));
  END IF;
  UPDATE fl.bank_account SET reserved = reserved + amt WHERE id = sp.id;
  PERFORM fl._request_event(r, 'approve', 'approved', amt, '', NULL);
  UPDATE fl.fund_request SET state = 'approved', amount_approved = amt, approved_by = session_user,
                             approved_on = d                                  -- (0126)
   WHERE id = p_id RETURNING * INTO r;
  RETURN r;
END $$;
REVOKE ALL ON FUNCTION fl.request_approve(bigint, bigint, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.request_approve(bigint, bigint, date)
  TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;

-- A disbursement and a settlement onward follow what they pay, by business date.
CREATE FUNCTION fl.request_entry_dates() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  r      fl.fund_request;
  starts date;
  paid   date;
BEGIN
  IF NEW.source IS NULL OR jsonb_typeof(NEW.source -> 'request') IS DISTINCT FROM 'number' THEN
    RETURN NEW;                      -- no request named: the key's namespace refuses it (0017)
  END IF;
  SELECT * INTO r FROM fl.fund_request x WHERE x.id = (NEW.source ->> 'request')::numeric;
  IF NOT FOUND THEN
    RETURN NEW;
  END IF;
  IF NEW.kind = 'request_disburse' THEN
    IF r.approved_on IS NOT NULL AND NEW.entry_date < r.approved_on THEN
      PERFORM fl.refuse('disburse_predates', format(
        'request %s: a disbursement dated %s would come before its approval (approved on %s): money is paid out only '
        'after the approval. Date the disbursement %s or later (fundledger request disburse %s --date %s)',
        r.id, NEW.entry_date, r.approved_on, r.approved_on, r.id, r.approved_on), 'check_violation');
    END IF;
    starts := make_date(r.year, 3 * r.quarter - 2, 1);
    IF NEW.entry_date < starts THEN
      PERFORM fl.refuse('disburse_predates', format(
        'request %s is for %s Q%s: a disbursement dated %s would pay it before its quarter begins (%s). Date the '
        'disbursement %s or later (fundledger request disburse %s --date %s)',
        r.id, r.year, r.quarter, NEW.entry_date, starts, starts, r.id, starts), 'check_violation');
    END IF;
  ELSIF NEW.kind = 'request_settle' THEN
    SELECT e.entry_date INTO paid FROM fl.entry e WHERE e.id = r.disburse_entry;
    IF paid IS NOT NULL AND NEW.entry_date < paid THEN
      PERFORM fl.refuse('settle_predates', format(
        'request %s: a settlement onward dated %s would come before the disbursement it settles (disbursed on %s): '
        'the money reaches the county only after city finance paid it. Date the settlement %s or later (fundledger '
        'request settle %s --date %s)', r.id, NEW.entry_date, paid, paid, r.id, paid), 'check_violation');
    END IF;
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.request_entry_dates() FROM PUBLIC;
CREATE TRIGGER entry_request_dates BEFORE INSERT ON fl.entry
  FOR EACH ROW WHEN (NEW.kind IN ('request_disburse', 'request_settle')) EXECUTE FUNCTION fl.request_entry_dates();

-- A register item is cleared on or after the day it was opened.
CREATE FUNCTION fl._clearing_date_check(p_item bigint, p_date date) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  it fl.register_item;
BEGIN
  SELECT * INTO it FROM fl.register_item i WHERE i.id = p_item;
  IF FOUND AND p_date < it.opened_on THEN
    PERFORM fl.refuse('clearing_predates', format(
      'register item %s (%s of unit %s, %s) was opened on %s: a clearing dated %s would settle it before it was owed. '
      'Date the clearing %s or later',
      it.id, it.kind, it.unit, it.reference, it.opened_on, p_date, it.opened_on), 'check_violation');
  END IF;
END $$;
REVOKE ALL ON FUNCTION fl._clearing_date_check(bigint, date) FROM PUBLIC;

CREATE FUNCTION fl.register_clearing_dates() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  PERFORM fl._clearing_date_check(NEW.item_id, NEW.cleared_on);
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.register_clearing_dates() FROM PUBLIC;
CREATE TRIGGER register_clearing_dates BEFORE INSERT ON fl.register_clearing
  FOR EACH ROW WHEN (NEW.amount > 0) EXECUTE FUNCTION fl.register_clearing_dates();

-- A held clearing (0051: unpaid claims) is refused when held, not only when confirmed.
CREATE FUNCTION fl.pending_clearing_dates() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF jsonb_typeof(NEW.source -> 'register_item') = 'number' THEN
    PERFORM fl._clearing_date_check((NEW.source ->> 'register_item')::bigint, NEW.entry_date);
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.pending_clearing_dates() FROM PUBLIC;
CREATE TRIGGER pending_clearing_dates BEFORE INSERT ON fl.pending_entry
  FOR EACH ROW WHEN (NEW.kind = 'register_clear') EXECUTE FUNCTION fl.pending_clearing_dates();

SELECT fl._rule_takes_effect('approval_date', '0126');
