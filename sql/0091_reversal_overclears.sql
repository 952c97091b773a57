-- 0091 (ATTACK11 Y7): reversing a reversal that would over-clear a register item is refused in words.
--
-- 0081 made every reversal undo its reversed entry's register clearings (fl.reversal_unclears), so a
-- reversal of that reversal clears again. When the item was cleared again meanwhile (the real payment
-- taken after the first reversal), clearing again would clear more than the item owes: 0081 left that
-- to CHECK register_not_overcleared, and the user saw PostgreSQL's own sentence — 'new row for relation
-- "register_item" violates check constraint …' — in English, naming no item, no amount, nothing to do.
--
-- Now it is refused as reversal_overclears (Chinese first), naming the entry reversed, the register
-- item, the amount it would clear again, what is outstanding, and the clearing made since to reverse
-- first when that one was booked by mistake:
--   * by fl.reversal_allowed_of (0082's, which fl.reverse_entry calls when the reversal is asked for,
--     and the BEFORE INSERT trigger entry_reversal_allowed on every path — a held reversal's
--     confirmation, fl._post): refused before anything is held or written. An entry already reversed
--     is not judged here (fl.reverse_entry answers it as a duplicate or reversed_once);
--   * by fl.reversal_unclears itself, under the item's row lock, before it moves `cleared`: two
--     reversals written in one statement, or a clearing committed between the check and the write,
--     get the same refusal, never the CHECK's text.
-- A reversal that would leave an item with less than nothing cleared (its clearing no longer counted,
-- which no fundledger path writes) is refused under the same code, saying to run verify.
--
-- fl.reversal_allowed_of and fl.reversal_unclears below are their latest migrated definitions (0082,
-- 0081), changed only where "(0091)" says.

-- What reversing entry p_reversed does to the register: each clearing row naming it is undone
-- (0081). Refused when an item would end above its amount or below nothing.
CREATE FUNCTION fl._unclear_check(p_reversed bigint, p_clearing fl.register_clearing, p_item fl.register_item)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  later   text;
  last_id bigint;
BEGIN
  IF p_item.cleared - p_clearing.amount > p_item.amount THEN
    -- The clearings made since the one being undone that still stand (their entry not reversed).
    SELECT string_agg(fl.entry_label(x.entry_id), ', ' ORDER BY x.id), max(x.entry_id) INTO later, last_id
      FROM fl.register_clearing x
     WHERE x.item_id = p_item.id AND x.amount > 0 AND x.id > p_clearing.id
       AND NOT EXISTS (SELECT 1 FROM fl.entry r WHERE r.reverses = x.entry_id);
    IF later IS NULL THEN     -- none since: the clearings that stand, whenever made
      SELECT string_agg(fl.entry_label(x.entry_id), ', ' ORDER BY x.id), max(x.entry_id) INTO later, last_id
        FROM fl.register_clearing x
       WHERE x.item_id = p_item.id AND x.amount > 0
         AND NOT EXISTS (SELECT 1 FROM fl.entry r WHERE r.reverses = x.entry_id);
    END IF;
    PERFORM fl.refuse('reversal_overclears', format(
      'reversing %s would clear register item %s (%s of unit %s) again by %s, but only %s of it is outstanding: '
      '%s cleared it since. If that clearing was booked by mistake, reverse it first (fundledger entry reverse %s '
      '--reason ...); otherwise the item is paid and there is nothing to clear again',
      fl.entry_label(p_reversed), p_item.id, p_item.kind, p_item.unit, fl.fmt_fen(-p_clearing.amount),
      fl.fmt_fen(p_item.amount - p_item.cleared), coalesce(later, '-'), coalesce(last_id::text, '-')));
  ELSIF p_item.cleared - p_clearing.amount < 0 THEN
    PERFORM fl.refuse('reversal_overclears', format(
      'reversing %s would take %s off register item %s (%s of unit %s), which has only %s cleared: the register '
      'no longer counts that clearing; nothing was written — run fundledger verify and report it to the auditor',
      fl.entry_label(p_reversed), fl.fmt_fen(p_clearing.amount), p_item.id, p_item.kind, p_item.unit,
      fl.fmt_fen(p_item.cleared)));
  END IF;
END $$;
REVOKE ALL ON FUNCTION fl._unclear_check(bigint, fl.register_clearing, fl.register_item) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.reversal_allowed_of(o fl.entry) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  c  fl.register_clearing;
  it fl.register_item;
BEGIN
  IF o.kind = 'year_close' THEN
    PERFORM fl.refuse('reversal_year_closed', format(
      '%s is book %s''s close of year %s, which is not reversed: the year stays closed, and its revenue or '
      'expenditure would count in another year''s result; correct the closed year''s figures with an entry of the '
      'open year instead', fl.entry_label(o.id), o.book, extract(year FROM o.entry_date)::int),
      'insufficient_privilege');
  END IF;
  -- (0091, ATTACK11 Y7) What the reversal would undo on the register (fl.reversal_unclears) must
  -- leave every item between nothing and its amount; an entry reversed already is not judged again.
  IF NOT EXISTS (SELECT 1 FROM fl.entry x WHERE x.reverses = o.id) THEN
    FOR c IN SELECT * FROM fl.register_clearing x WHERE x.entry_id = o.id ORDER BY x.id LOOP
      SELECT * INTO it FROM fl.register_item i WHERE i.id = c.item_id;
      PERFORM fl._unclear_check(o.id, c, it);
    END LOOP;
  END IF;
END $$;
REVOKE ALL ON FUNCTION fl.reversal_allowed_of(fl.entry) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.reversal_unclears() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  c  fl.register_clearing;
  it fl.register_item;
BEGIN
  FOR c IN SELECT * FROM fl.register_clearing x WHERE x.entry_id = NEW.reverses ORDER BY x.id LOOP
    -- (0091, ATTACK11 Y7) Refused in words, under the item's lock, before the CHECK would be.
    SELECT * INTO it FROM fl.register_item i WHERE i.id = c.item_id FOR UPDATE;
    PERFORM fl._unclear_check(NEW.reverses, c, it);
    INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
    VALUES (c.item_id, -c.amount, NEW.entry_date, NEW.id, 'register-unclear:' || c.id);
    UPDATE fl.register_item i SET cleared = i.cleared - c.amount WHERE i.id = c.item_id;
  END LOOP;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.reversal_unclears() FROM PUBLIC;
