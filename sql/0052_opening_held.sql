-- 0052 (ATTACK6 T9) — PROTOTYPE, not landed: a county's audited opening balances (handover open,
-- fl.import_opening) on legacy bank accounts are held for city finance or a second reviewer
-- (fl.pending_entry kind 'opening', confirmed by fl.confirm_entry like the city proper's opening).
-- Left (see NOTE-confd.md): the register items of the file still come into force at once.

CREATE OR REPLACE FUNCTION fl.import_opening(p_file text, p_sha256 text, p_date date)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['reviewer'], 'record handover opening balances');
  probs jsonb;
  bid   bigint;
  n_new int;
  n_reg int;
  es    fl.new_entry[];
  ps    fl.new_posting[];
  held  bigint[];
BEGIN
  IF p_date IS NULL THEN
    PERFORM fl.refuse('bad_document', 'the handover date is missing (--date)');
  END IF;
  IF EXISTS (SELECT 1 FROM fl.closed_period c WHERE c.month = date_trunc('month', p_date)::date) THEN
    PERFORM fl.refuse('period_closed', format('%s falls in the closed period %s; choose an open date',
                                              p_date, to_char(p_date, 'YYYY-MM')));
  END IF;
  PERFORM fl._imp_open('opening');
  CREATE TEMP TABLE fl_imp_work (
    row_no int, reference text, unit text, ukind text, book text, bcomps text[], item text, chart text, holder text,
    comp text, note text, t_amount text, fen bigint, valid boolean, h bytea) ON COMMIT DROP;
  INSERT INTO pg_temp.fl_imp_work
  SELECT y.*, CASE WHEN y.valid THEN sha256(convert_to(concat_ws('|', p_date, y.unit, y.book, y.item, y.fen, y.comp, y.note),
                                                       'UTF8')) END
    FROM (SELECT x.*,
                 coalesce(x.ukind = 'county' AND x.bcomps IS NOT NULL AND fl.imp_component_ok(x.bcomps, x.comp)
                  AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, s.reference, s.unit, un.kind AS ukind, upper(s.book) AS book, bk.components AS bcomps,
                         lower(s.item) AS item, it.chart, it.holder, lower(s.component) AS comp, s.note,
                         s.amount AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    LEFT JOIN fl.unit un ON un.code = s.unit
                    LEFT JOIN fl.book bk ON bk.code = upper(s.book)
                    LEFT JOIN (VALUES ('special_account', '1003', 'legacy_special'),
                                      ('revenue_account', '1002', 'legacy_revenue'),
                                      ('expenditure_account', '1004', 'legacy_expenditure'),
                                      ('fiscal_arrears', 'register', ''), ('employer_arrears', 'register', ''),
                                      ('unpaid_claims', 'register', '')) it(name, chart, holder)
                           ON it.name = lower(s.item)) x) y;

  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, x.col, x.why, 'bad'
    FROM pg_temp.fl_imp_work w
    CROSS JOIN LATERAL (VALUES
      ('unit', CASE WHEN w.ukind IS NULL THEN format('unknown unit ''%s''', w.unit)
                    WHEN w.ukind <> 'county' THEN format('unit %s is the city proper: handover openings are for counties '
                         '(county-level cities) whose funds move up to the city', w.unit) END),
      ('book', CASE WHEN w.bcomps IS NULL THEN format('unknown book ''%s''', w.book) END),
      ('component', fl.imp_component_problem(w.book, w.bcomps, w.comp)),
      ('item', CASE WHEN w.chart IS NULL THEN format('unknown item ''%s'' (special_account, revenue_account, '
                    'expenditure_account, fiscal_arrears, employer_arrears, unpaid_claims)', w.item) END),
      ('amount', fl.imp_amount_problem(w.t_amount)),
      ('reference', fl.imp_reference_problem(w.reference))) x(col, why)
   WHERE NOT w.valid AND x.why IS NOT NULL;
  PERFORM fl._imp_reference_checks('opening');
  -- A register reference is also the item's own unique key.
  INSERT INTO pg_temp.fl_imp_err
  SELECT w.row_no, 'reference', format('reference ''%s'' already names register item %s', w.reference, r.id), 'conflict'
    FROM pg_temp.fl_imp_work w JOIN fl.register_item r ON r.reference = w.reference
   WHERE w.valid AND w.chart = 'register'
     AND NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening:' || w.unit AND l.reference = w.reference);
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  CREATE TEMP TABLE fl_imp_new ON COMMIT DROP AS
  SELECT w.* FROM pg_temp.fl_imp_work w
   WHERE NOT EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'opening:' || w.unit AND l.reference = w.reference);
  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY n.row_no)::int AS ord, 0 AS chunk, n.*
    FROM pg_temp.fl_imp_new n WHERE n.chart <> 'register';

  bid := fl._imp_batch('opening', p_file, p_sha256);
  -- (0052, ATTACK6 T9) Every opening row on a legacy bank account (a holder: real money) is held
  -- for city finance or a second reviewer, as the city proper's opening is (fl.post_opening):
  -- one reviewer put ¥900,000,000 on a county's special account before.
  SELECT array_agg(ROW(e.ord, e.book, p_date,
                       format('期初余额 handover opening balance %s of unit %s%s (%s row %s)', e.item, e.unit,
                              CASE WHEN e.note <> '' THEN ': ' || e.note ELSE '' END, p_file, e.row_no),
                       'opening', 'opening:' || e.unit || ':' || e.reference, NULL, NULL,
                       jsonb_build_object('import_batch', bid, 'file', p_file, 'row', e.row_no), NULL)::fl.new_entry
                   ORDER BY e.ord)
    INTO es FROM pg_temp.fl_imp_ent e;
  SELECT array_agg(p ORDER BY (p).ord, (p).pos) INTO ps FROM (
    SELECT ROW(e.ord, 1, e.book, e.chart, e.unit, e.holder, e.comp, 'D', e.fen, e.reference, NULL)::fl.new_posting AS p
      FROM pg_temp.fl_imp_ent e
    UNION ALL
    SELECT ROW(e.ord, 2, e.book, '3001', e.unit, '', e.comp, 'C', e.fen, e.reference, NULL)::fl.new_posting
      FROM pg_temp.fl_imp_ent e) x;
  IF es IS NOT NULL THEN
    SELECT array_agg(h.held_id ORDER BY h.ord) INTO held FROM fl._hold(u, 'opening', es, ps) h;
  END IF;

  INSERT INTO fl.register_item (kind, unit, book, component, amount, opened_on, reference, note)
  SELECT n.item, n.unit, n.book, n.comp, n.fen, p_date, n.reference, n.note
    FROM pg_temp.fl_imp_new n WHERE n.chart = 'register' ORDER BY n.row_no;
  GET DIAGNOSTICS n_reg = ROW_COUNT;

  INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
  SELECT 'opening:' || n.unit, n.reference, n.h, r.entry_id, bid, n.row_no
    FROM pg_temp.fl_imp_new n
    LEFT JOIN pg_temp.fl_imp_ent e ON e.row_no = n.row_no
    LEFT JOIN pg_temp.fl_imp_res r ON r.ord = e.ord;   -- held rows: no entry yet (its key is opening:<unit>:<reference>)
  GET DIAGNOSTICS n_new = ROW_COUNT;
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('register_items', n_reg, 'held', to_jsonb(coalesce(held, '{}'))));
END $function$;

