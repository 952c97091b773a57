-- 0018b: what 0018 left of the second attack (/work/coord/ATTACK2.md) in issue 14's classes.
--
-- B12: a fund request's amounts are capped like a posting's (10^15 fen): 9×10^18 fen was accepted
-- and listed. NOT VALID: rows already stored are not re-checked (verify reports what it finds).
ALTER TABLE fl.fund_request ADD CONSTRAINT request_amount_cap
  CHECK (amount_requested <= 1000000000000000 AND coalesce(amount_approved, 0) <= 1000000000000000) NOT VALID;
