-- 0119 (ATTACK15b B4): every key a person gives is at most 200 characters, as an entry's.
--
-- fl.entry's and fl.pending_entry's idempotency keys are CHECKed to 1..200 characters (0001, 0017);
-- a fund request's (0003, unique per unit since 0035) and a register clearing's (0003) were not: a
-- key of 4,000 characters was stored on a request for ever, and one whose index row passed
-- PostgreSQL's limit (3,000 varied 汉字) was refused by the B-tree in words the CLI filed as an
-- outage. The same CHECK now holds them (NOT VALID: no scan under the lock, and a stored key is not
-- re-judged); ledger.store.translate words every *_idempotency_key_check with the limit.

ALTER TABLE fl.fund_request
  ADD CONSTRAINT fund_request_idempotency_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 200) NOT VALID;
ALTER TABLE fl.register_clearing
  ADD CONSTRAINT register_clearing_idempotency_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 200) NOT VALID;
