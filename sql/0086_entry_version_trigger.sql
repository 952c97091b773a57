-- 0086 (issue 24): fl.entry's empty history trigger is gone.
--
-- Since 0055 an entry's history version is written by its postings' statement (fl._record_rows
-- on fl.posting: the entry's row with its postings' memos, key {"id"}, table fl.entry), and
-- fl.entry's own AFTER INSERT statement trigger, entry_record_insert, ran a body of RETURN NULL —
-- kept only because the verifier read the tables hooked into the history from the names of their
-- `<table>_record_insert` triggers (ledger/core/fingerprint.hooked_tables). That empty call cost
-- every posting statement ~0.17 M instructions per entry (callgrind, bench/history/
-- 2026-12-06-write-path-statements.md): a statement trigger's invocation, not its body.
--
-- The verifier now names fl.entry hooked whenever fl.posting is (its versions are written there),
-- so fl.entry's rows are compared with their versions exactly as before; an UPDATE of fl.entry is
-- refused (entry_append_only) and still recorded by entry_record_update if the refusal is ever
-- switched off. Nothing else read the trigger.

DROP TRIGGER entry_record_insert ON fl.entry;
DROP FUNCTION fl._record_entry_with_postings();
