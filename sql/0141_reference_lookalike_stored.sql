-- 0141 (ATTACK17b F4): a new reference read as a stored one is refused — a stored reference holding
-- one of 0134's radicals (written before 0134 refused them) is compared on what it looks like.
--
-- 0134 refused GB2312's five radicals drawn like a common character or mark in a NEW reference, and
-- said "a stored reference stays". So on a ledger upgraded from a release before 0134 the order
-- reversed still paid a claim twice: 囗腔-1 paid before the upgrade, 口腔-1 (the same claim, read
-- alike in every report) after it — the two are different texts, so the unique key (namespace,
-- reference) let the second through and the import's "paid already" lookup did not find it.
--
-- The class: where a reference is unique, it is unique on its folded form too — fl.reference_fold
-- maps 0134's radicals to what they are drawn like (丨→| 丿→/ 丶→、 囗→口 巛→川, the table of
-- fl.reference_confusable and ledger.io.tables.CONFUSABLE_HANZI). A BEFORE INSERT trigger on each
-- table whose references are unique —
--   fl.import_line    unique per namespace (every import: payments, collections, opening …)
--   fl.register_item  unique over the register
--   fl.statement_line unique per bank account, date, direction and amount (statement_line_once)
-- — refuses a new reference whose folded form is a stored reference's folded form (refusal
-- reference_confusable, naming the stored reference and where it is: that claim is recorded already;
-- if the row is another, give it a reference of its own). In SQL, so a raw writer is held too.
--
-- Cost: a new reference holding a radical is refused by 0134, so only the stored references holding
-- one can be a look-alike of a new one; each table gets a partial expression index over just those
-- (built here for the existing rows; empty on a ledger that never stored one), and the trigger runs
-- only for a new reference holding one of the five look-alikes (| / 、 口 川; its WHEN, in C).
-- Two stored references already read alike (both written before 0134) are named by this migration
-- (a WARNING per pair) and stay: an auditor finds them with the query in docs/security.md (F4).

CREATE FUNCTION fl.reference_fold(r text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT pg_catalog.translate(r, '丨丿丶囗巛', '|/、口川')
$$;
REVOKE ALL ON FUNCTION fl.reference_fold(text) FROM PUBLIC;

CREATE INDEX import_line_reference_folded ON fl.import_line (namespace, fl.reference_fold(reference))
  WHERE fl.reference_confusable(reference) IS NOT NULL;
CREATE INDEX register_item_reference_folded ON fl.register_item (fl.reference_fold(reference))
  WHERE fl.reference_confusable(reference) IS NOT NULL;
CREATE INDEX statement_line_reference_folded ON fl.statement_line (bank_account_id, fl.reference_fold(reference))
  WHERE fl.reference_confusable(reference) IS NOT NULL;

CREATE FUNCTION fl.reference_lookalike_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET lock_timeout = '5s' AS $$
DECLARE s record;
BEGIN
  IF TG_TABLE_NAME = 'import_line' THEN
    SELECT l.reference, l.batch_id, l.row_no INTO s FROM fl.import_line l
     WHERE l.namespace = NEW.namespace AND fl.reference_confusable(l.reference) IS NOT NULL
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
     WHERE fl.reference_confusable(i.reference) IS NOT NULL
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
     WHERE t.bank_account_id = NEW.bank_account_id AND fl.reference_confusable(t.reference) IS NOT NULL
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
REVOKE ALL ON FUNCTION fl.reference_lookalike_guard() FROM PUBLIC;

-- Named after the *_reference_hanzi triggers, so they fire after them (by name): a new reference
-- holding a radical is refused by 0134 first, saying which character to write instead.
CREATE TRIGGER import_line_reference_lookalike BEFORE INSERT ON fl.import_line FOR EACH ROW
  WHEN (NEW.reference ~ '[|/、口川]') EXECUTE FUNCTION fl.reference_lookalike_guard();
CREATE TRIGGER register_item_reference_lookalike BEFORE INSERT ON fl.register_item FOR EACH ROW
  WHEN (NEW.reference ~ '[|/、口川]') EXECUTE FUNCTION fl.reference_lookalike_guard();
CREATE TRIGGER statement_line_reference_lookalike BEFORE INSERT ON fl.statement_line FOR EACH ROW
  WHEN (NEW.reference ~ '[|/、口川]') EXECUTE FUNCTION fl.reference_lookalike_guard();

-- Pairs already stored (both written before 0134): named, not changed (nothing is edited or deleted).
DO $$
DECLARE p record;
BEGIN
  FOR p IN SELECT a.namespace, a.reference AS ra, b.reference AS rb FROM fl.import_line a
             JOIN fl.import_line b ON b.namespace = a.namespace AND b.reference <> a.reference
                                  AND fl.reference_fold(b.reference) = fl.reference_fold(a.reference)
            WHERE fl.reference_confusable(a.reference) IS NOT NULL
  LOOP
    RAISE WARNING '0141: import references % and % (%) read alike: see docs/security.md (ATTACK17b F4)',
      p.ra, p.rb, p.namespace;
  END LOOP;
END $$;
