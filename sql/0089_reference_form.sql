-- 0089 (ATTACK12 Z3, Z7): a reference is one visible text; an import that writes nothing records nothing.
--
-- Z3 (MED). A reference is what the duplicate checks compare: fl.import_line's key (namespace,
-- reference) — the county's skip of the bureau's claims (0043, 0063) and claims_once — the memo
-- register's reference (its idempotency key) and a bank statement line's (statement_line_once).
-- A reference holding a zero-width space (U+200B), a word joiner (U+2060), a BOM (U+FEFF) or a
-- control (U+0001) reads, in every report, workbook and terminal, exactly like the one without it,
-- and was another claim: the county paid the bureau's claim again, the verdict green. The reader
-- (ledger.io.tables.reference_form_problem) refuses such a reference row by row; here the same rule
-- holds against every other path (a hand-filled stage, raw SQL): fl.reference_form_ok refuses
-- controls (Cc), format characters (Cf), line and paragraph separators (Zl, Zp), private use (Co),
-- noncharacters, spaces other than U+0020, and any text not in NFKC form (full-width ＺＡ reads like
-- ZA). Refused, not normalised: the ledger keeps what was filed. PostgreSQL 15 cannot name
-- unassigned code points (Cn); the reader refuses those. NOT VALID: rows already stored stay as
-- they are (a verdict finding is the place for those), every new row is held to it.
--
-- Z7 (LOW). An import that wrote nothing (a header alone, or every row imported before) still
-- appended a chained fl.import_batch row (two history versions), counted by no daily cap: one login
-- grew the permanent record at will. The client now undoes such a call (a savepoint) and answers
-- "nothing new"; fl.import_batch_wrote refuses, at commit, a batch that recorded no row, so a raw
-- caller's loop appends nothing either. Every writing import writes fl.import_line rows (payments,
-- collections, opening), a budget version or a headcount, and counts them in rows_posted.

CREATE FUNCTION fl.reference_form_ok(r text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT r IS NULL
      OR (r !~ '[\u0001-\u001f\u007f-\u00a0\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ue000-\uf8ff\ufdd0-\ufdef\ufeff\ufff9-\ufffb\ufffe\uffff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000f0000-\U0010ffff]'
          AND r IS NFKC NORMALIZED)
$$;

ALTER TABLE fl.import_line
  ADD CONSTRAINT import_line_reference_form CHECK (fl.reference_form_ok(reference)) NOT VALID;
ALTER TABLE fl.register_item
  ADD CONSTRAINT register_item_reference_form CHECK (fl.reference_form_ok(reference)) NOT VALID;
ALTER TABLE fl.statement_line
  ADD CONSTRAINT statement_line_reference_form CHECK (fl.reference_form_ok(reference)) NOT VALID;

CREATE FUNCTION fl.import_batch_wrote() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE b fl.import_batch;
BEGIN
  SELECT * INTO b FROM fl.import_batch x WHERE x.id = NEW.id;
  IF FOUND AND b.rows_posted = 0 THEN
    PERFORM fl.refuse('import_nothing_new', format(
      '%s: nothing new to import (%s row(s), all imported before): an import that writes nothing records no '
      'batch; nothing was written', b.file_name, b.rows_total));
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.import_batch_wrote() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER import_batch_wrote AFTER INSERT ON fl.import_batch
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fl.import_batch_wrote();
