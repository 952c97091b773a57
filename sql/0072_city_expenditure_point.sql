-- 0072 (ATTACK9 W2 after W6): expenditure 5xxx is a city figure from 0067, judged from 0067's point.
--
-- 0067 made an officer's manual entry on expenditure 5xxx the city's to confirm, but both
-- verdicts judged it from 0058's 'city_figures' point (0068): on a ledger past 0058 before
-- 0067, a second officer's confirmation of an officer's manual 5xxx entry — allowed then — was
-- a finding forever after an honest upgrade. The 5xxx part is its own rule, 'city_expenditure'
-- (revision 0067), recorded here by fl._rule_takes_effect exactly as 0068 recorded 0064's
-- money_in: a database that already had 0067 when this upgrade began has it from the journal's
-- beginning (0); otherwise the point is the greatest entry now (0067 ran in this same upgrade,
-- with the journal's writers stopped). verify's held_entries and ledger.core.rules judge 5xxx
-- only above this point, 3xxx/4xxx and the city's bank accounts above 0058's.

SELECT fl._rule_takes_effect('city_expenditure', '0067');
