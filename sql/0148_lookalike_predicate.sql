-- 0148 (issue 24): the import register's look-alike index and trigger judged in C, not by a SQL
-- function per line.
--
-- 0141 gave the three tables whose references are unique a partial index over the stored references
-- holding one of 0134's radicals, WHERE fl.reference_confusable(reference) IS NOT NULL. PostgreSQL
-- evaluates a partial index's predicate for every row inserted, and fl.reference_confusable is a SQL
-- function with a SET clause, which the planner cannot inline: every line of an import started an
-- executor to answer it (~11,600 instructions a line, callgrind; 1.0 core-second per million lines
-- measured beside, against 0.15 s for the same test written as the regular expression itself), and
-- the import's ANALYZE of fl.import_line evaluated it again for each of its 30,000 sampled rows.
--
-- The same set, written as what the function computes (substring(r, '[丨丿丶囗巛]') IS NOT NULL is
-- r ~ '[丨丿丶囗巛]'), the expression asked only of a reference holding a character outside ASCII
-- (the five radicals are not ASCII; octet_length is the stored size, length a count of the bytes'
-- characters — cheaper than the expression, which an ASCII reference, nearly every one, then
-- skips): the three indexes are built again under that predicate (same names, same
-- keys — fl.reference_fold stays, evaluated only for the rows the predicate admits, none on a
-- ledger that never stored a radical), and fl.reference_lookalike_guard (0141's definition, its
-- latest) states the same predicate so the planner still proves the index usable (marked 0148).
--
-- 0141's look-alike triggers fired on NEW.reference ~ '[|/、口川]', a regular expression per line:
-- now two byte searches for the ASCII two, and the expression only for a reference that holds a
-- character outside ASCII (the other three are not ASCII) — the same rows, about half the cost.
-- fl.reference_confusable keeps its meaning and callers (0134's WHEN, the refusal's text).

DROP INDEX fl.import_line_reference_folded;
DROP INDEX fl.register_item_reference_folded;
DROP INDEX fl.statement_line_reference_folded;
CREATE INDEX import_line_reference_folded ON fl.import_line (namespace, fl.reference_fold(reference))
  WHERE octet_length(reference) <> length(reference) AND reference ~ '[丨丿丶囗巛]';
CREATE INDEX register_item_reference_folded ON fl.register_item (fl.reference_fold(reference))
  WHERE octet_length(reference) <> length(reference) AND reference ~ '[丨丿丶囗巛]';
CREATE INDEX statement_line_reference_folded ON fl.statement_line (bank_account_id, fl.reference_fold(reference))
  WHERE octet_length(reference) <> length(reference) AND reference ~ '[丨丿丶囗巛]';

CREATE OR REPLACE FUNCTION fl.reference_lookalike_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE s record;
BEGIN
  IF TG_TABLE_NAME = 'import_line' THEN
    SELECT l.reference, l.batch_id, l.row_no INTO s FROM fl.import_line l
     WHERE l.namespace = NEW.namespace AND octet_length(l.reference) <> length(l.reference)
       AND l.reference ~ '[丨丿丶囗巛]'  -- (0148) the index's predicate
       AND fl.reference_fold(l.reference) = fl.reference_fold(NEW.reference) AND l.reference <> NEW.reference
     ORDER BY l.batch_id, l.row_no LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('reference_confusable', format(
        'reference %s reads as the stored reference %s (%s, batch %s row %s), written before its radical was '
        'refused: they would be one claim paid twice; if the row is that claim it is recorded already — drop the '
        'row; if it is another, give it a reference of its own, then import it again; nothing was written',
        NEW.reference, s.reference, NEW.namespace, s.batch_id, s.row_no));
    END IF;
  ELSIF TG_TABLE_NAME = 'register_item' THEN
    SELECT i.reference, i.id INTO s FROM fl.register_item i
     WHERE octet_length(i.reference) <> length(i.reference)
       AND i.reference ~ '[丨丿丶囗巛]'  -- (0148) the index's predicate
       AND fl.reference_fold(i.reference) = fl.reference_fold(NEW.reference) AND i.reference <> NEW.reference
     ORDER BY i.id LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('reference_confusable', format(
        'reference %s reads as the stored register item %s (item %s), written before its radical was refused: '
        'they would be one item recorded twice; if the row is that item it is recorded already — drop the row; if '
        'it is another, give it a reference of its own, then import it again; nothing was written',
        NEW.reference, s.reference, s.id));
    END IF;
  ELSE
    SELECT t.reference, t.id INTO s FROM fl.statement_line t
     WHERE t.bank_account_id = NEW.bank_account_id AND octet_length(t.reference) <> length(t.reference)
       AND t.reference ~ '[丨丿丶囗巛]'  -- (0148) the index's predicate
       AND fl.reference_fold(t.reference) = fl.reference_fold(NEW.reference) AND t.reference <> NEW.reference
       AND t.line_date = NEW.line_date AND t.direction = NEW.direction AND t.amount = NEW.amount
     ORDER BY t.id LIMIT 1;
    IF FOUND THEN
      PERFORM fl.refuse('reference_confusable', format(
        'reference %s reads as the stored statement line %s (line %s, same account, date, direction and amount), '
        'written before its radical was refused: they would be one bank line matched twice; if the row is that '
        'line it is recorded already — drop the row; if it is another, give it a reference of its own, then '
        'import it again; nothing was written', NEW.reference, s.reference, s.id));
    END IF;
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER import_line_reference_lookalike ON fl.import_line;
DROP TRIGGER register_item_reference_lookalike ON fl.register_item;
DROP TRIGGER statement_line_reference_lookalike ON fl.statement_line;
CREATE TRIGGER import_line_reference_lookalike BEFORE INSERT ON fl.import_line FOR EACH ROW
  WHEN (strpos(NEW.reference, '|') > 0 OR strpos(NEW.reference, '/') > 0
        OR (octet_length(NEW.reference) <> length(NEW.reference) AND NEW.reference ~ '[、口川]'))
  EXECUTE FUNCTION fl.reference_lookalike_guard();
CREATE TRIGGER register_item_reference_lookalike BEFORE INSERT ON fl.register_item FOR EACH ROW
  WHEN (strpos(NEW.reference, '|') > 0 OR strpos(NEW.reference, '/') > 0
        OR (octet_length(NEW.reference) <> length(NEW.reference) AND NEW.reference ~ '[、口川]'))
  EXECUTE FUNCTION fl.reference_lookalike_guard();
CREATE TRIGGER statement_line_reference_lookalike BEFORE INSERT ON fl.statement_line FOR EACH ROW
  WHEN (strpos(NEW.reference, '|') > 0 OR strpos(NEW.reference, '/') > 0
        OR (octet_length(NEW.reference) <> length(NEW.reference) AND NEW.reference ~ '[、口川]'))
  EXECUTE FUNCTION fl.reference_lookalike_guard();