-- A held opening row has no entry yet: the handover-once rule finds its unit and book from
-- the held entry under the row's key (opening:<unit>:<reference>).
CREATE OR REPLACE FUNCTION fl.handover_once() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  v_unit text;
  v_book text;
  done   record;
BEGIN
  SELECT a.unit, a.book INTO v_unit, v_book
    FROM fl.posting p JOIN fl.account a ON a.id = p.account_id
   WHERE p.entry_id = NEW.entry_id LIMIT 1;
  IF v_unit IS NULL THEN
    SELECT i.unit, i.book INTO v_unit, v_book FROM fl.register_item i WHERE i.reference = NEW.reference;
  END IF;
  IF v_unit IS NULL THEN
    SELECT pe.units[1], pe.book INTO v_unit, v_book FROM fl.pending_entry pe
     WHERE pe.kind = 'opening' AND pe.idempotency_key = 'opening:' || split_part(NEW.namespace, ':', 2) || ':' || NEW.reference;
  END IF;
  IF v_unit IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT e.id, e.entry_date INTO done FROM fl._handover_done(v_unit, v_book) e;
  IF FOUND THEN
    PERFORM fl.refuse('handover_once', format(
      'unit %s already handed over book %s (transferred up on %s, entry %s): a handover happens once per county '
      'and book; correct it with a reversal entry in the open year', v_unit, v_book, done.entry_date, done.id),
      'unique_violation');
  END IF;
  RETURN NEW;
