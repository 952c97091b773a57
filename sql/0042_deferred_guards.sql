-- 0042: a deferred guard runs as the schema's owner.
-- A deferred constraint trigger fires at COMMIT, outside every SECURITY DEFINER function, as
-- the committing login. fl.component_guard (0011, 0018) was not a definer function: on a
-- server, where a reviewer confirming an employees' payment is an ordinary login without
-- EXECUTE on fl.refuse, the refusal "components separate" became "permission denied for
-- function refuse"; and its sum over every unit's share of the pooled bank account ran under
-- the committing login's row security (an officer's sum saw only its own unit's rows).
-- 0030's pooled_share_guard is already a definer; this is the same rule for the last one.
-- The search_path was pinned when it was defined (pg_catalog, fl, pg_temp).
ALTER FUNCTION fl.component_guard() SECURITY DEFINER;
REVOKE ALL ON FUNCTION fl.component_guard() FROM PUBLIC;
