-- fundledger migration 0045: each physical bank account's identity is chained and guarded
-- (issue 15).
--
-- fl.bank_account says which physical account (book, holder, unit) the ledger accounts'
-- money sits in: the bank balances, the overdraft check and the components check are all
-- judged per physical account. Its balance and reserved amount are verified against the
-- postings and the approved requests (verify's bank_balances), but what the row *is* was
-- not chained: a DBA who moved a bank account to another unit or holder (triggers off, or
-- on) left every check green.
--
-- Now:
--   * fl.bank_account is hooked into the record history (fl._chain_table, sql/0010): its
--     rows are backfilled and every new bank account is recorded; the verifiers compare
--     each row's identity (id, book, holder, unit) with its latest version and name a
--     difference. balance and reserved are not compared there: they change with every
--     posting and are judged against the postings and requests themselves
--     (ledger.core.histories.VOLATILE).
--   * Its UPDATE hook is dropped again: balance and reserved are the only columns the
--     release ever updates, on every posting's commit, and a version per commit would
--     double the history's writes for nothing the verdict compares.
--   * fl.reference_guard (sql/0038) refuses an UPDATE of the identity columns with the
--     triggers on (DELETE and TRUNCATE were refused since sql/0001): with them off, the
--     history comparison names the row.

-- sql/0038's guard, a bank account's free columns added and its id named in the refusal.
CREATE OR REPLACE FUNCTION fl.reference_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  free    text[] := CASE TG_TABLE_NAME WHEN 'unit' THEN ARRAY['name_zh', 'name_en', 'sort']
                                       WHEN 'setting' THEN ARRAY['value']
                                       WHEN 'bank_account' THEN ARRAY['balance', 'reserved']
                                       ELSE ARRAY['name_zh', 'name_en'] END;
  o       jsonb;
  n       jsonb;
  changed text;
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'reference data is never removed: % on fl.% is refused (postings, reports and the year-end rule refer to it)',
      TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'reference_fixed';
  END IF;
  o := to_jsonb(OLD) - free;
  n := to_jsonb(NEW) - free;
  IF o IS DISTINCT FROM n THEN
    SELECT string_agg(k, ', ' ORDER BY k) INTO changed
      FROM jsonb_object_keys(o) k WHERE o -> k IS DISTINCT FROM n -> k;
    RAISE EXCEPTION 'fl.% %: % may not change (every report and the year-end rule read it); a new classification is a new code',
      TG_TABLE_NAME, coalesce(to_jsonb(OLD) ->> 'code', to_jsonb(OLD) ->> 'key', to_jsonb(OLD) ->> 'id'), changed
      USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'reference_fixed';
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.reference_guard() FROM PUBLIC;

CREATE TRIGGER bank_account_reference_guard BEFORE UPDATE OF id, book, holder, unit ON fl.bank_account
  FOR EACH ROW WHEN ((OLD.id, OLD.book, OLD.holder, OLD.unit) IS DISTINCT FROM (NEW.id, NEW.book, NEW.holder, NEW.unit))
  EXECUTE FUNCTION fl.reference_guard();

SELECT fl._chain_table('fl.bank_account', ARRAY['id']);
DROP TRIGGER bank_account_record_update ON fl.bank_account;
