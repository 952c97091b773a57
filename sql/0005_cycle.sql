-- fundledger migration 0005: the fund cycle: pre-allocation, requests, interest, year-end close.
-- (filled in by the work on that feature; an empty migration is a no-op)
SELECT 1;
