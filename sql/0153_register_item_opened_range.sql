-- 0153: a register item's opening day is held to the ledger's years (ATTACK18 G11).
--
-- 0133 held every business date a user types to the ledger's years (approvals, bank lines) and
-- left the register's opened_on out. `handover open FILE --date <next year>` with memo rows only
-- (fiscal and employer arrears, unpaid claims: no bank account, so the cash-date rule never saw
-- them) recorded items opened next year: `register list` showed a negative age, `report
-- registers` as of today left them out (two reports of one register disagreed), and no clearing
-- of the arrears paid now could be recorded (a clearing is never before its item's opening, nor
-- real money after today) — the county's audited arrears were stuck until that day.
--
-- Now an item is opened within fl._business_date_floor() .. the region's today, as 0133 holds
-- an approval. The local government's share is opened by the year close on the close's own date
-- (fl.close_year's rules bound it); it keeps the floor only. Rows written before this migration
-- are not judged again (nothing already written changes).

CREATE FUNCTION fl.register_item_opened_range() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  hi date := CASE WHEN NEW.kind = 'government_share' THEN 'infinity'::date ELSE fl._region_today() END;
BEGIN
  IF NEW.opened_on < fl._business_date_floor() OR NEW.opened_on > hi THEN
    PERFORM fl.refuse('register_opened_date', format(
      'register item %s (%s, unit %s, %s): opened on %s, outside %s .. %s: an item is opened on the day it arose '
      '(a handover''s audit day), not before the ledger''s first year and not after today; give the handover '
      'date with --date YYYY-MM-DD, nothing was written',
      NEW.reference, NEW.kind, NEW.unit, NEW.book, NEW.opened_on, fl._business_date_floor(), fl._region_today()),
      'check_violation');
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.register_item_opened_range() FROM PUBLIC;
CREATE TRIGGER register_item_opened_range BEFORE INSERT OR UPDATE OF opened_on ON fl.register_item
  FOR EACH ROW EXECUTE FUNCTION fl.register_item_opened_range();
