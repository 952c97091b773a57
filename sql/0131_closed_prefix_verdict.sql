-- 0131 (ATTACK16b D1, the verdicts' half): an entry dated before a closed month and sealed after
-- that month's close is named.
--
-- 0128 made the posting check refuse an entry dated before the latest closed month as well as in
-- a closed month (a closed month is a prefix of the books), but both verdicts judged an entry by
-- its own month's close only: an entry a superuser wrote with the triggers off
-- (session_replication_role = replica) into a month left open under a closed one (a ledger
-- closed out of order before 0123) was named by nothing. verify's closed_periods and the
-- independent verdict's (online and offline) now name an entry dated in a month before a closed
-- month and written (by the chain: sealed) after that close, save the posting check's
-- exemptions — a year close's own entries dated 31 December, a reversal dated in its original's
-- year.
--
-- The rule binds the entries written after it took effect (fl.rule_point closed_prefix): before
-- 0128 nothing refused an entry dated in such a month (February open under closed March), and
-- what a ledger held then is judged as it was — the verdicts read the point (0068's rule), so a
-- ledger upgraded with such entries verifies as before.

SELECT fl._rule_takes_effect('closed_prefix', '0131');
