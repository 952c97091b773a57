-- 0098 (ATTACK14 V1): a reference is written in a closed repertoire, not "anything but a list".
--
-- 0089 (ATTACK12 Z3) refused the categories of characters that do not show (controls, format
-- characters, separators, private use, spaces other than U+0020) and text not in NFKC form. What
-- it let through still read like another reference: default-ignorable marks of other categories
-- (U+034F COMBINING GRAPHEME JOINER and the variation selectors U+FE00–U+FE0F, U+E0100–U+E01EF
-- after any letter; the Hangul fillers U+115F, U+1160), blanks (U+2800 BRAILLE PATTERN BLANK) and
-- letters of another script drawn like a Latin one (Cyrillic U+0410 'А'): the county imported the
-- bureau's claim 'Z-A' again as 'Z-A' + U+FE0F and paid it twice.
--
-- The class is closed by naming what a reference may hold — what claim numbers, vouchers, bank
-- serials and document numbers of the region are written in — instead of what it may not:
--   printable ASCII (U+0020–U+007E), without a space at either end;
--   CJK unified ideographs (汉字: U+3400–U+4DBF, U+4E00–U+9FFF, U+20000–U+2EBEF, U+30000–U+3134F)
--   and 〇 (U+3007), which a terminal draws two columns wide and no font draws like a Latin letter;
--   the CJK punctuation of document numbers: 、 。 《 》 「 」 『 』 【 】 〔 〕 〖 〗 (U+3001, U+3002,
--   U+300A–U+3011, U+3014–U+3017);
-- and, as before, NFKC form (full-width letters, compatibility ideographs and radicals fold to
-- others, so they are refused rather than folded). The reader (ledger.io.tables.
-- reference_form_problem) holds the same repertoire and also refuses code points Unicode has not
-- assigned yet, which PostgreSQL cannot name. The three CHECKs of 0089 call this function, so
-- replacing it holds every new row to the repertoire; rows already stored stay as they were
-- (NOT VALID, as in 0089).

CREATE OR REPLACE FUNCTION fl.reference_form_ok(r text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT r IS NULL
      OR (r ~ '^[ -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef\U00030000-\U0003134f]*$'
          AND r !~ '^ | $'
          AND r IS NFKC NORMALIZED)
$$;
