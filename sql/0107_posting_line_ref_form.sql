-- 0107: a posting's line reference is held to the reference form in the database, validated against
-- every row already there.
--
-- A posting's line_ref is the reference of the file row it carries (a payment's claim number, since
-- 0004) or the one its maker typed (a manual entry): what reconciliation matches bank statement lines
-- by (ledger.store.reconcile), what the ledger reports print beside each line, and what an auditor
-- reads as "which claim". The reader holds an imported reference to the form (0089/0098: printable
-- ASCII without a space at either end, 汉字 and the punctuation of document numbers, NFKC; at most 150
-- characters), and fl.import_line, fl.register_item and fl.statement_line hold it by CHECK
-- (fl.reference_form_ok) — but fl.posting.line_ref only by its length (0029, 200 characters): a
-- DBA's or raw writer's posting (fl._post, a held entry's line) could carry a zero-width space, a
-- full-width claim number or a Cyrillic look-alike, and read in every report and match like another
-- claim's.
--
-- Now CHECK posting_line_ref_form on fl.posting and pending_posting_line_ref_form on
-- fl.pending_posting (a held entry's lines become postings when confirmed: held to the same rule
-- when held): NULL, or at most 150 characters in the reference form (fl.reference_form_ok, 0097's
-- definition). Added NOT VALID (no scan under the lock that adds it), then VALIDATE: every row
-- already stored is judged. A ledger holding a row outside the form is not upgraded: nothing in a
-- ledger is edited, and a CHECK that its own rows break would be a rule the books do not keep. The
-- migration stops before anything changes, naming the first rows (posting and entry, or held entry)
-- and how many. The manual entry reader (ledger.core.entries) refuses such a line_ref before the
-- call, naming the entry and posting; a raw writer meets the CHECK (ledger.store.translate words it,
-- Chinese first).
--
-- Both verdicts name a posting whose line_ref is outside the form (the SQL pass reads the postings
-- only when the CHECK is not validated in the catalogue, written out without fl.reference_form_ok,
-- which is what it checks; the independent verdict judges every posting in Python as the proof reads
-- it, ledger.core.proof): a DBA who drops the CHECK, writes, and adds it back NOT VALID leaves a row
-- they name.

ALTER TABLE fl.posting
  ADD CONSTRAINT posting_line_ref_form
  CHECK (line_ref IS NULL OR (length(line_ref) <= 150 AND fl.reference_form_ok(line_ref))) NOT VALID;
ALTER TABLE fl.pending_posting
  ADD CONSTRAINT pending_posting_line_ref_form
  CHECK (line_ref IS NULL OR (length(line_ref) <= 150 AND fl.reference_form_ok(line_ref))) NOT VALID;

DO $$
DECLARE
  n     bigint;
  first text;
  hn    bigint;
  hfirst text;
BEGIN
  SELECT count(*), string_agg(format('posting %s of entry %s (%s): %s', x.id, x.entry_id, x.key,
                                     to_jsonb(left(x.line_ref, 60))::text), '; ') FILTER (WHERE x.k <= 10)
    INTO n, first
    FROM (SELECT p.id, p.entry_id, p.line_ref, e.idempotency_key AS key, row_number() OVER (ORDER BY p.id) AS k
            FROM ONLY fl.posting p LEFT JOIN ONLY fl.entry e ON e.id = p.entry_id
           WHERE p.line_ref IS NOT NULL AND NOT (length(p.line_ref) <= 150 AND fl.reference_form_ok(p.line_ref))) x;
  SELECT count(*), string_agg(format('line %s of held entry %s: %s', x.pos, x.pending_id,
                                     to_jsonb(left(x.line_ref, 60))::text), '; ') FILTER (WHERE x.k <= 10)
    INTO hn, hfirst
    FROM (SELECT q.pending_id, q.pos, q.line_ref, row_number() OVER (ORDER BY q.pending_id, q.pos) AS k
            FROM ONLY fl.pending_posting q
           WHERE q.line_ref IS NOT NULL AND NOT (length(q.line_ref) <= 150 AND fl.reference_form_ok(q.line_ref))) x;
  IF n = 0 AND hn = 0 THEN
    ALTER TABLE fl.posting VALIDATE CONSTRAINT posting_line_ref_form;
    ALTER TABLE fl.pending_posting VALIDATE CONSTRAINT pending_posting_line_ref_form;
  ELSE
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
      MESSAGE = format('upgrade 0107 stopped: %s posting(s) and %s held line(s) already carry a line reference outside '
                       'the reference form (at most 150 characters: printable ASCII without a space at either end, '
                       '汉字, the punctuation of document numbers, NFKC), which the new CHECK posting_line_ref_form '
                       'refuses: %s; nothing was changed',
                       n, hn, concat_ws('; ', first, hfirst)),
      HINT = 'Nothing in a ledger is edited, so the upgrade stops here and the previous release keeps running: the '
             'rows named were written outside the form by a raw writer or by hand in the database; report them (with '
             'verify --json) to whoever maintains this installation before upgrading';
  END IF;
END $$;
