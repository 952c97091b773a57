-- 0097 (issue 24): a plain reference is judged by one test, not three.
--
-- fl.reference_form_ok (0089, ATTACK12 Z3; its repertoire 0098, ATTACK14 V1) is the CHECK of every
-- new fl.import_line, fl.register_item and fl.statement_line reference. It ran three tests on each
-- — the repertoire (a regular expression of printable ASCII, 汉字 and document-number punctuation,
-- matched whole), no space at either end (another), and NFKC form (a Unicode normalization check) —
-- for each of a million register lines of a payments import: about a core-second per million
-- lines on the import's one backend (hand note bench/history/2026-12-06-import-reference-form.md:
-- 0089's two tests over a million references of the bench's form took 1.3 s of CPU at load ~17,
-- one pattern 0.4–0.6 s).
--
-- A reference of printable ASCII (U+0020..U+007E) whose first and last characters are not a space
-- — nearly every reference a fund office files — passes all three by construction: its
-- characters are all in the repertoire, it has no space at either end, and ASCII text is in every
-- Unicode normalization form. Such a reference is now accepted by that one pattern; any other
-- (汉字, a space at an end, anything outside printable ASCII, the empty text) goes through 0098's
-- three tests exactly as before. The rule is unchanged — the same references pass, the same are
-- refused, under the same constraint names — only cheaper to reach.
--
-- fl.reference_form_ok: 0098's definition, with the one pattern in front (marked 0097).

CREATE OR REPLACE FUNCTION fl.reference_form_ok(r text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT r IS NULL
      OR r ~ '^[!-~](?:[ -~]*[!-~])?$'   -- (0097) printable ASCII, no space at either end: all three hold
      OR (r ~ '^[ -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef\U00030000-\U0003134f]*$'
          AND r !~ '^ | $'
          AND r IS NFKC NORMALIZED)
$$;
