-- 0118 (ATTACK15b B6): a posting's line reference keeps the form it was written under.
--
-- 0107 VALIDATEd CHECK posting_line_ref_form (and pending_posting_line_ref_form) with
-- fl.reference_form_ok, then 0098's repertoire (汉字 of every CJK block). 0111 narrowed that
-- function to the basic block without re-judging what 0107 had validated: a payment of claim
-- 𠮷-1 posted under 0098 left a "validated" CHECK that a stored row breaks — a logical dump of
-- the ledger would not restore (the row COPYed under the CHECK), a held line of that reference
-- could not be confirmed, and the independent verdict named an honest posting for ever.
--
-- The narrowed rule binds where references are compared — the file rows, the register items and
-- the statement lines (0089's CHECKs, NOT VALID: stored rows are not re-judged) and the manual
-- entry reader — so a new line reference meets it there first. A posting's line reference names
-- such a row; its CHECK holds the widest form any release admitted (0097/0098's), under a function
-- of its own, and is validated again (every stored row holds it: they were written under it).

CREATE FUNCTION fl.line_ref_form_ok(r text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT r IS NULL
      OR r ~ '^[!-~](?:[ -~]*[!-~])?$'
      OR (r ~ '^[ -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef\U00030000-\U0003134f]*$'
          AND r !~ '^ | $'
          AND r IS NFKC NORMALIZED)
$$;

ALTER TABLE fl.posting DROP CONSTRAINT posting_line_ref_form,
  ADD CONSTRAINT posting_line_ref_form
  CHECK (line_ref IS NULL OR (length(line_ref) <= 150 AND fl.line_ref_form_ok(line_ref))) NOT VALID;
ALTER TABLE fl.pending_posting DROP CONSTRAINT pending_posting_line_ref_form,
  ADD CONSTRAINT pending_posting_line_ref_form
  CHECK (line_ref IS NULL OR (length(line_ref) <= 150 AND fl.line_ref_form_ok(line_ref))) NOT VALID;
ALTER TABLE fl.posting VALIDATE CONSTRAINT posting_line_ref_form;
ALTER TABLE fl.pending_posting VALIDATE CONSTRAINT pending_posting_line_ref_form;
