-- fundledger migration 0009: limits and user checks (issue 14, part B).
--
--   * amounts: one posting holds at most 10^15 fen (10 trillion yuan); running totals
--     (account debits/credits and day rows, bank balances and reservations) at most
--     4×10^18 fen, so no sum the ledger keeps can reach the end of bigint (9.2×10^18):
--     a refusal names the cap instead of an overflow in some later statement.
--   * entry dates: from the region's first handover year (setting first_year) to the
--     current year + 1, refused by the entry trigger whoever inserts.
--   * fl.add_user: a name PostgreSQL and people can both read; never a group role, a
--     reserved or a superuser role, nor a role this ledger did not make for that role.

-- ---------------------------------------------------------------------------
-- 1. Caps. NOT VALID: rows already stored are not re-checked here (a ledger that holds
--    a larger amount keeps it and verify reports what it finds); every new or updated
--    row is checked.
-- ---------------------------------------------------------------------------
ALTER TABLE fl.posting ADD CONSTRAINT posting_amount_cap
  CHECK (amount <= 1000000000000000) NOT VALID;
ALTER TABLE fl.account ADD CONSTRAINT account_totals_cap
  CHECK (debits BETWEEN 0 AND 4000000000000000000 AND credits BETWEEN 0 AND 4000000000000000000) NOT VALID;
ALTER TABLE fl.account_day ADD CONSTRAINT account_day_totals_cap
  CHECK (debits BETWEEN 0 AND 4000000000000000000 AND credits BETWEEN 0 AND 4000000000000000000) NOT VALID;
ALTER TABLE fl.bank_account ADD CONSTRAINT bank_totals_cap
  CHECK (balance <= 4000000000000000000 AND reserved <= 4000000000000000000) NOT VALID;

