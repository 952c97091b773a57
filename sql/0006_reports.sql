-- fundledger migration 0006: what the reports read.
--
-- Reports read maintained figures only: fl.account (balances now) and fl.account_day
-- (daily debits/credits, so "as of D" and "over a period" are sums over days). Period
-- figures of revenue and expenditure must not include the year-end close (年终结转),
-- which moves every 4xxx/5xxx balance into 3001 on the closing date: entries of kind
-- 'year_close' are the close. The views below subtract them, reading only those few
-- entries (a partial index finds them without scanning the journal).
--
-- Views run with the caller's rights (security_invoker), so row-level security still
-- narrows an officer to their own unit.

CREATE INDEX entry_year_close ON fl.entry (id) WHERE kind = 'year_close';

-- Daily debits/credits posted by year-end close entries, per account.
CREATE VIEW fl.closing_day WITH (security_invoker = true) AS
SELECT p.account_id, p.entry_date AS day,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0)::bigint AS debits,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)::bigint AS credits
  FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id
 WHERE e.kind = 'year_close'
 GROUP BY p.account_id, p.entry_date;

-- fl.account_day without the year-end close: the "operating" movement of each day.
-- Revenue, expenditure and trailing-12-month figures are sums over this view.
CREATE VIEW fl.operating_day WITH (security_invoker = true) AS
SELECT d.account_id, d.day,
       d.debits - coalesce(c.debits, 0) AS debits,
       d.credits - coalesce(c.credits, 0) AS credits
  FROM fl.account_day d
  LEFT JOIN fl.closing_day c ON c.account_id = d.account_id AND c.day = d.day;

REVOKE ALL ON fl.closing_day, fl.operating_day FROM PUBLIC;
GRANT SELECT ON fl.closing_day, fl.operating_day TO fl_officer, fl_reviewer, fl_finance, fl_auditor;
