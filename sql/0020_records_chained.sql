-- fundledger migration 0020: the self-chained tables also in the history (issue 15).
--
-- fl.operation_log (0013) and fl.monitor_ack (0015) chain their own rows, each to the
-- one before it. Such a chain has no head: a row removed from its end (triggers off)
-- leaves a chain that still verifies. Hooked into the history (fl.record_log, chained up
-- to fl.record_head, 0010), every row they ever had is recorded: `verify` names a removed
-- or rewritten row (check histories), and each link is recomputed too (record_links).
SELECT fl._chain_table(t.name, t.keys) FROM (VALUES
  ('fl.operation_log', ARRAY['id']),
  ('fl.monitor_ack', ARRAY['id'])
) AS t(name, keys) ORDER BY t.name;
