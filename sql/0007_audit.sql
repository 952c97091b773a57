-- fundledger migration 0007: verification, audit trail, reconciliation and access control.
-- (filled in by the work on that feature; an empty migration is a no-op)
SELECT 1;
