-- fundledger migration 0004: file imports (collections, payments, openings, budgets) and memo registers.
-- (filled in by the work on that feature; an empty migration is a no-op)
SELECT 1;
