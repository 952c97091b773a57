-- 0099 (ATTACK14 V6): in a book with components, the benefit category decides which component pays.
--
-- BRIEF §2/§4: in the employees' book the pooled fund (统筹基金) pays 住院/门诊大病/门诊统筹/生育医疗/
-- 生育津贴 and the personal accounts (个人账户基金) pay 住院/门诊/药店; the components never pay for
-- each other (不得相互挤占). The year-end shortfall rule and the months payable read the pooled
-- component only. Nothing held a category to its component: a county officer imported its maternity
-- allowances (5001.maternity_allowance, pooled only) as component personal, posted at once from its
-- own account; the pooled fund's expenditure — and the deficit its local government covers — fell by
-- the whole amount, the insured's personal accounts paid a pooled benefit, verify green.
--
-- The class is an account: every posting of a category on a component goes on the account
-- (book, 5001.<category>, unit, holder, component), made on first use by fl.account_for on every
-- path (an import, a manual entry, a held entry's confirmation) or by a raw INSERT. So the rule is
-- held where an account is made: fl.account_category_component refuses a new account of a category
-- of one component with another — a pooled-only category (门诊大病 chronic, 门诊统筹 outpatient_pooled,
-- 生育医疗 maternity_medical, 生育津贴 maternity_allowance) on any component but its book's pooled one,
-- a personal-only category (门诊 outpatient, 药店 pharmacy) on the pooled one. 住院 (inpatient) is
-- either's, as the BRIEF lists; the other categories and the books without components are left as
-- they were. No posting pays for it: accounts are made once.
--
-- An account made before this release with such a pair stays (nothing is deleted); the independent
-- verdict names every entry above this rule's point (fl.rule_point 'category_component') posting on
-- one but a reversal (account_rules, ledger.core.rules.category_component_problem), so a ledger that
-- already holds one is not red for its past, and one more payment on it is.

CREATE FUNCTION fl.category_component_problem(p_chart text, p_component text, p_pooled text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN p_component = '' OR p_pooled = '' THEN NULL
    WHEN p_chart IN ('5001.chronic', '5001.outpatient_pooled', '5001.maternity_medical', '5001.maternity_allowance')
         AND p_component <> p_pooled
      THEN format('%s is a benefit of the %s fund only (统筹基金支付), not of component %s', p_chart, p_pooled, p_component)
    WHEN p_chart IN ('5001.outpatient', '5001.pharmacy') AND p_component = p_pooled
      THEN format('%s is a benefit of the personal accounts only (个人账户支付), not of the %s fund', p_chart, p_pooled)
  END
$$;

CREATE FUNCTION fl.account_category_component() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE bad record;
BEGIN
  SELECT n.book, n.chart_code, n.unit, n.component, b.pooled_component AS pooled
    INTO bad
    FROM new_rows n JOIN fl.book b ON b.code = n.book
   WHERE fl.category_component_problem(n.chart_code, n.component, b.pooled_component) IS NOT NULL
   ORDER BY n.id LIMIT 1;
  IF FOUND AND bad.component <> bad.pooled THEN
    PERFORM fl.refuse('category_component', format(
      'book %s, unit %s: %s is a benefit of the %s fund only (统筹基金支付), not of component %s — the components '
      'never pay for each other (不得相互挤占); nothing was written: correct the component column of the file',
      bad.book, bad.unit, bad.chart_code, bad.pooled, bad.component));
  ELSIF FOUND THEN
    PERFORM fl.refuse('category_component', format(
      'book %s, unit %s: %s is a benefit of the personal accounts only (个人账户支付), not of the %s fund — the '
      'components never pay for each other (不得相互挤占); nothing was written: correct the component column of the file',
      bad.book, bad.unit, bad.chart_code, bad.pooled));
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION fl.account_category_component() FROM PUBLIC;
CREATE TRIGGER account_category_component AFTER INSERT ON fl.account
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fl.account_category_component();

SELECT fl._rule_takes_effect('category_component', '0099');
