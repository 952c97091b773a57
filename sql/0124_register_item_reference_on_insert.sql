-- 0124 (ATTACK15b B6's class, met while fixing B3): a register item's reference rule binds its insert,
-- not every update.
--
-- 0089 put CHECK register_item_reference_form (fl.reference_form_ok) on fl.register_item, NOT VALID
-- so that stored items were not re-judged, and 0111 narrowed the function to the basic block. But a
-- register item is UPDATEd when it is cleared (its cleared amount: fl.register_clear, the payments'
-- and the adjustment fund's clearings, a reversal's unclearing), and PostgreSQL judges every CHECK,
-- validated or not, on every UPDATE: an honest item written under an earlier form — an opening's
-- unpaid claim 𠮷-1 of 0098's repertoire, or any item written before 0089 — could never be cleared
-- (a check violation on the clearing, whatever amount). The import register and the statement lines
-- are never updated, so their CHECKs stay.
--
-- The rule moves to a BEFORE INSERT trigger of the same name, refusal register_item_reference_form
-- (worded as before, ledger.store.translate): a new item is held to the reference form as it was, a
-- stored one is cleared as any other. 0122's register_item_reference_hanzi (GB2312's 汉字) is a
-- trigger on INSERT already.

ALTER TABLE fl.register_item DROP CONSTRAINT register_item_reference_form;

CREATE FUNCTION fl.register_item_reference_form() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  IF NOT fl.reference_form_ok(NEW.reference) THEN
    PERFORM fl.refuse('register_item_reference_form', format(
      'register item reference %s is not in the reference form: a reference is written in half-width letters, '
      'digits and marks, Chinese characters and the punctuation of document numbers only, in its standard form '
      '(Unicode NFKC) and without a space at either end; nothing was written', NEW.reference));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.register_item_reference_form() FROM PUBLIC;

CREATE TRIGGER register_item_reference_form BEFORE INSERT ON fl.register_item FOR EACH ROW
  WHEN (NOT fl.reference_form_ok(NEW.reference)) EXECUTE FUNCTION fl.register_item_reference_form();