END $$;

-- The first transfer up of a county's book (its key handover-transfer:UNIT:BOOK:COMP).
CREATE FUNCTION fl._handover_done(p_unit text, p_book text) RETURNS TABLE (id bigint, entry_date date)
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT e.id, e.entry_date FROM fl.entry e
   WHERE e.idempotency_key = ANY (SELECT format('handover-transfer:%s:%s:%s', p_unit, p_book, c)
                                    FROM fl.book b
                                    CROSS JOIN LATERAL unnest(CASE WHEN cardinality(b.components) = 0 THEN ARRAY['-']
                                                                   ELSE b.components END) AS c
                                   WHERE b.code = p_book)
     AND e.kind = 'handover_transfer'
   ORDER BY e.id LIMIT 1
$$;
REVOKE ALL ON FUNCTION fl._handover_done(text, text), fl.handover_once() FROM PUBLIC;

-- 0051's, with a county's held opening checked against its transfer up.
CREATE OR REPLACE FUNCTION fl.confirm_entry(p_id bigint) RETURNS TABLE (entry_id bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp SET lock_timeout TO '5s' AS $$
#variable_conflict use_column
DECLARE
  p   fl.pending_entry := fl._pending_for(p_id, 'confirm');
  u   fl.app_user := fl._decider(p, 'confirm');
  eid bigint;
  it  fl.register_item;
  amt bigint;
BEGIN
  IF p.state = 'confirmed' THEN
    IF p.decided_by = u.name THEN
      RETURN QUERY SELECT p.entry_id, 'duplicate'::text;   -- the same confirmation again: nothing written
      RETURN;
    END IF;
    PERFORM fl.refuse('held_decided', format('held entry %s was already confirmed by %s as %s', p.id, p.decided_by,
      fl.entry_label(p.entry_id)), 'unique_violation');
  ELSIF p.state = 'rejected' THEN
    PERFORM fl.refuse('held_decided', format('held entry %s was rejected by %s (%s); it cannot be confirmed: post it '
      'again under a new key', p.id, p.decided_by, p.decision_reason), 'unique_violation');
  END IF;
  IF p.reverses IS NOT NULL AND EXISTS (SELECT 1 FROM fl.entry x WHERE x.reverses = p.reverses) THEN
    PERFORM fl.refuse('reversed_once', format('%s was already reversed by %s', fl.entry_label(p.reverses),
      fl.entry_label((SELECT x.id FROM fl.entry x WHERE x.reverses = p.reverses))), 'unique_violation');
  END IF;
  IF p.kind = 'opening' AND p.idempotency_key LIKE 'opening:%' THEN
    -- (0052) A county's held opening: its legacy accounts must not have been transferred up since.
    IF EXISTS (SELECT 1 FROM fl._handover_done(p.units[1], p.book)) THEN
      PERFORM fl.refuse('handover_once', format(
        'held entry %s is an opening balance of unit %s, book %s, which was already transferred up (%s): a handover '
        'happens once per county and book; reject it (fundledger entry reject %s --reason ...)', p.id, p.units[1], p.book,
        fl.entry_label((SELECT d.id FROM fl._handover_done(p.units[1], p.book) d)), p.id), 'unique_violation');
    END IF;
  END IF;
  IF p.kind = 'register_clear' THEN
    -- (0051) The item may have been cleared since the hold: never clear more than is owed.
    SELECT * INTO it FROM fl.register_item i WHERE i.id = (p.source ->> 'register_item')::bigint FOR UPDATE;
    SELECT sum(pp.amount) INTO amt FROM fl.pending_posting pp WHERE pp.pending_id = p.id AND pp.side = 'D';
    IF it.id IS NULL OR amt > it.amount - it.cleared THEN
      PERFORM fl.refuse('register_not_overcleared', format(
        'held entry %s clears %s of register item %s, which has %s outstanding now; reject it '
        '(fundledger entry reject %s --reason ...)', p.id, fl.fmt_fen(amt), p.source ->> 'register_item',
        fl.fmt_fen(coalesce(it.amount - it.cleared, 0)), p.id));
    END IF;
  END IF;
  SELECT x.entry_id INTO eid FROM fl._post(
    ARRAY[ROW(1, p.book, p.entry_date, p.memo, p.kind, p.idempotency_key, p.reverses, p.reason,
              -- a held entry's source may be the JSON null (a document's "source": null): an object
              -- is kept, anything else gives way (null || {…} made the array [null, {…}], and the
              -- entry lost its held/made_by/confirmed_by for every reader)
              CASE WHEN jsonb_typeof(p.source) = 'object' THEN p.source ELSE '{}'::jsonb END
              || jsonb_build_object('held', p.id, 'made_by', p.made_by,
                                                                     'confirmed_by', u.name),
              p.content_hash)::fl.new_entry],
    (SELECT array_agg(ROW(1, pp.pos, a.book, a.chart_code, a.unit, a.holder, a.component, pp.side, pp.amount,
                          pp.line_ref, pp.memo)::fl.new_posting ORDER BY pp.pos)
       FROM fl.pending_posting pp JOIN fl.account a ON a.id = pp.account_id WHERE pp.pending_id = p.id)) x;
  UPDATE fl.pending_entry pe SET state = 'confirmed', decided_by = u.name, decided_at = now(), entry_id = eid
   WHERE pe.id = p.id;
  IF p.kind = 'register_clear' THEN
    INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key)
    VALUES (it.id, amt, p.entry_date, eid, p.idempotency_key);
    UPDATE fl.register_item i SET cleared = i.cleared + amt WHERE i.id = it.id;
  END IF;
  RETURN QUERY SELECT eid, 'posted'::text;
