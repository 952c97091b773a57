-- 0155 (ATTACK18b H8): a claim's every look-alike in the other register decides, not one of them.
--
-- 0146 folded the cross-register "paid once" checks of fl.import_payments to ONE representative of
-- the other register's look-alikes of a row's reference (reg_ref: the exact line if there was one,
-- else the earliest stored look-alike). A register written before 0134/0141 may hold two look-alikes
-- of one claim (0141's folded index is not unique). When the representative was a released one (the
-- bureau's held payment rejected, 0063) the claim was released although another look-alike stood
-- paid, and the county's officer's import posted it a second time from the same county account:
-- 囗丨1 rejected + 口丨1 confirmed, then the officer's 口|1; or 口腔-1 rightly rejected as the
-- duplicate of a paid 囗腔-1, then the officer's 口腔-1.
--
-- fl.import_payments (0148's definition, its latest, all its SET clauses) now collects every other-
-- side line that reads as the row (fl_imp_alike; probed through 0141/0148's index, only when the other
-- side stored a radical for a unit of the file — never on a ledger begun after 0134). A row is released
-- only if no look-alike stands (each judged by 0063's rule); the officer's row is skipped if any
-- standing one has its content, else a conflict naming the earliest standing one; the bureau's row is
-- skipped if any of the county's has its content, else 0070's conflict names the earliest the county
-- paid and did not reverse. Messages are 0146's. Nothing stored changes.

-- The new work table is one of the imports' own (fl._imp_clear drops the session's own one at
-- fl._imp_open and refuses another's), as 0008's are.
CREATE OR REPLACE FUNCTION fl._imp_work_names() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT ARRAY['fl_imp_src', 'fl_imp_work', 'fl_imp_grp', 'fl_imp_new', 'fl_imp_ent', 'fl_imp_res', 'fl_imp_err',
               'fl_imp_acc', 'fl_imp_gc', 'fl_imp_map', 'fl_imp_alike']
$$;

CREATE OR REPLACE FUNCTION fl.import_payments(p_file text, p_sha256 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
 SET work_mem TO '256MB'
 SET enable_mergejoin TO 'off'
 SET lock_timeout TO '5s'
AS $function$
DECLARE
  u     fl.app_user := fl.require_role(ARRAY['officer','reviewer'], 'import benefit payments');
  probs jsonb;
  bid   bigint;
  n_new int;
  bad   boolean;
  has_reg boolean;
  differs boolean;
  con   text;
  pool  record;
  -- (0043, ATTACK5 S7) The importer's side: an officer files its unit's references under
  -- payments:<unit>, the city bureau under payments:<unit>:bureau.
  ns_own   text := CASE WHEN u.role = 'officer' THEN '' ELSE ':bureau' END;
  ns_other text := CASE WHEN u.role = 'officer' THEN ':bureau' ELSE '' END;
  held     bigint[];
  n_held   int := 0;
BEGIN
  PERFORM fl._imp_open('payments');
  -- 1. The groups: each distinct (date, unit, book, component, paid_from) text of the
  --    file, resolved once — a year's file has a few thousand; resolving each of a
  --    million rows cost seconds (parsing its date alone 1.2 s). gk numbers the raw
  --    texts; eg numbers the entry groups (the resolved values: 'res' and 'RES' are one).
  --    A NULL cell (only a hand-made stage has one) reads as empty, like an absent column.
  CREATE TEMP TABLE fl_imp_grp ON COMMIT DROP AS
  -- (0132) The groups' resolved values first (r0), then 0106's rule judged once per distinct
  -- (chart, category, component, pooled, components) of them (cc: a few, not one per group —
  -- fl.imp_category_component_problem is a SQL function with a SET clause, so it is never
  -- inlined and each call started an executor: 9,569 calls for a year's file).
  WITH r0 AS MATERIALIZED (
         SELECT row_number() OVER ()::int AS gk, t.t_date, t.unit, t.t_book, t.t_comp, t.t_paid, t.t_cat, q.d,
                EXISTS (SELECT 1 FROM fl.closed_period cp WHERE cp.month = date_trunc('month', q.d)::date) AS closed,
                un.kind AS ukind, upper(t.t_book) AS book, bk.components AS bcomps, lower(t.t_comp) AS comp,
                bk.pooled_component AS pooled,   -- (0106)
                lower(t.t_cat) AS category, cat.no AS cat, cat.chart,
                CASE lower(t.t_paid) WHEN 'county' THEN 'county' WHEN 'city' THEN 'city'
                     WHEN '' THEN CASE WHEN un.kind = 'county' THEN 'county' ELSE 'city' END END AS paid_from
           FROM (SELECT DISTINCT coalesce(s.date, '') AS t_date, coalesce(s.unit, '') AS unit,
                        coalesce(s.book, '') AS t_book, coalesce(s.component, '') AS t_comp,
                        coalesce(s.paid_from, '') AS t_paid, coalesce(s.category, '') AS t_cat
                   FROM pg_temp.fl_imp_src s) t
           CROSS JOIN LATERAL (SELECT fl.imp_date(t.t_date) AS d) q
           LEFT JOIN (VALUES (1, 'inpatient', '5001.inpatient'), (2, 'outpatient', '5001.outpatient'),
                             (3, 'chronic', '5001.chronic'), (4, 'outpatient_pooled', '5001.outpatient_pooled'),
                             (5, 'maternity_medical', '5001.maternity_medical'),
                             (6, 'maternity_allowance', '5001.maternity_allowance'),
                             (7, 'pharmacy', '5001.pharmacy'), (8, 'other', '5001.other'),
                             (9, 'critical_illness', '5101')) cat(no, name, chart) ON cat.name = lower(t.t_cat)
           LEFT JOIN fl.unit un ON un.code = t.unit
           LEFT JOIN fl.book bk ON bk.code = upper(t.t_book)),
       cc AS MATERIALIZED (
         SELECT k.chart, k.category, k.comp, k.pooled, k.bcomps,
                fl.imp_category_component_problem(k.chart, k.category, k.comp, k.pooled, k.bcomps) AS problem
           FROM (SELECT DISTINCT r1.chart, r1.category, r1.comp, r1.pooled, r1.bcomps FROM r0 r1) k)
  SELECT x.*,
         -- (0066) Whether the register holds any reference of this unit on the importer's
         -- side: if not (a unit's first file), no row of the group is looked up in it.
         EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit || ns_own) AS probe,
         dense_rank() OVER (ORDER BY x.d, x.unit COLLATE "C", x.book COLLATE "C", x.comp COLLATE "C",
                                          x.paid_from COLLATE "C")::int AS eg
    FROM (SELECT r.*, CASE r.paid_from WHEN 'county' THEN 'county_exp' WHEN 'city' THEN 'city_exp' END AS holder,
                 coalesce(r.d IS NOT NULL AND NOT r.closed AND r.ukind IS NOT NULL
                  AND (u.role <> 'officer' OR r.unit = u.unit) AND r.bcomps IS NOT NULL
                  AND fl.imp_component_ok(r.bcomps, r.comp)
                  -- (0106, ATTACK14 V6) the category decides the component: the row, not the account
                  -- (0132) looked up in cc: the same function's answer for the same arguments
                  AND (SELECT c.problem FROM cc c
                        WHERE c.chart IS NOT DISTINCT FROM r.chart AND c.category IS NOT DISTINCT FROM r.category
                          AND c.comp IS NOT DISTINCT FROM r.comp AND c.pooled IS NOT DISTINCT FROM r.pooled
                          AND c.bcomps IS NOT DISTINCT FROM r.bcomps) IS NULL
                  AND r.paid_from IS NOT NULL AND NOT (r.paid_from = 'county' AND r.ukind <> 'county')
                  AND NOT (u.role = 'officer' AND r.paid_from = 'city' AND r.ukind = 'county'), false) AS ok
            FROM r0 r) x;
  ANALYZE pg_temp.fl_imp_grp;

  -- 2. Every row, in one pass over the stage: its group, category (a small integer),
  --    amount, whether it is valid, its content hash, and the hash the register holds
  --    for its reference (NULL: a new row). The raw texts that only error messages need
  --    are kept for invalid rows alone (a NULL costs no space).
  CREATE TEMP TABLE fl_imp_work ON COMMIT DROP AS
  SELECT y.row_no, y.reference, y.unit, y.gk, y.eg, y.cat, y.provider, y.fen, y.valid,
         CASE WHEN y.valid THEN decode(md5(concat_ws('|', y.t_date, y.unit, y.book, y.provider, y.chart, y.fen,
                                                     y.comp, y.paid_from)), 'hex') END AS h,
         CASE WHEN y.probe THEN (SELECT l.content_hash FROM fl.import_line l
                                  WHERE l.namespace = 'payments:' || y.unit || ns_own AND l.reference = y.reference)
              END AS reg_h, false AS reg_other, NULL::text AS reg_ref, 0 AS chunk,
         CASE WHEN NOT y.valid THEN y.category END AS category, CASE WHEN NOT y.valid THEN y.t_amount END AS t_amount
    FROM (SELECT x.*, coalesce(x.ok AND x.chart IS NOT NULL AND x.fen IS NOT NULL AND x.provider <> ''
                               AND x.reference <> '' AND length(x.reference) <= 150, false) AS valid
            FROM (SELECT s.row_no, coalesce(s.reference, '') AS reference, g.gk, g.eg, g.ok, g.probe, g.t_date, g.unit,
                         g.book, g.comp, g.paid_from, coalesce(s.provider, '') AS provider, g.category, g.cat, g.chart,
                         coalesce(s.amount, '') AS t_amount, fl.imp_fen_of(s.amount) AS fen
                    FROM pg_temp.fl_imp_src s
                    JOIN pg_temp.fl_imp_grp g ON g.t_date = coalesce(s.date, '') AND g.unit = coalesce(s.unit, '')
                                             AND g.t_book = coalesce(s.book, '') AND g.t_comp = coalesce(s.component, '')
                                             AND g.t_paid = coalesce(s.paid_from, '') AND g.t_cat = coalesce(s.category, '')
                  OFFSET 0) x
          OFFSET 0) y;
  -- (0043, ATTACK5 S7) The other side's references of the same units. An officer's row whose
  -- reference the bureau already imported is that row (skipped when the same, a conflict
  -- naming the bureau when not); a bureau's row whose reference the unit's officer already
  -- imported with the same content is skipped (the claim is paid once), and with other
  -- content it is the bureau's own row: an officer's earlier row can no longer pre-empt it.
  -- Looked up only when the other side has references for a unit of the file.
  -- (0066: the units from the groups, a few thousand rows, not from the million rows.)
  -- (0146) A claim is one claim on its folded form on both sides: a row whose reference reads as
  -- the other side's stored one — holding one of 0134's radicals, written before 0134 refused
  -- them (囗腔-1 for 口腔-1), fl.reference_fold — looks that stored reference up (reg_ref) wherever
  -- the other side's register is compared below (0043, 0063, 0070). A reference the other side
  -- holds exactly is that one. Looked up only when the other side stored such a reference for a
  -- unit of the file (0141's partial index holds just those: none on a ledger begun after 0134).
  -- (0155, ATTACK18b H8) EVERY line of the other side that reads as the row decides, not one of
  -- them: a register written before 0134/0141 may hold two look-alikes of one claim (囗丨1 rejected,
  -- 口丨1 confirmed; or the exact 口腔-1 rejected beside a paid 囗腔-1), and 0146 took the earliest or
  -- the exact one alone — a released one then released the claim another still stood for, and the
  -- county paid it again. fl_imp_alike holds each row's other-side look-alikes that differ from its
  -- own text (none on a ledger that never stored a radical: the same guard and index probe as 0146);
  -- the exact line is looked up as before 0146, then the look-alikes decide any row the exact line
  -- left open (none, or released) or left a conflict that a same-content look-alike makes a skip.
  CREATE TEMP TABLE fl_imp_alike (row_no int, reference text) ON COMMIT DROP;
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit FROM pg_temp.fl_imp_grp g WHERE g.ok) x
              WHERE EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit || ns_other
                              -- (0148) 0141's index predicate, as 0148 writes it
                              AND octet_length(l.reference) <> length(l.reference)
                              AND l.reference ~ '[丨丿丶囗巛]')) THEN
    INSERT INTO pg_temp.fl_imp_alike (row_no, reference)
    SELECT w.row_no, s.reference
      FROM pg_temp.fl_imp_work w
      JOIN (SELECT l.namespace, l.reference, fl.reference_fold(l.reference) AS folded
              FROM fl.import_line l
             WHERE l.namespace IN (SELECT DISTINCT 'payments:' || g.unit || ns_other FROM pg_temp.fl_imp_grp g WHERE g.ok)
               AND octet_length(l.reference) <> length(l.reference) AND l.reference ~ '[丨丿丶囗巛]'   -- (0148)
           ) s ON s.namespace = 'payments:' || w.unit || ns_other AND s.folded = fl.reference_fold(w.reference)
     WHERE w.valid AND w.reg_h IS NULL AND s.reference <> w.reference;
    ANALYZE pg_temp.fl_imp_alike;
  END IF;
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit FROM pg_temp.fl_imp_grp g WHERE g.ok) x
              WHERE EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit || ns_other)) THEN
    UPDATE pg_temp.fl_imp_work w SET reg_h = l.content_hash, reg_other = true
      FROM fl.import_line l
     WHERE w.valid AND w.reg_h IS NULL AND l.namespace = 'payments:' || w.unit || ns_other
       AND l.reference = w.reference AND (u.role = 'officer' OR l.content_hash = w.h);
  END IF;
  -- (0063, ATTACK8 V2) A claim the bureau imported paid from the county's account, whose held
  -- entry was then rejected (or withdrawn by its maker), was never paid: its reference stays in
  -- the bureau's register (history, and the bureau's own re-run of its file skips it, as the
  -- rejected key may not be held again), but it no longer stands for the county's officer,
  -- whose own import of the claim posts it (fl._claims_released).
  IF u.role = 'officer' AND EXISTS (SELECT 1 FROM pg_temp.fl_imp_work w WHERE w.reg_other) THEN
    UPDATE pg_temp.fl_imp_work w SET reg_h = NULL, reg_other = false
      FROM fl._claims_released((SELECT array_agg(DISTINCT w0.unit) FROM pg_temp.fl_imp_work w0 WHERE w0.reg_other)) r
     WHERE w.reg_other AND r.unit = w.unit AND r.reference = w.reference;
  END IF;
  -- (0155, ATTACK18b H8) The look-alikes: for the officer each one not released stands (0063 per
  -- line), the same content first (skipped), else the earliest (a conflict naming it); for the
  -- bureau one with the same content skips the row (0043). A row stays open (posts) only if no
  -- line of the claim stands. reg_ref names the deciding line for the conflict's message.
  IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_alike) THEN
    WITH rel AS MATERIALIZED (
           SELECT r.unit, r.reference
             FROM fl._claims_released(CASE WHEN u.role = 'officer' THEN
                    (SELECT array_agg(DISTINCT w1.unit) FROM pg_temp.fl_imp_alike a1
                       JOIN pg_temp.fl_imp_work w1 ON w1.row_no = a1.row_no) ELSE '{}'::text[] END) r)
    UPDATE pg_temp.fl_imp_work w SET reg_h = d.content_hash, reg_other = true, reg_ref = d.reference
      FROM (SELECT DISTINCT ON (a.row_no) a.row_no, l.reference, l.content_hash
              FROM pg_temp.fl_imp_alike a
              JOIN pg_temp.fl_imp_work w0 ON w0.row_no = a.row_no
              JOIN fl.import_line l ON l.namespace = 'payments:' || w0.unit || ns_other AND l.reference = a.reference
             WHERE (u.role = 'officer' OR l.content_hash = w0.h)
               AND NOT EXISTS (SELECT 1 FROM rel WHERE rel.unit = w0.unit AND rel.reference = l.reference)
             ORDER BY a.row_no, l.content_hash <> w0.h, l.batch_id, l.row_no) d
     WHERE d.row_no = w.row_no
       AND (w.reg_h IS NULL OR (w.reg_other AND w.reg_h <> w.h AND d.content_hash = w.h));
  END IF;

  -- (0092) One pass over the row table answers the three questions the checks below ask of
  -- it: whether a row is invalid, whether any row's reference is registered already, and
  -- whether a valid row's registered content differs. Each was a scan of a million rows of
  -- its own (the two EXISTS found nothing in a clean file, so they read it all), and the
  -- repeats among registered rows grouped the million rows to find none. Nothing below
  -- changes the row table before the last of them is used.
  SELECT coalesce(bool_or(NOT w.valid), false), coalesce(bool_or(w.reg_h IS NOT NULL), false),
         coalesce(bool_or(w.valid AND w.reg_h <> w.h), false)
    INTO bad, has_reg, differs
    FROM pg_temp.fl_imp_work w;
  IF bad THEN
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, x.col, x.why, x.kind
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
      CROSS JOIN LATERAL (
        SELECT * FROM fl._imp_row_problems(g.t_date, g.d, g.closed, g.unit, g.ukind, g.book, g.bcomps, w.t_amount,
                                           w.reference, u)
        UNION ALL VALUES
        ('component', fl.imp_component_problem(g.book, g.bcomps, g.comp), 'bad'),
        -- (0106, ATTACK14 V6) named by row and column, with its rule, before any account is made
        ('component', fl.imp_category_component_problem(g.chart, g.category, g.comp, g.pooled, g.bcomps),
         'category_component'),
        ('category', CASE WHEN w.cat IS NULL THEN format('unknown category ''%s'' (inpatient, outpatient, chronic, '
                      'outpatient_pooled, maternity_medical, maternity_allowance, pharmacy, other, critical_illness)', w.category) END, 'bad'),
        ('paid_from', CASE WHEN g.paid_from IS NULL THEN format('unknown paid_from ''%s'' (county or city)', g.t_paid)
                           WHEN g.paid_from = 'county' AND g.ukind IS NOT NULL AND g.ukind <> 'county'
                           THEN format('unit %s is not a county and has no county expenditure account; use paid_from city', g.unit)
                           END, 'bad'),
        ('paid_from', CASE WHEN u.role = 'officer' AND g.paid_from = 'city' AND g.ukind = 'county'
                           THEN format('a county officer pays from its own county expenditure account (paid_from county); '
                                       'claims the city pays for %s are imported by the city bureau', g.unit) END,
         'permission'),
        ('provider', CASE WHEN w.provider = '' THEN 'the provider is empty' END, 'bad')) x(col, why, kind)
     WHERE NOT w.valid AND x.why IS NOT NULL;
  END IF;
  -- References used twice in the file. Among new rows the register's primary key finds
  -- them when the register is written (below: a full GROUP BY here cost 0.55 s of every
  -- 1M-line import); checked here only among rows already registered, or in every row
  -- when the file has other problems, so that all are reported together.
  -- (0092) Among registered rows only when there is one (the same answer: no row to group).
  IF bad OR has_reg THEN
    PERFORM fl._imp_repeats(NOT bad);
  END IF;
  -- (0070, ATTACK9 W5) A claim is paid once: the bureau's row paid from the county's account
  -- whose unit + reference the county's officer already paid with other content (its entry not
  -- reversed) is a conflict naming the county's entry. (Same content: skipped above, 0043; a
  -- city-paid row stands, 0043 S7.)
  IF u.role <> 'officer'
     AND EXISTS (SELECT 1 FROM (SELECT DISTINCT g.unit FROM pg_temp.fl_imp_grp g WHERE g.ok) x
                  WHERE EXISTS (SELECT 1 FROM fl.import_line l WHERE l.namespace = 'payments:' || x.unit)) THEN
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, 'reference',
           format('reference ''%s'' of unit %s was already paid by the county''s own import (%s, batch %s, row %s) '
                  'with different content: conflict; a claim is paid once: have that entry reversed first (the city '
                  'bureau or city finance reverses it), then import again, or correct your row to match it',
                  w.reference, w.unit, fl.entry_label(l.entry_id), l.batch_id, l.row_no),
           'conflict'
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
      JOIN fl.import_line l ON l.namespace = 'payments:' || w.unit AND l.reference = w.reference
     WHERE w.valid AND w.reg_h IS NULL AND g.paid_from = 'county' AND l.content_hash <> w.h AND l.entry_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM fl.entry r WHERE r.reverses = l.entry_id);
    -- (0155, ATTACK18b H8) and every look-alike the county paid (the earliest named), for a row no
    -- exact line made a conflict
    IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_alike) THEN
      INSERT INTO pg_temp.fl_imp_err
      SELECT DISTINCT ON (w.row_no) w.row_no, 'reference',
             format('reference ''%s'' of unit %s was already paid by the county''s own import (%s, batch %s, row %s) '
                    'with different content: conflict; a claim is paid once: have that entry reversed first (the city '
                    'bureau or city finance reverses it), then import again, or correct your row to match it',
                    w.reference, w.unit, fl.entry_label(l.entry_id), l.batch_id, l.row_no),
             'conflict'
        FROM pg_temp.fl_imp_alike a
        JOIN pg_temp.fl_imp_work w ON w.row_no = a.row_no
        JOIN pg_temp.fl_imp_grp g ON g.gk = w.gk
        JOIN fl.import_line l ON l.namespace = 'payments:' || w.unit AND l.reference = a.reference
       WHERE w.valid AND w.reg_h IS NULL AND g.paid_from = 'county' AND l.content_hash <> w.h AND l.entry_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM fl.entry r WHERE r.reverses = l.entry_id)
         AND NOT EXISTS (SELECT 1 FROM pg_temp.fl_imp_err e WHERE e.row_no = w.row_no AND e.kind = 'conflict')
       ORDER BY w.row_no, l.batch_id, l.row_no;
    END IF;
  END IF;
  -- References already imported with other content (the row table carries the
  -- register's hash, so the join runs only when there is one).
  IF differs THEN   -- (0092: from the one pass above)
    INSERT INTO pg_temp.fl_imp_err
    SELECT w.row_no, 'reference',
           CASE WHEN w.reg_other THEN
             format('reference ''%s'' of unit %s was already imported by the city bureau with different content (batch '
                    '%s, row %s): conflict; the bureau''s row stands: correct your row to match it, or ask the bureau '
                    'to reverse its entry', w.reference, w.unit, l.batch_id, l.row_no)
           WHEN b.imported_by = session_user OR fl.my_unit() IS NULL OR fl.my_unit() = '' THEN
             format('reference ''%s'' was already imported (batch %s, %s, row %s) with different content: conflict; '
                    'correct the row or give it a new reference', w.reference, l.batch_id, b.file_name, l.row_no)
           ELSE
             format('reference ''%s'' was already imported by another import with different content: conflict; '
                    'give the row a new reference', w.reference) END,
           'conflict'
      FROM pg_temp.fl_imp_work w
      JOIN fl.import_line l ON l.namespace = 'payments:' || w.unit || CASE WHEN w.reg_other THEN ns_other ELSE ns_own END
                           AND l.reference = CASE WHEN w.reg_other THEN coalesce(w.reg_ref, w.reference)
                                                  ELSE w.reference END
      LEFT JOIN fl.import_batch b ON b.id = l.batch_id
     WHERE w.valid AND l.content_hash <> w.h;
  END IF;
  probs := fl._imp_problems();
  IF probs IS NOT NULL THEN RETURN probs; END IF;

  -- 3. The new rows per (entry group, chunk, category): count, total and the hash of
  --    their hashes in file order — one sort on integers. An entry is one entry group
  --    and chunk: past 50,000 rows a group is cut every 50,000 rows in file order, so an
  --    entry stays a bounded size (rare: re-aggregated only then).
  CREATE TEMP TABLE fl_imp_gc ON COMMIT DROP AS
  SELECT w.eg, w.chunk, w.cat, count(*)::int AS n_rows, sum(w.fen)::bigint AS total,
         sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)) AS chash,
         sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8')) AS refs
    FROM pg_temp.fl_imp_work w
   WHERE w.reg_h IS NULL
   GROUP BY w.eg, w.chunk, w.cat;
  IF (SELECT max(n) > 50000 FROM (SELECT sum(c.n_rows) AS n FROM pg_temp.fl_imp_gc c GROUP BY c.eg) m) THEN
    UPDATE pg_temp.fl_imp_work w SET chunk = r.chunk
      FROM (SELECT w0.row_no, ((row_number() OVER (PARTITION BY w0.eg ORDER BY w0.row_no) - 1) / 50000)::int AS chunk
              FROM pg_temp.fl_imp_work w0 WHERE w0.reg_h IS NULL) r
     WHERE r.row_no = w.row_no AND r.chunk > 0;
    TRUNCATE pg_temp.fl_imp_gc;
    INSERT INTO pg_temp.fl_imp_gc
    SELECT w.eg, w.chunk, w.cat, count(*)::int, sum(w.fen)::bigint, sha256(string_agg(w.h, ''::bytea ORDER BY w.row_no)),
           sha256(convert_to(string_agg(w.reference, E'\n' ORDER BY w.row_no), 'UTF8'))
      FROM pg_temp.fl_imp_work w
     WHERE w.reg_h IS NULL
     GROUP BY w.eg, w.chunk, w.cat;
  END IF;
  ANALYZE pg_temp.fl_imp_gc;

  CREATE TEMP TABLE fl_imp_ent ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY c.eg, c.chunk)::int AS ord, c.eg, c.chunk, g.d, g.unit, g.book, g.comp,
         g.paid_from, g.holder, c.n_rows, c.total, c.chash,
         -- (0060, ATTACK7 U11) Money out of a county's expenditure account at once is its own
         -- officer's alone (its claims); the bureau's rows paid from it are held (below).
         (u.role <> 'officer' AND g.holder = 'county_exp') AS held,
         format('payments:%s:%s:%s:%s:%s:%s%s', g.d, g.unit, g.book, coalesce(nullif(g.comp, ''), '-'), g.paid_from,
                CASE WHEN ns_own <> '' THEN 'bureau:' ELSE '' END, left(encode(c.refs, 'hex'), 32)) AS key
    FROM (SELECT c.eg, c.chunk, sum(c.n_rows)::int AS n_rows, sum(c.total)::bigint AS total,
                 sha256(string_agg(c.chash, ''::bytea ORDER BY c.cat)) AS chash,
                 sha256(string_agg(c.refs, ''::bytea ORDER BY c.cat)) AS refs
            FROM pg_temp.fl_imp_gc c GROUP BY c.eg, c.chunk) c
    JOIN (SELECT DISTINCT ON (g0.eg) g0.* FROM pg_temp.fl_imp_grp g0 WHERE g0.ok ORDER BY g0.eg) g ON g.eg = c.eg;
  ANALYZE pg_temp.fl_imp_ent;

  -- (0030, ATTACK4 Q1, Q5) Rows paid from the pooled city expenditure account pay out of the
  -- unit's own share of it: checked here, before the batch, any posting or any lock (a caller
  -- that stays in its refused transaction holds nothing another office needs). Read without a
  -- lock: the constraint trigger account_pooled_share checks it again at commit.
  SELECT e.book, e.unit, e.comp, sum(e.total)::bigint AS total, coalesce(max(a.balance), 0)::bigint AS held INTO pool
    FROM pg_temp.fl_imp_ent e
    LEFT JOIN fl.account a ON a.book = e.book AND a.chart_code = '1004' AND a.unit = e.unit AND a.holder = 'city_exp'
                          AND a.component = e.comp
   WHERE e.holder = 'city_exp'
   GROUP BY e.book, e.unit, e.comp
  HAVING sum(e.total) > coalesce(max(a.balance), 0)
   ORDER BY 1, 2, 3 LIMIT 1;
  IF FOUND THEN
    PERFORM fl.refuse('pooled_share', format(
      'unit %s''s share of the City fund expenditure account (%s%s) holds %s; the rows paid from it for that unit '
      'total %s: a unit pays out of a pooled account only the money it holds there, the rest is other units'' money '
      '(for a county: what city finance disbursed for it and the bureau has not settled yet); nothing was imported',
      pool.unit, pool.book, CASE WHEN pool.comp <> '' THEN ', ' || pool.comp ELSE '' END, fl.fmt_fen(pool.held),
      fl.fmt_fen(pool.total)), 'check_violation');
  END IF;

  -- 4. Batch, accounts, entries and the register, in a block that a reference used twice
  --    in the file undoes: then nothing is written and the duplicates are the answer.
  BEGIN
    bid := fl._imp_batch('payments', p_file, p_sha256);
    -- The accounts: each entry's debit accounts (one per category) and its credit account.
    CREATE TEMP TABLE fl_imp_map ON COMMIT DROP AS
    SELECT c.eg, c.chunk, c.cat, e.ord, e.d, e.book, cat.chart, e.unit, e.comp, NULL::bigint AS entry_id,
           NULL::int AS account_id, NULL::boolean AS posted
      FROM pg_temp.fl_imp_gc c
      JOIN pg_temp.fl_imp_ent e ON e.eg = c.eg AND e.chunk = c.chunk
      JOIN (VALUES (1, '5001.inpatient'), (2, '5001.outpatient'), (3, '5001.chronic'), (4, '5001.outpatient_pooled'),
                   (5, '5001.maternity_medical'), (6, '5001.maternity_allowance'), (7, '5001.pharmacy'),
                   (8, '5001.other'), (9, '5101')) cat(no, chart) ON cat.no = c.cat;
    INSERT INTO pg_temp.fl_imp_acc (book, chart, unit, holder, comp)
    SELECT DISTINCT m.book, m.chart, m.unit, '', m.comp FROM pg_temp.fl_imp_map m
    UNION
    SELECT DISTINCT e.book, '1004', e.unit, e.holder, e.comp FROM pg_temp.fl_imp_ent e;
    PERFORM fl._imp_accounts();
    PERFORM fl._imp_entries('payments', format(
      $q$SELECT e.ord, e.book, e.d,
                format('待遇支出 benefit payments %%s unit %%s from %%s: %%s rows (%%s)', e.d, e.unit, e.holder, e.n_rows, %L) AS memo,
                e.key, jsonb_build_object('import_batch', %s, 'file', %L, 'rows', e.n_rows) AS source, e.chash
           FROM pg_temp.fl_imp_ent e WHERE NOT e.held$q$, p_file, bid, p_file));
    -- (0060, ATTACK7 U11) The bureau's rows paid from a county's expenditure account
    -- (Dr 5001.<category> / Cr 1004 county_exp) are held, as 0051 holds register clear: the
    -- entry posts only when city finance or a second reviewer confirms it (fl.confirm_entry).
    -- Their references are registered now (no entry yet, as 0052's held openings): the same
    -- file again skips them, and the county's officer cannot import the claim a second time.
    IF EXISTS (SELECT 1 FROM pg_temp.fl_imp_ent e WHERE e.held) THEN
      SELECT array_agg(h.held_id ORDER BY h.ord) INTO held
        FROM fl._hold(u, 'payments',
               (SELECT array_agg(ROW(e.ord, e.book, e.d,
                                     format('待遇支出 benefit payments %s unit %s from %s: %s rows (%s)', e.d, e.unit,
                                            e.holder, e.n_rows, p_file),
                                     'payments', e.key, NULL, NULL,
                                     jsonb_build_object('import_batch', bid, 'file', p_file, 'rows', e.n_rows),
                                     e.chash)::fl.new_entry ORDER BY e.ord)
                  FROM pg_temp.fl_imp_ent e WHERE e.held),
               (SELECT array_agg(x.p ORDER BY (x.p).ord, (x.p).pos) FROM (
                  SELECT ROW(e.ord, 0, e.book, '1004', e.unit, e.holder, e.comp, 'C', e.total, NULL, NULL)::fl.new_posting AS p
                    FROM pg_temp.fl_imp_ent e WHERE e.held
                  UNION ALL
                  SELECT ROW(m.ord, (row_number() OVER (PARTITION BY m.ord ORDER BY w.row_no))::int, m.book, m.chart,
                             m.unit, '', m.comp, 'D', w.fen, w.reference, w.provider)::fl.new_posting
                    FROM pg_temp.fl_imp_work w
                    JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
                    JOIN pg_temp.fl_imp_ent e ON e.ord = m.ord AND e.held
                   WHERE w.reg_h IS NULL) x)) h;
      SELECT coalesce(sum(e.n_rows), 0)::int INTO n_held FROM pg_temp.fl_imp_ent e WHERE e.held;
    END IF;
    -- The map the million rows join to, on integers: (entry group, chunk, category) ->
    -- (entry, debit account).
    UPDATE pg_temp.fl_imp_map m SET entry_id = r.entry_id, posted = (r.status = 'posted'), account_id = a.id
      FROM pg_temp.fl_imp_res r, pg_temp.fl_imp_acc a
     WHERE r.ord = m.ord AND a.book = m.book AND a.chart = m.chart AND a.unit = m.unit AND a.holder = ''
       AND a.comp = m.comp;
    ANALYZE pg_temp.fl_imp_map;

    -- (0075) The register in the file's order (the row table's), not sorted by key: the
    -- batch digest (fl._record_import_lines) orders the lines by row_no, so rows that come
    -- in row_no order make its sort a single pass, and the sort of a million references by
    -- key (their first eight bytes alike, every comparison a full one) is gone.
    INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no)
    SELECT 'payments:' || m.unit || ns_own, w.reference, w.h, m.entry_id, bid, w.row_no
      FROM pg_temp.fl_imp_work w
      JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
     WHERE w.reg_h IS NULL;
    GET DIAGNOSTICS n_new = ROW_COUNT;
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS con = CONSTRAINT_NAME;
    IF con IS DISTINCT FROM 'import_line_pkey' THEN RAISE; END IF;
    PERFORM fl._imp_repeats(false);
    probs := fl._imp_problems();
    IF probs IS NULL THEN RAISE; END IF;  -- another import wrote the reference meanwhile
    RETURN probs;
  END;

  -- The postings: per entry its credit on 1004, then a debit per row (line_ref = the
  -- row's reference, memo = provider).
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT r.entry_id, a.id, 'C', e.total, e.d, e.unit, NULL, NULL
    FROM pg_temp.fl_imp_ent e
    JOIN pg_temp.fl_imp_res r ON r.ord = e.ord AND r.status = 'posted'
    JOIN pg_temp.fl_imp_acc a ON a.book = e.book AND a.chart = '1004' AND a.unit = e.unit AND a.holder = e.holder
                             AND a.comp = e.comp
   ORDER BY e.ord;
  -- The debits, one statement: the posting trigger checks them per distinct (entry,
  -- account), so the statement's size costs a hash aggregate, not a join per row.
  INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit, line_ref, memo)
  SELECT m.entry_id, m.account_id, 'D', w.fen, m.d, m.unit, w.reference, w.provider
    FROM pg_temp.fl_imp_work w
    JOIN pg_temp.fl_imp_map m ON m.eg = w.eg AND m.chunk = w.chunk AND m.cat = w.cat
   WHERE w.reg_h IS NULL AND m.posted;

  -- A large batch changes the journal's statistics more than autovacuum will notice for
  -- a while; plans made meanwhile (verify's, reports') assumed a small table and were
  -- slow enough not to finish. ANALYZE counts this transaction's own rows.
  IF n_new >= 100000 THEN
    ANALYZE fl.posting, fl.entry, fl.account_day, fl.import_line;
  END IF;
  RETURN fl._imp_finish(bid, n_new, jsonb_build_object('held', to_jsonb(coalesce(held, '{}')), 'rows_held', n_held));
END $function$;