-- ---------------------------------------------------------------------------
-- 2. Entry dates: closed periods (as before) and the range the region's books cover.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fl.entry_inserted() RETURNS trigger LANGUAGE plpgsql
-- Generic plans: re-planning every statement on every call cost more than running it.
SET search_path = pg_catalog, fl, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  bad   record;
  first int := coalesce((SELECT (s.value #>> '{}')::int FROM fl.setting s WHERE s.key = 'first_year'), 2000);
  last  int := extract(year FROM current_date)::int + 1;
BEGIN
  -- Writers hold ROW EXCLUSIVE on fl.closed_period until they commit (they never block
  -- each other); closing a month takes SHARE ROW EXCLUSIVE, so a close waits for the
  -- entries already in flight and new entries wait for the close — and this statement's
  -- fresh snapshot then sees it. No entry can commit into a month closed meanwhile.
  LOCK TABLE fl.closed_period IN ROW EXCLUSIVE MODE;
  SELECT n.id, n.entry_date, n.book, c.month INTO bad
    FROM new_entries n LEFT JOIN fl.closed_period c ON c.month = date_trunc('month', n.entry_date)::date
   WHERE c.month IS NOT NULL OR n.entry_date < make_date(first, 1, 1) OR n.entry_date > make_date(last, 12, 31)
   LIMIT 1;
  IF FOUND THEN
    IF bad.month IS NULL THEN
      PERFORM fl.refuse('entry_date_range', format(
        'entry dated %s refused: this ledger takes dates from %s (the region''s first handover year) to %s',
        bad.entry_date, first, last));
    END IF;
    PERFORM fl.refuse('period_closed',
      format('entry dated %s refused: the period %s is closed', bad.entry_date, to_char(bad.entry_date, 'YYYY-MM')));
  END IF;
  INSERT INTO fl.txn_gate (first_entry, xid, ids)
  SELECT min(id), pg_current_xact_id(), array_agg(id ORDER BY id) FROM new_entries HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- ---------------------------------------------------------------------------
-- 3. Users. A user is a PostgreSQL login role made for this ledger; the check is
--    here (not only in the CLI) because any admin can call fl.add_user directly.
-- ---------------------------------------------------------------------------
-- Why an existing role may not become a fundledger user of p_role: NULL when no role
-- has that name, '' when it may, else the reason. It may when this ledger made it, for
-- the same role, in another database of this server: a login that is a member of
-- fl_<role> and of nothing else, with no attribute beyond LOGIN and no members of its
-- own (but the owner, which administers the logins it creates). Where the owner cannot
-- create roles (PostgreSQL 15 and earlier, migration 0008) the DBA creates the login
-- first: a plain login in no group is then taken too. A group role, the bootstrap
-- superuser, a DBA's login with rights, the schema owner or a member of another group is
-- refused: registering it would hand its rights to a fundledger user, or fundledger
-- rights to every member of it.
CREATE FUNCTION fl._role_unfit(p_name text, p_role text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE WHEN rl.rolsuper THEN 'a superuser'
              WHEN NOT rl.rolcanlogin OR x.has_members THEN 'a group role'
              WHEN x.owner THEN 'the owner of the ledger'
              WHEN rl.rolcreaterole OR rl.rolcreatedb OR rl.rolreplication OR rl.rolbypassrls
                THEN 'a login with rights of its own (CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS)'
              WHEN x.groups IS NULL AND (SELECT me.rolcreaterole OR me.rolsuper FROM pg_catalog.pg_roles me
                                          WHERE me.rolname = current_user)
                THEN 'a login this ledger did not create'
              WHEN x.groups IS NULL THEN ''
              WHEN x.groups IS DISTINCT FROM ARRAY['fl_' || p_role]
                THEN format('a member of %s', array_to_string(x.groups, ', '))
              ELSE '' END
    FROM pg_catalog.pg_roles rl
    CROSS JOIN LATERAL (
      SELECT (SELECT array_agg(g.rolname::text ORDER BY g.rolname) FROM pg_catalog.pg_auth_members m
                JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = rl.oid) AS groups,
             EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles mr ON mr.oid = m.member
                      WHERE m.roleid = rl.oid AND mr.rolname <> 'fl_owner'
                        AND mr.oid <> (SELECT ns.nspowner FROM pg_catalog.pg_namespace ns WHERE ns.nspname = 'fl')
                     ) AS has_members,
             EXISTS (SELECT 1 FROM pg_catalog.pg_namespace ns WHERE ns.nspowner = rl.oid AND ns.nspname = 'fl') AS owner) x
   WHERE rl.rolname = p_name
$$;
REVOKE ALL ON FUNCTION fl._role_unfit(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.add_user(p_name text, p_role text, p_unit text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  me    fl.app_user;
  other text;
BEGIN
  -- The database owner (or a superuser) bootstraps users; otherwise only admins add them.
  IF NOT (SELECT rl.rolsuper OR pg_catalog.pg_has_role(session_user,
                   (SELECT ns.nspowner FROM pg_catalog.pg_namespace ns WHERE ns.nspname = 'fl'), 'USAGE')
            FROM pg_catalog.pg_roles rl WHERE rl.rolname = session_user) THEN
    me := fl.require_role(ARRAY['admin'], 'add users');
  END IF;
  IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
    PERFORM fl.refuse('user_name', format(
      'user name %s is not allowed: 1 to 63 characters, a lower-case letter first, then lower-case letters, '
      'digits, ''_'', ''.'' or ''-'' (no spaces)', coalesce(quote_literal(p_name), 'NULL')));
  END IF;
  IF p_name ~ '^(fl_|pg_)' OR p_name IN ('postgres', 'public', 'none', 'current_role', 'current_user',
                                          'session_user', 'current_schema', 'user') THEN
    PERFORM fl.refuse('user_name', format(
      'user name %s is reserved (group roles fl_*, PostgreSQL''s own roles pg_* and postgres, SQL role keywords)',
      p_name));
  END IF;
  IF p_role IS NULL OR p_role NOT IN ('officer','reviewer','finance','auditor','admin') THEN
    PERFORM fl.refuse('bad_role', format('unknown role ''%s'' (officer, reviewer, finance, auditor, admin)', p_role));
  END IF;
  IF p_role = 'officer' AND p_unit IS NULL THEN
    PERFORM fl.refuse('officer_has_unit', 'an officer is bound to one unit: give --unit');
  END IF;
  IF p_role <> 'officer' AND p_unit IS NOT NULL THEN
    PERFORM fl.refuse('officer_has_unit', format('only officers are bound to a unit; a %s acts for the whole city', p_role));
  END IF;
  IF p_unit IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fl.unit WHERE code = p_unit) THEN
    PERFORM fl.refuse('account_unit', format('unknown unit ''%s''', p_unit), 'foreign_key_violation');
  END IF;
  IF EXISTS (SELECT 1 FROM fl.app_user WHERE name = p_name) THEN
    PERFORM fl.refuse('user_exists', format('user %s already exists', p_name), 'unique_violation');
  END IF;
  -- Roles are cluster-wide: a role of this name may exist already (fl._role_unfit).
  other := fl._role_unfit(p_name, p_role);
  IF other IS NULL THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN', p_name);
      EXECUTE format('GRANT %I TO %I', 'fl_' || p_role, p_name);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      -- Another database's init made it a moment ago (and has committed): judge it.
      other := nullif(fl._role_unfit(p_name, p_role), '');
    END;
  ELSIF other = '' AND NOT pg_catalog.pg_has_role(p_name, 'fl_' || p_role, 'MEMBER') THEN
    EXECUTE format('GRANT %I TO %I', 'fl_' || p_role, p_name);   -- a DBA's plain login (see fl._role_unfit)
  END IF;
  IF other <> '' THEN
    PERFORM fl.refuse('user_role_taken', format(
      'the PostgreSQL role %s already exists and is %s; it cannot become a fundledger %s: choose another name',
      p_name, other, p_role), 'insufficient_privilege');
  END IF;
  INSERT INTO fl.app_user (name, role, unit) VALUES (p_name, p_role, p_unit);
END $$;
REVOKE ALL ON FUNCTION fl.add_user(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fl.add_user(text, text, text) TO fl_officer, fl_reviewer, fl_finance, fl_auditor, fl_admin;
