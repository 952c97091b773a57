-- 0115 (ATTACK15 A1): which component may carry an account is an allow-list, per account of the chart.
--
-- 0099 (ATTACK14 V6) held a benefit category to its component by naming what was refused: the four
-- pooled-only categories off the pooled fund, 门诊/药店 on it. Every account it did not name passed:
-- a county officer imported its claims in EMP with category other (其他, 5001.other) or
-- critical_illness (大病保险, 5101) and component personal, posted at once; the pooled fund's
-- expenditure — and the deficit its government owes at year end — fell by the whole amount. The
-- same hole, one word over, for every revenue and expenditure account: 4101 (财政补贴, wholly the
-- pooled fund's) or 5201 (转移支出, wholly the personal accounts') on the other component by hand.
--
-- BRIEF §2/§4 says what each fund carries, so the rule is now the list of what is allowed:
-- fl.chart_component_roles(code) names the roles that may carry an account in a book with
-- components — "pooled" (the book's pooled component) and "personal" (any other) — and nothing
-- else does. A revenue or expenditure code the list does not name is carried by no component, so a
-- category added to the chart later is refused in the employees' book until someone says which
-- fund pays it (ATTACK14 V1's lesson). Balance-sheet accounts are both's; books without components
-- (the residents') carry every account. The list (ledger.core.chart, each account's roles):
--   pooled only (统筹基金):  4101.* (财政补贴, BRIEF: closes wholly to 统筹基金), 4401, 4402 (调剂金 and
--                            flows between levels), 5001.chronic / outpatient_pooled /
--                            maternity_medical / maternity_allowance, 5301, 5302
--   personal only (个人账户): 4301, 5201 (BRIEF: close wholly to 个人账户基金), 5001.outpatient,
--                            5001.pharmacy
--   both:                    4001, 4201, 4501, 4601, 4602, 5001.inpatient (住院 is either's), 5401
--   neither:                 5001.other (其他 is the residents' category), 5101 (大病保险 is the
--                            residents' book's)
--
-- Enforced on every path:
--   * an account is made once (fl.account_for on every write path, or a raw INSERT):
--     fl.account_category_component (0099's trigger, redefined) refuses a new account off the list,
--     saying which component or book carries it and what the component chosen carries;
--   * an account made before this release off the list stays (nothing is deleted), but no new entry
--     posts it — journal or held, any path (fl._post by the DBA included) — but a reversal (which
--     undoes one made before) or the year-end close (which moves what is there to the fund
--     balance): fl.posting_category_component, fl.pending_posting_category_component (0101's
--     pattern: only the distinct accounts of the statement are looked at).
-- The independent verdicts (ledger.core.rules.category_component_problem, word for word) name every
-- entry above this rule's point (fl.rule_point 'category_component_allow') posting on such an
-- account but a reversal or a close; between 0099's point and this one, 0099's list judges (an
-- entry is not judged by a rule written after it).

CREATE FUNCTION fl.chart_component_roles(p_chart text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE
    WHEN left(p_chart, 1) NOT IN ('4', '5') THEN ARRAY['pooled', 'personal']
    ELSE coalesce((SELECT v.roles FROM (VALUES
      ('4001', ARRAY['pooled', 'personal']), ('4101', ARRAY['pooled']), ('4101.central', ARRAY['pooled']),
      ('4101.provincial', ARRAY['pooled']), ('4101.city', ARRAY['pooled']), ('4101.county', ARRAY['pooled']),
      ('4101.shortfall', ARRAY['pooled']), ('4201', ARRAY['pooled', 'personal']), ('4301', ARRAY['personal']),
      ('4401', ARRAY['pooled']), ('4402', ARRAY['pooled']), ('4501', ARRAY['pooled', 'personal']),
      ('4601', ARRAY['pooled', 'personal']), ('4602', ARRAY['pooled', 'personal']),
      ('5001', ARRAY['pooled', 'personal']), ('5001.inpatient', ARRAY['pooled', 'personal']),
      ('5001.outpatient', ARRAY['personal']), ('5001.chronic', ARRAY['pooled']),
      ('5001.outpatient_pooled', ARRAY['pooled']), ('5001.maternity_medical', ARRAY['pooled']),
      ('5001.maternity_allowance', ARRAY['pooled']), ('5001.pharmacy', ARRAY['personal']),
      ('5001.other', ARRAY[]::text[]), ('5101', ARRAY[]::text[]), ('5201', ARRAY['personal']),
      ('5301', ARRAY['pooled']), ('5302', ARRAY['pooled']), ('5401', ARRAY['pooled', 'personal'])
    ) v(code, roles) WHERE v.code = p_chart), ARRAY[]::text[])
  END
$$;

-- 0099's verdict, now read off the list (same signature, same callers: 0099's trigger, the imports).
CREATE OR REPLACE FUNCTION fl.category_component_problem(p_chart text, p_component text, p_pooled text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE
    WHEN p_component = '' OR p_pooled = '' THEN NULL
    WHEN CASE WHEN p_component = p_pooled THEN 'pooled' ELSE 'personal' END = ANY (fl.chart_component_roles(p_chart))
      THEN NULL
    WHEN fl.chart_component_roles(p_chart) = ARRAY['pooled']
      THEN format('%s is carried by the %s fund only (统筹基金), not by component %s', p_chart, p_pooled, p_component)
    WHEN fl.chart_component_roles(p_chart) = ARRAY['personal']
      THEN format('%s is carried by the personal accounts only (个人账户基金), not by the %s fund', p_chart, p_pooled)
    ELSE format('%s is carried by no component of a book with components (another book''s account), not by %s',
                p_chart, p_component)
  END
$$;

-- The payments import's row check (0106, fl.imp_category_component_problem, called by
-- fl.import_payments) read 0099's two cases: a row off its component was "paid by the pooled fund
-- only" unless on the pooled. Under the list a category may be nobody's in the book (其他, 大病保险 in
-- EMP): such a row is told so — correct its category — instead of "write pooled", which the list
-- would refuse in turn. 0106's two sentences, its signature, SET clause and kind are kept as they were.
CREATE OR REPLACE FUNCTION fl.imp_category_component_problem(p_chart text, p_category text, p_comp text, p_pooled text,
                                                             p_comps text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE
    WHEN fl.category_component_problem(p_chart, p_comp, p_pooled) IS NULL THEN NULL
    WHEN cardinality(fl.chart_component_roles(p_chart)) = 0 THEN format(
      'category %s (%s) is paid by no component of this book (%s): the components never pay for each other '
      '(不得相互挤占, rule category_component); correct its category, or import the row in a book without components',
      p_category, p_chart, array_to_string(p_comps, ', '))
    WHEN p_comp <> p_pooled THEN format(
      'category %s (%s) is paid by the %s fund only (统筹基金支付), not by component %s: the components never pay '
      'for each other (不得相互挤占, rule category_component); write %s in this row''s component column, or correct '
      'its category', p_category, p_chart, p_pooled, p_comp, p_pooled)
    ELSE format(
      'category %s (%s) is paid by the personal accounts only (个人账户支付), not by the %s fund: the components '
      'never pay for each other (不得相互挤占, rule category_component); write %s in this row''s component column, '
      'or correct its category', p_category, p_chart, p_pooled,
      coalesce(nullif(array_to_string(array_remove(p_comps, p_pooled), ' or '), ''), 'a personal component'))
  END
$$;

-- What a component of a book carries, for the refusal's next step: the leaf accounts of the same
-- class (4 revenue, 5 expenditure) the role of p_component may carry.
CREATE FUNCTION fl._component_carries(p_component text, p_pooled text, p_class text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT coalesce(string_agg(c.code, ', ' ORDER BY c.code), '—')
    FROM fl.chart c
   WHERE left(c.code, 1) = p_class
     AND NOT EXISTS (SELECT 1 FROM fl.chart s WHERE s.parent = c.code)
     AND fl.category_component_problem(c.code, p_component, p_pooled) IS NULL
$$;
REVOKE ALL ON FUNCTION fl._component_carries(text, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.account_category_component() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  bad record;
  roles text[];
  what text;
BEGIN
  SELECT n.book, n.chart_code, n.unit, n.component, b.pooled_component AS pooled, b.components AS comps
    INTO bad
    FROM new_rows n JOIN fl.book b ON b.code = n.book
   WHERE fl.category_component_problem(n.chart_code, n.component, b.pooled_component) IS NOT NULL
   ORDER BY n.id LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  roles := fl.chart_component_roles(bad.chart_code);
  what := bad.chart_code || coalesce(' ' || (SELECT c.name_zh FROM fl.chart c WHERE c.code = bad.chart_code), '');
  IF roles = ARRAY['pooled'] THEN
    PERFORM fl.refuse('category_component', format(
      'book %s, unit %s: %s is carried by the %s fund only (统筹基金), not by component %s — the components never '
      'pay for each other (不得相互挤占); nothing was written: post it with component %s (component %s carries %s)',
      bad.book, bad.unit, what, bad.pooled, bad.component, bad.pooled, bad.component,
      fl._component_carries(bad.component, bad.pooled, left(bad.chart_code, 1))));
  ELSIF roles = ARRAY['personal'] THEN
    PERFORM fl.refuse('category_component', format(
      'book %s, unit %s: %s is carried by the personal accounts only (个人账户基金), not by the %s fund — the '
      'components never pay for each other (不得相互挤占); nothing was written: post it with component %s (the %s '
      'fund carries %s)',
      bad.book, bad.unit, what, bad.pooled, array_to_string(array_remove(bad.comps, bad.pooled), ' or '), bad.pooled,
      fl._component_carries(bad.component, bad.pooled, left(bad.chart_code, 1))));
  ELSE
    PERFORM fl.refuse('category_component', format(
      'book %s, unit %s: no component of book %s carries %s (an account of a book without components: %s) — the '
      'components never pay for each other (不得相互挤占); nothing was written: post it in that book, or choose the '
      'account that names what was paid (component %s carries %s)',
      bad.book, bad.unit, bad.book, what,
      coalesce((SELECT string_agg(b.code, ', ' ORDER BY b.code) FROM fl.book b WHERE cardinality(b.components) = 0),
               '—'),
      bad.component, fl._component_carries(bad.component, bad.pooled, left(bad.chart_code, 1))));
  END IF;
  RETURN NULL;
END $$;

-- An account made before this release off the list: no new entry posts it but a reversal or a close.
CREATE FUNCTION fl._category_component_refuse(p_what text, p_kind text, p_book text, p_unit text, p_chart text,
                                              p_component text, p_pooled text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
BEGIN
  PERFORM fl.refuse('category_component', format(
    '%s (a %s entry of book %s) posts %s on component %s for unit %s, an account made before this rule that its '
    'component does not carry — the components never pay for each other (不得相互挤占); nothing was written: the '
    'account takes only reversals and the year-end close; post on an account component %s carries (%s)',
    p_what, p_kind, p_book, p_chart, p_component, p_unit, p_component,
    fl._component_carries(p_component, p_pooled, left(p_chart, 1))));
END $$;
REVOKE ALL ON FUNCTION fl._category_component_refuse(text, text, text, text, text, text, text) FROM PUBLIC;

-- The journal: only the statement's distinct accounts are looked at; an entry looked at only if one
-- of them is off the list.
CREATE FUNCTION fl.posting_category_component() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  acc int[];
  bad record;
BEGIN
  SELECT pg_catalog.array_agg(a.id) INTO acc
    FROM (SELECT DISTINCT x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.id, y.book, y.chart_code, y.component FROM fl.account y
                   WHERE y.id = g.account_id AND y.component <> '' AND left(y.chart_code, 1) IN ('4', '5')
                  OFFSET 0) a ON true
    JOIN fl.book b ON b.code = a.book
   WHERE fl.category_component_problem(a.chart_code, a.component, b.pooled_component) IS NOT NULL;
  IF acc IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT e.id, e.kind, e.book, a.unit, a.chart_code, a.component, b.pooled_component AS pooled INTO bad
    FROM (SELECT DISTINCT x.entry_id, x.account_id FROM new_postings x
           WHERE x.account_id OPERATOR(pg_catalog.=) ANY (acc)) g
    JOIN fl.entry e ON e.id = g.entry_id
    JOIN fl.account a ON a.id = g.account_id
    JOIN fl.book b ON b.code = a.book
   WHERE e.kind NOT IN ('reversal', 'year_close')
   ORDER BY e.id
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl._category_component_refuse(fl.entry_label(bad.id), bad.kind, bad.book, bad.unit, bad.chart_code,
                                          bad.component, bad.pooled);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.posting_category_component() FROM PUBLIC;
CREATE TRIGGER posting_category_component AFTER INSERT ON fl.posting REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION fl.posting_category_component();

-- Held entries: refused when held (fl._hold, or any INSERT of held postings).
CREATE FUNCTION fl.pending_posting_category_component() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  SELECT pe.kind, pe.book, pe.idempotency_key, a.unit, a.chart_code, a.component, b.pooled_component AS pooled
    INTO bad
    FROM (SELECT DISTINCT x.pending_id, x.account_id FROM new_postings x) g
    JOIN LATERAL (SELECT y.unit, y.book, y.chart_code, y.component FROM fl.account y
                   WHERE y.id = g.account_id AND y.component <> '' AND left(y.chart_code, 1) IN ('4', '5')
                  OFFSET 0) a ON true
    JOIN fl.book b ON b.code = a.book
    JOIN LATERAL (SELECT y.kind, y.book, y.idempotency_key, y.id FROM fl.pending_entry y
                   WHERE y.id = g.pending_id OFFSET 0) pe ON true
   WHERE fl.category_component_problem(a.chart_code, a.component, b.pooled_component) IS NOT NULL
     AND pe.kind NOT IN ('reversal', 'year_close')
   ORDER BY pe.id
   LIMIT 1;
  IF FOUND THEN
    PERFORM fl._category_component_refuse(bad.idempotency_key, bad.kind, bad.book, bad.unit, bad.chart_code,
                                          bad.component, bad.pooled);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.pending_posting_category_component() FROM PUBLIC;
CREATE TRIGGER pending_posting_category_component AFTER INSERT ON fl.pending_posting
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION fl.pending_posting_category_component();

SELECT fl._rule_takes_effect('category_component_allow', '0115');
