-- fundledger migration 0006: report functions and views.
-- (filled in by the work on that feature; an empty migration is a no-op)
SELECT 1;
