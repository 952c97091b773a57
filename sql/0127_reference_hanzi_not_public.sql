-- 0127: fl.reference_hanzi_ok (0122) is no one's but its owner's to run. 0122 granted it to
-- PUBLIC; no fl function is PUBLIC's (tests/security/test_sweep.py): each is granted to the
-- groups that call it, and nobody calls this one but the insert triggers of fl.import_line,
-- fl.register_item and fl.statement_line — their WHEN clause runs as the writer, and every
-- writer of those tables is a definer function owned by the function's owner (a raw INSERT by
-- an application role is refused by the table's privileges first).
REVOKE ALL ON FUNCTION fl.reference_hanzi_ok(text) FROM PUBLIC;