END $$;

-- The policy in words (0050's, with a county's opening held).
CREATE OR REPLACE FUNCTION fl.manual_policy() RETURNS TABLE (role text, rule text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  VALUES
    ('officer', 'posts by hand only for its own unit'),
    ('officer', 'never credits (moves money out of) the special account 1003, the city expenditure account '
                '(1004 city_exp) or the treasury account 1005'),
    ('officer', 'confirms or rejects only another officer''s held entry of its own unit'),
    ('reviewer', 'posts by hand for any unit; confirms any held entry it did not make, but a pre-allocation'),
    ('reviewer', 'posts the city proper''s audited opening balance (opening post) and the counties'' (handover open), '
                 'both held; reverses entries'),
    ('reviewer', 'pre-allocates (held until a finance user confirms it); clears unpaid provider claims (held until '
                 'city finance or a second reviewer confirms it)'),
    ('finance', 'posts by hand for any unit; confirms any held entry it did not make; reverses entries'),
    ('finance', 'clears fiscal arrears, employer arrears and local-government shares (money arriving in the special '
                'account) at once, like a collection import'),
    ('auditor', 'posts nothing'),
    ('admin', 'posts nothing'),
    ('any', 'an entry posted by hand is always kind manual; its key is filed under manual:<user>:'),
    ('any', 'a manual entry, reversal, interest allocation or opening balance (the city proper''s opening post, a '
            'county''s handover open) that moves real money (1001-1005 or an account with a holder) is held until a '
            'different user confirms it; a county''s opening row is confirmed by city finance or a second reviewer, '
            'and refused once that county''s book was transferred up'),
    ('any', 'a clearing of unpaid provider claims (register clear: Dr 5001.other / Cr 1004 county expenditure account, '
            'money out of a county''s bank account) is held until city finance or a second reviewer confirms it; '
            'the clearing counts against the item only when confirmed'),
    ('any', 'the memo-register items of a county''s opening file (arrears, unpaid claims) are recorded at once: they '
            'move no money, and each payout from unpaid claims is held'),
    ('any', 'a pre-allocation (preallocate: Dr 1004 county expenditure / Cr 1003 special) is held until a finance user '
            'confirms it'),
    ('any', 'a manual entry on bond investment (1201) or borrowing (2101) is held until a different user '
            'confirms it, whoever makes it: buying bonds and borrowing move money; only temporary payments and '
            'receipts (1101/2001) post at once'),
    ('any', 'one call posts at most 1000 entries, 20000 postings and 8 MB; a user has at most 2000 held entries '
            'waiting for a second person'),
    ('any', 'a manual entry on revenue, expenditure or fund balance (3xxx-5xxx, the year-end rule''s inputs), '
            'and a reversal of a workflow entry (a year-end close, an import, a pre-allocation, a request''s '
            'step) or of an entry on 3xxx-5xxx, is held until a different user confirms it, whoever makes it'),
    ('any', 'a unit''s share of the city expenditure account (1004 city_exp) and of the treasury (1005) never '
            'goes below zero, whoever posts')
$$;
