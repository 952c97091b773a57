-- 0111 (ATTACK15 A5): a reference's 汉字 are the basic block's, U+4E00–U+9FFF, and 〇.
--
-- 0098 (ATTACK14 V1) held a reference to a closed repertoire — printable ASCII, 汉字, 〇 and the
-- punctuation of document numbers — but took 汉字 to be every CJK unified block: Extension A
-- (U+3400–U+4DBF) and Extensions B–G (U+20000–U+2EBEF, U+30000–U+3134F), some 90,000 rare
-- characters outside GBK where the glyph variants of everyday characters live: 𠮷 (U+20BB7) is drawn
-- like 吉, 𠮟 (U+20B9F) like 叱. The county re-imported the bureau's paid claim 吉-1 as 𠮷-1 and
-- paid it again, every report showing 吉-1 twice — V1's attack with a character the fix admitted.
-- No office's document numbers use them (claim and voucher systems are GBK), so the repertoire's
-- 汉字 are now the basic block (the CJK Unified Ideographs, all of GBK's Chinese characters and the
-- everyday set of GB18030) and 〇; the compatibility ideographs (U+F900–U+FAFF) were already refused
-- as not NFKC. The same rule as the reader's (`ledger.io.tables._REFERENCE_REPERTOIRE`).
--
-- 0089's three CHECKs call this function; they stay NOT VALID (stored references are not
-- re-judged: nothing is deleted), so a reference stored before 0111 stays and verifies.
--
-- fl.reference_form_ok: 0097's definition (0098's three tests behind 0097's one pattern), the
-- repertoire's ideograph ranges narrowed (marked 0111).

CREATE OR REPLACE FUNCTION fl.reference_form_ok(r text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT r IS NULL
      OR r ~ '^[!-~](?:[ -~]*[!-~])?$'   -- (0097) printable ASCII, no space at either end: all three hold
      OR (r ~ '^[ -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u4e00-\u9fff]*$'   -- (0111) the basic block's 汉字
          AND r !~ '^ | $'
          AND r IS NFKC NORMALIZED)
$$;
