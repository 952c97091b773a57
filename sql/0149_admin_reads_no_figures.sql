-- ATTACK18 G6: the admin read every unit's rule figures through the confined readers.
--
-- fl.year_figures_read_at, fl.year_figures_read (0104) and fl.year_closes (0008) are SECURITY
-- DEFINER readers that confine by fl.my_unit(): NULL — "every unit" — for the city's roles, and
-- also for the admin, who has no unit. They were granted to fl_admin with the other roles, so the
-- admin, who holds no SELECT on the journal and whose monitor is refused, printed every unit's
-- revenue, expenditure and surplus (`report shortfall`) and the closed years' stored tables.
-- The admin manages users and reference data (docs/security.md's role table): it executes none of
-- them now. tests/security/test_admin_reader_sweep.py lists every definer function the admin may
-- execute that reads fl.my_unit() or fl.sees_unit, and every table it may read whose row security
-- does, each with why it hands the admin no unit's figures.
REVOKE EXECUTE ON FUNCTION fl.year_figures_read_at(int, text, date), fl.year_figures_read(int, text),
  fl.year_closes(int) FROM fl_admin;
