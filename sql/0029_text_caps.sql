-- 0029: what a person types is bounded in size (ATTACK3 R10).
-- No text a writer chose had a size limit: one officer entry with a 90 MB memo was
-- accepted (34 s of server CPU), stays forever in the append-only journal, its history
-- and every export, and made the verifier's CSV reader fail. Each free-text column a
-- caller fills gets a CHECK with its cap, named <table>_<column>_size so that the
-- refusal says which text is too long (ledger/store/translate.py). The caps are far above
-- any real memo and below what every reader handles. NOT VALID: rows written before
-- stay as they are (a rewrite of the journal is not ours to make); every new row is held
-- to the cap.
ALTER TABLE fl.entry
  ADD CONSTRAINT entry_memo_size CHECK (length(memo) <= 8000) NOT VALID,
  ADD CONSTRAINT entry_reason_size CHECK (length(reason) <= 2000) NOT VALID,
  ADD CONSTRAINT entry_source_size CHECK (octet_length(source::text) <= 32000) NOT VALID;
ALTER TABLE fl.posting
  ADD CONSTRAINT posting_memo_size CHECK (length(memo) <= 2000) NOT VALID,
  ADD CONSTRAINT posting_line_ref_size CHECK (length(line_ref) <= 200) NOT VALID;
ALTER TABLE fl.pending_entry
  ADD CONSTRAINT pending_entry_memo_size CHECK (length(memo) <= 8000) NOT VALID,
  ADD CONSTRAINT pending_entry_reason_size CHECK (length(reason) <= 2000) NOT VALID,
  ADD CONSTRAINT pending_entry_decision_reason_size CHECK (length(decision_reason) <= 2000) NOT VALID,
  ADD CONSTRAINT pending_entry_source_size CHECK (octet_length(source::text) <= 32000) NOT VALID;
ALTER TABLE fl.pending_posting
  ADD CONSTRAINT pending_posting_memo_size CHECK (length(memo) <= 2000) NOT VALID,
  ADD CONSTRAINT pending_posting_line_ref_size CHECK (length(line_ref) <= 200) NOT VALID;
ALTER TABLE fl.fund_request
  ADD CONSTRAINT fund_request_note_size CHECK (length(note) <= 2000) NOT VALID;
ALTER TABLE fl.request_event
  ADD CONSTRAINT request_event_reason_size CHECK (length(reason) <= 2000) NOT VALID;
ALTER TABLE fl.closed_period
  ADD CONSTRAINT closed_period_reason_size CHECK (length(reason) <= 2000) NOT VALID;
ALTER TABLE fl.register_item
  ADD CONSTRAINT register_item_note_size CHECK (length(note) <= 2000) NOT VALID,
  ADD CONSTRAINT register_item_reference_size CHECK (length(reference) <= 200) NOT VALID;
ALTER TABLE fl.operation_log
  ADD CONSTRAINT operation_log_reason_size CHECK (length(reason) <= 2000) NOT VALID;
ALTER TABLE fl.import_batch
  ADD CONSTRAINT import_batch_file_name_size CHECK (length(file_name) <= 4500) NOT VALID;
ALTER TABLE fl.bank_statement
  ADD CONSTRAINT bank_statement_file_name_size CHECK (length(file_name) <= 4500) NOT VALID;

-- A batch's file digest is the client's claim (ATTACK3 R19): at least it has the form of
-- one (64 hex digits; empty when the rows came from a pipe and no file was digested).
ALTER TABLE fl.import_batch
  ADD CONSTRAINT import_batch_file_sha256_form CHECK (file_sha256 = '' OR file_sha256 ~ '^[0-9a-f]{64}$') NOT VALID;
