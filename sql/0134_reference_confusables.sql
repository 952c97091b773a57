-- 0134 (ATTACK16b D5): a new reference holds none of GB2312's radicals drawn like a common character.
--
-- 0122 held a new reference's 汉字 to GB2312's 6,763, which ends the traditional and Japanese forms
-- drawn like everyday ones (內 for 内). GB2312 itself keeps a few such pairs: its level 2 lists the
-- radicals (偏旁部首) as characters, and some are drawn like a common character or a mark the
-- repertoire admits — 囗 (U+56D7, the "enclosure" radical) like 口 (U+53E3), 丨 (U+4E28) like the
-- ASCII |, so 口腔-1 and 囗腔-1, or A|1 and A丨1, were two references read alike in every report, and
-- a paid claim could be paid again.
--
-- The class, conservatively: a radical is a component, not a word — no place, provider or document
-- number is written with one — so the few GB2312 radicals drawn like a character or mark of the
-- repertoire are refused in a new reference (refusal reference_confusable, naming the character,
-- its look-alike and saying to write that):
--     丨 U+4E28 like |  (U+007C)      丿 U+4E3F like /  (U+002F)      丶 U+4E36 like 、 (U+3001)
--     囗 U+56D7 like 口 (U+53E3)      巛 U+5DDB like 川 (U+5DDD)
-- The same table as ledger.io.tables.CONFUSABLE_HANZI (the reader refuses the row first; a test
-- compares them). Not refused: distinct characters with uses of their own, drawn alike — 己/已/巳,
-- 日/曰, 土/士, 未/末, 戊/戌/戍, 人/入/八, and 一/-, 十/+, 二/=, 〇/O/0 (a name or a number writes
-- them; docs/security.md, ATTACK16b D5). The other look-alikes of 丨丿丶 (〡, ―, ー, ○, Kangxi
-- radicals ⼁⼝ …) are outside the repertoire already (fl.reference_form_ok, NFKC).
--
-- Where it binds: as 0122's rule — a new row of the import register, the register items and the bank
-- statement lines, by the same BEFORE INSERT triggers (their WHEN widened); a stored reference stays.
-- fl.reference_hanzi_ok keeps its meaning (GB2312's set); fl.reference_hanzi_guard is 0122's
-- definition (its latest), changed where "(0134)" says.

CREATE FUNCTION fl.reference_confusable(r text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT pg_catalog.substring(r, '[丨丿丶囗巛]')
$$;
REVOKE ALL ON FUNCTION fl.reference_confusable(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.reference_hanzi_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE c text;
BEGIN
  -- (0134, ATTACK16b D5) a radical drawn like a common character or mark
  c := fl.reference_confusable(NEW.reference);
  IF c IS NOT NULL THEN
    PERFORM fl.refuse('reference_confusable', format(
      'reference %s holds %s (U+%s), a radical drawn like %s: it would be another reference read alike, and a '
      'paid claim paid again; write %s instead, then import it again; nothing was written',
      NEW.reference, c, upper(to_hex(ascii(c))),
      CASE c WHEN '丨' THEN '| (U+007C)' WHEN '丿' THEN '/ (U+002F)' WHEN '丶' THEN '、 (U+3001)'
             WHEN '囗' THEN '口 (U+53E3)' ELSE '川 (U+5DDD)' END,
      CASE c WHEN '丨' THEN '|' WHEN '丿' THEN '/' WHEN '丶' THEN '、' WHEN '囗' THEN '口' ELSE '川' END));
  END IF;
  SELECT t.c INTO c FROM regexp_split_to_table(NEW.reference, '') WITH ORDINALITY AS t(c, n)
   WHERE NOT fl.reference_hanzi_ok(t.c) ORDER BY t.n LIMIT 1;
  IF c IS NOT NULL THEN
    PERFORM fl.refuse('reference_hanzi', format(
      'reference %s holds %s (U+%s), a Chinese character outside GB2312''s 6,763 simplified characters: a '
      'traditional or Japanese form drawn like an everyday one (內 for 内, 呂 for 吕, 戸 for 户) would be another '
      'reference, and a paid claim paid again; write the reference in simplified characters, then import it '
      'again; nothing was written', NEW.reference, c, upper(to_hex(ascii(c)))));
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER import_line_reference_hanzi ON fl.import_line;
DROP TRIGGER register_item_reference_hanzi ON fl.register_item;
DROP TRIGGER statement_line_reference_hanzi ON fl.statement_line;
CREATE TRIGGER import_line_reference_hanzi BEFORE INSERT ON fl.import_line FOR EACH ROW
  WHEN (octet_length(NEW.reference) <> length(NEW.reference)
        AND (NOT fl.reference_hanzi_ok(NEW.reference) OR fl.reference_confusable(NEW.reference) IS NOT NULL))
  EXECUTE FUNCTION fl.reference_hanzi_guard();
CREATE TRIGGER register_item_reference_hanzi BEFORE INSERT ON fl.register_item FOR EACH ROW
  WHEN (octet_length(NEW.reference) <> length(NEW.reference)
        AND (NOT fl.reference_hanzi_ok(NEW.reference) OR fl.reference_confusable(NEW.reference) IS NOT NULL))
  EXECUTE FUNCTION fl.reference_hanzi_guard();
CREATE TRIGGER statement_line_reference_hanzi BEFORE INSERT ON fl.statement_line FOR EACH ROW
  WHEN (octet_length(NEW.reference) <> length(NEW.reference)
        AND (NOT fl.reference_hanzi_ok(NEW.reference) OR fl.reference_confusable(NEW.reference) IS NOT NULL))
  EXECUTE FUNCTION fl.reference_hanzi_guard();
