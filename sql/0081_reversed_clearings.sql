-- 0081 (ATTACK10 X12): a reversed register clearing puts what it cleared back on the register.
--
-- `register clear` (fiscal or employer arrears, unpaid claims), `government pay` and a late
-- adjustment-fund allocation post an entry and a clearing row (fl.register_clearing) and raise the
-- item's `cleared`. When that entry was reversed (the bank returned the transfer, it was booked by
-- mistake: the ordinary correction, held for a second person), nothing lowered `cleared` again: the
-- books said the money never arrived, the register said the arrears — or a local government's share
-- of a deficit — were paid, for ever (no report showed them owed, a new clearing of the real payment
-- was refused past the wrong outstanding amount), and the shortfall rule's outstanding shares left
-- the share out.
--
-- Now:
--   * every entry that reverses another one clears in the negative what the reversed entry cleared:
--     for each clearing row naming the reversed entry, a row naming the reversal (entry_id), dated
--     as the reversal, of the opposite amount, keyed `register-unclear:<the clearing's id>` (the
--     clearing it undoes), and the item's `cleared` moves back by as much — in the statement that
--     writes the reversal, whichever path wrote it (fl.confirm_entry of a held reversal, fl._post).
--     The row is chained like every clearing (fl.record_log) and stamped with its writer.
--     A reversal of that reversal clears again (and is refused, by CHECK register_not_overcleared,
--     should the item have been cleared again meanwhile);
--   * CHECK register_clearing_amount_check is now amount <> 0 (a negative row undoes one);
--   * everything that reads the clearings sums them (fl.government_shares as of a date, the
--     shortfall rule's receipts of a year and outstanding shares, the register and forecast
--     reports), so a clearing and its reversal net to nothing from the reversal's date on;
--   * the verdicts: `actors` re-derives `cleared` from the rows (the negative ones included), names
--     a clearing whose entry was reversed with no row undoing it (the arrears vanished), and a row
--     keyed register-unclear: that does not exactly undo the clearing it names by an entry that
--     reverses that clearing's entry.
--
-- A clearing whose entry was reversed before this migration is not undone here (a migration's row
-- is written by no fundledger user): the verdict names it, and finance clears nothing against it.

ALTER TABLE fl.register_clearing DROP CONSTRAINT register_clearing_amount_check;
ALTER TABLE fl.register_clearing ADD CONSTRAINT register_clearing_amount_check CHECK (amount <> 0);

CREATE FUNCTION fl.reversal_unclears() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  c fl.register_clearing;
BEGIN
  FOR c IN SELECT * FROM fl.register_clearing x WHERE x.entry_id = NEW.reverses ORDER BY x.id LOOP
    INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
    VALUES (c.item_id, -c.amount, NEW.entry_date, NEW.id, 'register-unclear:' || c.id);
    UPDATE fl.register_item i SET cleared = i.cleared - c.amount WHERE i.id = c.item_id;
  END LOOP;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.reversal_unclears() FROM PUBLIC;

CREATE TRIGGER entry_reversal_unclears AFTER INSERT ON fl.entry
  FOR EACH ROW WHEN (NEW.reverses IS NOT NULL) EXECUTE FUNCTION fl.reversal_unclears();
