-- 0019: what the second red-team pass (coord/ATTACK2.md) found in the write side, fixed as classes.
--
-- 1. A period is closed only after it has ended (B10). `fl.close_period('2027-06-01')` succeeded
--    in December 2026 and `fl.close_year` of the running year closed all its months: closed
--    months are append-only and never reopen, so one reviewer stopped every unit's postings for
--    months to come, for good. Whatever inserts a closed month (close_period, close_year, any later
--    function) now passes a row trigger that refuses a month whose last day has not passed in the
--    region's own time zone (fl.setting region.time_zone; the session's TimeZone, which any caller
--    may set, plays no part).
-- 2. One ledger's admin no longer takes over another ledger's user (B1). Roles are cluster-wide:
--    fl.add_user accepted an existing login that was already a fundledger user (member of
--    fl_<role>) of another database on the same server, after which that admin's
--    fl.set_password/fl.set_login changed the other ledger's user — its password (so the admin
--    logged into the other ledger as, say, its reviewer) or its login. Only the operator (a
--    superuser or a member of fl_owner: the DBA, who sees both ledgers) may register such a
--    shared login now; an admin gets user_role_taken.

CREATE FUNCTION fl.closed_period_ended() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  tz    text := coalesce((SELECT s.value ->> 'time_zone' FROM fl.setting s WHERE s.key = 'region'), 'Asia/Shanghai');
  today date := (pg_catalog.now() AT TIME ZONE tz)::date;
BEGIN
  IF NEW.month IS NOT NULL AND (NEW.month + interval '1 month')::date > today THEN
    PERFORM fl.refuse('period_not_ended', format(
      'period %s has not ended (today is %s in %s): a month is closed after its last day, a year after 31 December',
      to_char(NEW.month, 'YYYY-MM'), today, tz));
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION fl.closed_period_ended() FROM PUBLIC;

CREATE TRIGGER closed_period_ended BEFORE INSERT ON fl.closed_period
  FOR EACH ROW EXECUTE FUNCTION fl.closed_period_ended();

CREATE OR REPLACE FUNCTION fl.add_user(p_name text, p_role text, p_unit text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'fl', 'pg_temp'
AS $function$
DECLARE
  me       fl.app_user;
  other    text;
  operator boolean := fl._is_operator();
BEGIN
  -- The database owner (or a superuser) bootstraps users; otherwise only admins add them.
  IF NOT operator THEN
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
  -- (0019) A login that is already a fundledger user — of another ledger on this server — is one
  -- person's login in both: only the operator, who sees both, may register it here. An admin who
  -- could would then set its password or disable it in the other ledger too.
  IF other = '' AND NOT operator AND EXISTS (
       SELECT 1 FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
         JOIN pg_catalog.pg_roles r ON r.oid = m.member
        WHERE r.rolname = p_name AND g.rolname ~ '^fl_') THEN
    other := 'a fundledger user of another ledger on this server (only the operator may register it here)';
  END IF;
  IF other IS NULL THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN', p_name);
      EXECUTE format('GRANT %I TO %I', 'fl_' || p_role, p_name);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      -- Another database's init made it a moment ago (and has committed): judge it.
      other := nullif(fl._role_unfit(p_name, p_role), '');
      IF other IS NULL AND NOT operator THEN
        other := 'a fundledger user of another ledger on this server (only the operator may register it here)';
      END IF;
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
END $function$;

-- 3. An officer reads no other unit's data in an entry's source, whatever its shape (B13).
--    0016b dropped the top-level "unit" key and the elements of top-level lists that name
--    another unit; a city role's manual entry on several units with a source such as
--    [{"unit": "230881", …}] (a top-level list was returned whole), {"split": {"230881": …}} or
--    {"rows": [{"x": {"unit": "230881"}}]} reached every unit's officer as written. Now, at any
--    depth: an object naming another unit ("unit": …) is left out, and so is a key that is
--    another unit's code.
CREATE FUNCTION fl._source_for_unit(p jsonb, p_unit text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE
  out  jsonb;
  k    text;
  v    jsonb;
  x    jsonb;
  gone boolean := false;
BEGIN
  CASE pg_catalog.jsonb_typeof(p)
  WHEN 'object' THEN
    IF p ? 'unit' AND (p ->> 'unit') IS DISTINCT FROM p_unit THEN
      RETURN NULL;
    END IF;
    out := '{}'::jsonb;
    FOR k, v IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p) e LOOP
      IF k IS DISTINCT FROM p_unit AND EXISTS (SELECT 1 FROM fl.unit u WHERE u.code = k) THEN
        gone := true;
        CONTINUE;
      END IF;
      x := fl._source_for_unit(v, p_unit);
      IF x IS NULL THEN
        gone := true;
      ELSE
        out := out || pg_catalog.jsonb_build_object(k, x);
      END IF;
    END LOOP;
    -- An object left empty by what was taken out goes too (its place would tell of it).
    RETURN CASE WHEN gone AND out = '{}'::jsonb THEN NULL ELSE out END;
  WHEN 'array' THEN
    SELECT coalesce(pg_catalog.jsonb_agg(z.y ORDER BY z.o), '[]'::jsonb) INTO out
      FROM (SELECT fl._source_for_unit(a.e, p_unit) AS y, a.o
              FROM pg_catalog.jsonb_array_elements(p) WITH ORDINALITY a(e, o)) z
     WHERE z.y IS NOT NULL;
    RETURN out;
  ELSE
    RETURN p;
  END CASE;
END $$;
REVOKE ALL ON FUNCTION fl._source_for_unit(jsonb, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION fl.entry_source(p_entry bigint) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, fl, pg_temp AS $$
  SELECT CASE WHEN m.unit IS NULL OR e.source IS NULL THEN e.source
              ELSE coalesce(fl._source_for_unit(e.source, m.unit), '{}'::jsonb) END
    FROM fl.entry e
    CROSS JOIN (SELECT u.unit FROM fl.app_user u WHERE u.name = session_user) m
   WHERE e.id = p_entry
     AND (m.unit IS NULL OR EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = e.id AND p.unit = m.unit))
$$;
