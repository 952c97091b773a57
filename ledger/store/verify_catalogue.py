"""Before the independent verifier trusts a row, it checks what the rows come from.

A superuser can make the database lie to a reader without touching a single row of the
journal: swap ``fl.entry`` for a view, add a row policy that hides rows from the
auditor, a rule or trigger that rewrites what is read, redefine a function the seal or
the API uses, put a schema with a shadowing ``sha256`` or ``=`` first in the auditor's
``search_path`` (``ALTER ROLE … SET`` / ``ALTER DATABASE … SET``), or preload a library
into the auditor's sessions. The verifier itself reads with qualified names and a
pinned ``search_path`` and computes every digest in Python, so shadowing cannot change
its arithmetic; this module makes each of those levers a *finding* naming the object:

* ``catalogue``: the schema ``fl`` as the release ships it — every relation's kind,
  row-security flags, persistence and view options; every column of every table, view
  and composite type with its DEFAULT, generated expression, identity and collation
  (every "who" and "when" of the ledger is filled by a DEFAULT); every row policy, rule
  and view; every trigger whole (``pg_get_triggerdef``: WHEN, UPDATE OF, arguments,
  deferral) and whether it fires; every function whole (``pg_get_functiondef``: body,
  argument DEFAULTs, STRICT, LEAKPROOF, COST, ROWS, PARALLEL, SUPPORT, SET, security,
  and the same attributes again from pg_proc); every constraint, index
  (``pg_get_indexdef``) and sequence; every other object of the schema (types, domains,
  operators, casts, collations, operator classes, text search, extensions, default
  privileges); privileges and the ledger's roles — compared with the fingerprint shipped
  as data (``ledger/data/fingerprints.json``, written from a fresh migration by
  ``write_fingerprints``; tests/integration/test_auditor_proof.py keeps it current; the
  same on PostgreSQL 15 and 18); and no object created in ``pg_catalog`` after initdb (a
  shadowing operator or function placed there). The definitions are printed by
  pg_catalog's C built-ins (pg_get_*def), each checked by ``check_builtins`` like every
  built-in the verifier calls: replacing one takes a superuser's CREATE OR REPLACE in
  pg_catalog or an UPDATE of pg_proc, and both are named.
* ``settings``: per-role and per-database settings (``pg_db_role_setting``) that apply
  to this session and could change what it reads, or to any login or group of the
  ledger, ALL or the database and could change what its writes do
  (``session_replication_role = replica`` on an officer switches every trigger off for
  its writes), and any preloaded library.
  Presentation settings the verifier pins itself (DateStyle, TimeZone, …) are not
  findings: they cannot change the verdict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.core.findings import CheckResult, Finding, result, said
from ledger.core.fingerprint import FINGERPRINT_FILE, differences, shipped
from ledger.store import verify_builtins
from ledger.store.db import Conn
from ledger.store.verify_builtins import FIRST_NORMAL_OID  # objects below it were made by initdb

# Settings that only change how values are presented or how fast a query runs: the
# verifier pins the presentation ones in its session, the others cannot change a row.
HARMLESS_SETTINGS = frozenset({
    "datestyle", "timezone", "intervalstyle", "extra_float_digits", "bytea_output", "lc_messages", "lc_monetary",
    "lc_numeric", "lc_time", "application_name", "statement_timeout", "lock_timeout",
    "idle_in_transaction_session_timeout", "work_mem", "maintenance_work_mem", "temp_buffers", "jit",
    "client_min_messages", "log_statement", "log_min_duration_statement", "random_page_cost", "effective_cache_size",
    "default_statistics_target", "enable_nestloop", "enable_seqscan", "enable_indexscan", "enable_bitmapscan",
    "enable_sort", "enable_hashjoin", "enable_mergejoin", "max_parallel_workers_per_gather", "geqo",
    "plan_cache_mode", "timezone_abbreviations", "client_encoding", "deadlock_timeout", "track_functions",
    "track_io_timing", "synchronous_commit", "temp_file_limit", "idle_session_timeout", "jit_above_cost",
    # the verifier sets these itself and reads them back (ledger.store.verify_session)
    "standard_conforming_strings", "backslash_quote", "transform_null_equals", "quote_all_identifiers",
    "array_nulls", "xmloption", "synchronize_seqscans", "gin_fuzzy_search_limit",
    "default_transaction_isolation", "default_transaction_read_only", "default_transaction_deferrable",
})
# DateStyle, TimeZone, IntervalStyle and extra_float_digits are harmless on a writer's login
# too, with evidence (docs/security.md, "A writer's DateStyle, TimeZone …"): since 0056 no
# function reads the session's current_date or casts a document's date under the caller's
# DateStyle, no stored value is an interval or a float, and every hashed text is written
# under pinned settings (tests/security/test_attack7_gaps.py proves the stored rows and the
# verdict the same under 'German, DMY' and a far time zone).
# Settings harmless on a writer's login (not on a session the verifier reads with): every
# function of the ledger pins its own search_path, and application roles create no object
# a path could find first — a user may set its own path (tests/security/test_attacks.py).
WRITER_HARMLESS_SETTINGS = frozenset({"search_path"})
# Contrib modules that cannot change a result a session reads: statistics, and the
# failed-login delay fundledger's own embedded server preloads (ledger/store/embedded.py).
SAFE_LIBRARIES = frozenset({"pg_stat_statements", "auth_delay"})

# Each relation: its kind, row security, persistence (an UNLOGGED table is emptied by a
# crash and never reaches a standby), a table access method other than heap, and a
# view's options (security_invoker reads with the caller's rights, security_barrier,
# check_option).
_RELATIONS = """
SELECT c.relname AS name, c.relkind::text AS kind, c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
       c.relpersistence::text AS persistence,
       (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = c.relam) AS am,
       CASE WHEN c.relkind = ANY (ARRAY['v', 'm']::"char"[])
            THEN pg_catalog.array_to_string(ARRAY(SELECT o FROM pg_catalog.unnest(c.reloptions) o ORDER BY 1), ',')
       END AS options
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl' AND c.relkind NOT IN ('i', 'I', 't')
"""
# Every column of every table, view and composite type (the API's fl.new_entry …): its
# type, NOT NULL, and what fills it when a write does not name it — the DEFAULT (every
# "who" and "when" of the ledger is one: made_by, actor, closed_at …; ATTACK6 T8), a
# generated expression, identity — and a collation other than its type's.
_COLUMNS = """
SELECT c.relname AS rel, a.attnum AS num, a.attname AS col, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS notnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS def, a.attgenerated::text AS generated,
       a.attidentity::text AS identity,
       CASE WHEN a.attcollation <> t.typcollation
            THEN (SELECT k.collname FROM pg_catalog.pg_collation k WHERE k.oid = a.attcollation) END AS collation
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = 'fl' AND c.relkind = ANY (ARRAY['r', 'v', 'p', 'm', 'f', 'c']::"char"[]) AND a.attnum > 0
   AND NOT a.attisdropped
 ORDER BY 1, 2
"""
_POLICIES = """
SELECT c.relname AS rel, p.polname AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive,
       pg_catalog.array_to_string(ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE r::pg_catalog.regrole::text END
                                          FROM pg_catalog.unnest(p.polroles) r ORDER BY 1), ',') AS roles,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
  FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl'
"""
# A trigger whole (pg_get_triggerdef: events, UPDATE OF columns, WHEN condition, arguments,
# the constraint's other relation, deferral; ATTACK6 T11) and whether it fires.
_TRIGGERS = """
SELECT c.relname AS rel, t.tgname AS name, t.tgtype AS type, t.tgenabled::text AS enabled,
       t.tgfoid::regprocedure::text AS function, t.tgdeferrable AS deferrable, t.tginitdeferred AS deferred,
       pg_catalog.pg_get_triggerdef(t.oid) AS def
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl' AND NOT t.tgisinternal
"""
_RULES = """
SELECT c.relname AS rel, r.rulename AS name, r.ev_type::text AS ev, r.ev_enabled::text AS enabled,
       pg_catalog.pg_get_ruledef(r.oid) AS def
  FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl'
"""
# (ATTACK20 L4) The schema fl_guard too: fl.end_stuck_writers and the close (definers of
# fl_owner) call its functions, so a function replaced there runs as fl_owner inside a real
# user's session and writes under that user's name. Every schema a function of fl calls into
# is fingerprinted like fl (sql/ calls into no other: ``grep -o '[a-z_]*\.[a-z_]*(' sql/*.sql``),
# its functions whole, its owner and privileges (``_ACLS``), anything added to it.
# A function whole: pg_get_functiondef (body, language, arguments with their DEFAULTs,
# result, volatility, STRICT, SECURITY DEFINER, LEAKPROOF, PARALLEL, COST, ROWS, SUPPORT,
# SET) — ``ALTER FUNCTION fl._real_money(text,text) STRICT`` switched maker-checker off
# (ATTACK6 T10) — and each of those attributes again from pg_proc, so that nothing the
# definition's printing might leave out goes unseen; an aggregate (no definition to print)
# by its pg_aggregate row.
_FUNCTIONS = """
SELECT p.oid::regprocedure::text AS sig, p.prosrc AS src, l.lanname AS lang, p.provolatile::text AS vol,
       p.prosecdef AS secdef, pg_catalog.array_to_string(p.proconfig, ';') AS config,
       p.prokind::text AS kind, pg_catalog.pg_get_function_result(p.oid) AS returns,
       pg_catalog.concat_ws('|', p.proisstrict, p.proleakproof, p.procost, p.prorows, p.proparallel, p.proretset,
                            p.prosupport::regproc::text, p.probin, pg_catalog.pg_get_function_arguments(p.oid),
                            p.provariadic::regtype::text) AS attrs,
       CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def,
       (SELECT pg_catalog.concat_ws('|', g.aggkind, g.aggnumdirectargs, g.aggtransfn::regproc::text,
                                    g.aggfinalfn::regproc::text, g.aggcombinefn::regproc::text,
                                    g.aggserialfn::regproc::text, g.aggdeserialfn::regproc::text,
                                    g.aggmtransfn::regproc::text, g.aggminvtransfn::regproc::text,
                                    g.aggmfinalfn::regproc::text, g.aggfinalextra, g.aggmfinalextra,
                                    g.aggfinalmodify, g.aggmfinalmodify, g.aggsortop::regoperator::text,
                                    g.aggtranstype::regtype::text, g.aggmtranstype::regtype::text, g.agginitval,
                                    g.aggminitval)
          FROM pg_catalog.pg_aggregate g WHERE g.aggfnoid = p.oid) AS agg
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE n.nspname = ANY (ARRAY['fl', 'fl_guard'])
"""
# Every index of the schema (pg_get_indexdef: columns, expressions, uniqueness, the partial
# index's WHERE): an added unique partial index refuses chosen writes (ATTACK6 T15).
_INDEXES = """
SELECT c.relname AS name, pg_catalog.pg_get_indexdef(c.oid) AS def, i.indisunique AS uniq,
       i.indimmediate AS immediate, i.indisvalid AS valid, i.indisexclusion AS exclusion
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl'
"""
# Every sequence's options (a sequence that CYCLEs or steps back hands out an id twice).
_SEQUENCES = """
SELECT c.relname AS name, s.seqtypid::regtype::text AS type, s.seqstart AS start, s.seqincrement AS inc,
       s.seqmax AS max, s.seqmin AS min, s.seqcache AS cache, s.seqcycle AS cycle
  FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl'
"""
# Every other object that lives in the schema fl or touches its types: types and domains
# (with their constraints), operators, casts, collations, operator classes and families,
# conversions, text-search objects, extensions, and the schema's default privileges
# (what a table created later would be granted). A function of fl is in _FUNCTIONS; an
# operator over a built-in function is not, and ``CREATE OPERATOR fl.===`` is a candidate
# wherever pg_catalog has no exact match (ATTACK6 T15).
_OBJECTS = """
WITH fl AS (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'fl')
SELECT 'type ' || t.oid::regtype::text AS name,
       pg_catalog.concat_ws('|', t.typtype, t.typbasetype::regtype::text, t.typnotnull, t.typdefault,
                            t.typinput::regproc::text, t.typoutput::regproc::text, t.typreceive::regproc::text,
                            t.typsend::regproc::text, t.typcollation,
                            ARRAY(SELECT k.conname || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
                                    FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid ORDER BY 1)::text) AS def
  FROM pg_catalog.pg_type t
 WHERE t.typnamespace = (SELECT oid FROM fl) AND t.typtype <> 'c' AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
UNION ALL
SELECT 'operator ' || o.oid::regoperator::text,
       pg_catalog.concat_ws('|', o.oprcode::regproc::text, o.oprrest::regproc::text, o.oprjoin::regproc::text,
                            o.oprcom::regoperator::text, o.oprnegate::regoperator::text, o.oprcanmerge,
                            o.oprcanhash, o.oprresult::regtype::text)
  FROM pg_catalog.pg_operator o WHERE o.oprnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'cast ' || c.castsource::regtype::text || ' -> ' || c.casttarget::regtype::text,
       pg_catalog.concat_ws('|', c.castfunc::regprocedure::text, c.castcontext, c.castmethod)
  FROM pg_catalog.pg_cast c
  LEFT JOIN pg_catalog.pg_type s ON s.oid = c.castsource LEFT JOIN pg_catalog.pg_type d ON d.oid = c.casttarget
  LEFT JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc
 WHERE (SELECT oid FROM fl) IN (s.typnamespace, d.typnamespace, f.pronamespace)
UNION ALL
SELECT 'collation ' || k.collname, pg_catalog.concat_ws('|', k.collprovider, k.collisdeterministic, k.collcollate,
                                                        k.collctype)
  FROM pg_catalog.pg_collation k WHERE k.collnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'operator class ' || c.opcname, c.opcmethod::text FROM pg_catalog.pg_opclass c
 WHERE c.opcnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'operator family ' || f.opfname, f.opfmethod::text FROM pg_catalog.pg_opfamily f
 WHERE f.opfnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'conversion ' || c.conname, c.conproc::regproc::text FROM pg_catalog.pg_conversion c
 WHERE c.connamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'text search configuration ' || c.cfgname, '' FROM pg_catalog.pg_ts_config c
 WHERE c.cfgnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'text search dictionary ' || d.dictname, '' FROM pg_catalog.pg_ts_dict d
 WHERE d.dictnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'text search parser ' || p.prsname, '' FROM pg_catalog.pg_ts_parser p
 WHERE p.prsnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'text search template ' || t.tmplname, '' FROM pg_catalog.pg_ts_template t
 WHERE t.tmplnamespace = (SELECT oid FROM fl)
UNION ALL
SELECT 'extension ' || e.extname, e.extversion FROM pg_catalog.pg_extension e
 WHERE e.extnamespace = (SELECT oid FROM fl)
"""
# Default privileges (ALTER DEFAULT PRIVILEGES) for the schema fl or every schema of this
# database: what a table or function created later would be granted.
_DEFAULT_ACLS = """
SELECT d.defaclobjtype::text AS type, d.defaclrole::pg_catalog.regrole::text AS role, d.defaclacl::text[] AS acl,
       d.defaclnamespace <> 0 AS in_fl
  FROM pg_catalog.pg_default_acl d
 WHERE d.defaclnamespace IN (0, (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'fl'))
"""
# Constraints (NOT NULL is in the columns; PostgreSQL 18 also lists it here).
_CONSTRAINTS = """
SELECT c.relname AS rel, k.conname AS name, k.contype::text AS type, pg_catalog.pg_get_constraintdef(k.oid) AS def,
       k.convalidated AS valid, k.condeferrable AS deferrable, k.condeferred AS deferred
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'fl' AND k.contype <> 'n'
"""
# Who may do what to the schema fl, each relation (and its columns) and each function:
# the ACLs as aclitems (grantee=privileges/grantor), roles named as the release names
# them (``_role``).
_ACLS = """
SELECT 'schema ' || n.nspname AS obj, n.nspacl::text[] AS acl, NULL::text[] AS cols,
       n.nspowner::pg_catalog.regrole::text AS owner
  FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY (ARRAY['fl', 'fl_guard'])
UNION ALL
SELECT n.nspname || '.' || c.relname, c.relacl::text[],
       ARRAY(SELECT a.attname || ':' || a.attacl::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL AND NOT a.attisdropped ORDER BY a.attnum),
       c.relowner::pg_catalog.regrole::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY (ARRAY['fl', 'fl_guard']) AND c.relkind NOT IN ('i', 'I', 't', 'c')
UNION ALL
SELECT p.oid::regprocedure::text, p.proacl::text[], NULL, p.proowner::pg_catalog.regrole::text
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = ANY (ARRAY['fl', 'fl_guard'])
"""
# The ledger's own roles: the owner of the schema fl, and the groups the release creates
# (cluster-wide, the same names on every install). Logins — people, and the login that
# migrates — differ per install: they are judged by rule (``check_logins``), not by the
# fingerprint.
GROUPS = ("fl_officer", "fl_reviewer", "fl_finance", "fl_auditor", "fl_admin", "fl_guard")
_ROLES = """
SELECT r.oid, r.rolname AS name, r.rolsuper AS super, r.rolcreatedb AS createdb, r.rolcanlogin AS login,
       r.rolreplication AS replication, r.rolbypassrls AS bypassrls, r.rolcreaterole AS createrole,
       r.oid = (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'fl') AS owner,
       ARRAY(SELECT g.rolname || CASE WHEN m.admin_option THEN ' (admin)' ELSE '' END
               FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
              WHERE m.member = r.oid
                AND NOT (g.rolcanlogin AND m.admin_option AND r.oid = (SELECT n.nspowner FROM pg_catalog.pg_namespace n
                                                                       WHERE n.nspname = 'fl'))
              ORDER BY 1) AS member_of
  FROM pg_catalog.pg_roles r
 WHERE r.rolname = ANY (%(groups)s::text[])
    OR r.oid = (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'fl')
"""
# Each login of the ledger (a fl.app_user) with what it may do beyond its group: role
# attributes, the owner's rights, and the roles it is a member of beside the owner (its
# own group only: fl.add_user grants 'fl_' || role and nothing else, and refuses a login
# that is a member of anything else, fl._role_unfit). (Groups are cluster-wide: a login of
# another ledger database on the same server may be a member of them too, so a group's
# members that are not this ledger's logins are not judged.)
_LOGINS = """
WITH owner AS (SELECT n.nspowner AS oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'fl')
SELECT r.rolname AS name, r.rolsuper AS super, r.rolcreatedb AS createdb,
       r.rolreplication AS replication, r.rolbypassrls AS bypassrls, r.rolcreaterole AS createrole,
       pg_catalog.pg_has_role(r.oid, (SELECT o.oid FROM owner o), 'USAGE') AS owner_rights,
       EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid
                 AND m.roleid = (SELECT o.oid FROM owner o)) AS in_owner,
       u.role AS app_role,
       ARRAY(SELECT g.rolname::pg_catalog.text FROM pg_catalog.pg_auth_members m
               JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
              WHERE m.member = r.oid AND g.oid <> (SELECT o.oid FROM owner o) ORDER BY 1) AS member_of
  FROM pg_catalog.pg_roles r JOIN ONLY fl.app_user u ON u.name = r.rolname
 WHERE r.oid <> (SELECT o.oid FROM owner o)
"""

# (ATTACK20b M5) The ledger database's own ACL: 0016_db took TEMPORARY from PUBLIC (a caller's
# temporary COLLATION decided the definer functions' comparisons), 0008 gave CREATE and 0016_db
# TEMPORARY to fl_owner, 0027_db took CONNECT from PUBLIC (each login gets its own). Applied once
# by a migration; the database's owner can give them back, so the verdict reads them each time.
_DATABASE_ACL = """
SELECT d.datname AS db, d.datdba::pg_catalog.regrole::pg_catalog.text AS dba, d.datacl::pg_catalog.text[] AS acl,
       (SELECT n.nspowner::pg_catalog.regrole::pg_catalog.text FROM pg_catalog.pg_namespace n
         WHERE n.nspname OPERATOR(pg_catalog.=) 'fl') AS owner
  FROM pg_catalog.pg_database d
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
"""
# What each database privilege lets a role do that the ledger's defences rely on it not doing.
_DATABASE_PRIVS = {
    "T": ("TEMPORARY", "its sessions can create temporary objects again — a temporary COLLATION handed to a definer "
                       "function decides that function's comparisons (on PostgreSQL 16+ with ICU, any two unit codes "
                       "equal: an officer's unit check passed for another county; migration 0016 revoked it)"),
    "C": ("CREATE", "it can create schemas in the ledger's database, with objects named like the ledger's"),
    "c": ("CONNECT", "any login of the server can connect to the ledger's database — another ledger's logins read "
                     "this one's history through the shared groups' grants (migration 0027 revoked it)"),
}


# Inheritance into or out of the ledger's tables (ATTACK7 U2): a child table, in any
# schema, whose rows a reader of the parent without ONLY would read as the parent's.
_INHERITANCE = """
SELECT 'relation ' || c.oid::pg_catalog.regclass::pg_catalog.text AS child,
       p.oid::pg_catalog.regclass::pg_catalog.text AS parent
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
  JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) i.inhparent
 WHERE p.relnamespace OPERATOR(pg_catalog.=) 'fl'::pg_catalog.regnamespace
    OR c.relnamespace OPERATOR(pg_catalog.=) 'fl'::pg_catalog.regnamespace
 ORDER BY 1, 2"""

_CATALOG_ADDITIONS = f"""
SELECT 'function ' || p.oid::regprocedure::text AS what FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.oid >= {FIRST_NORMAL_OID}
UNION ALL
SELECT 'operator ' || o.oid::regoperator::text FROM pg_catalog.pg_operator o
 WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oid >= {FIRST_NORMAL_OID}
UNION ALL
SELECT 'relation ' || c.relname FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.oid >= {FIRST_NORMAL_OID}
UNION ALL
SELECT 'cast ' || c.castsource::regtype::text || ' -> ' || c.casttarget::regtype::text FROM pg_catalog.pg_cast c
 WHERE c.oid >= {FIRST_NORMAL_OID}
UNION ALL
SELECT 'event trigger ' || e.evtname FROM pg_catalog.pg_event_trigger e
"""
# The built-ins the verifiers, the seal and the chain triggers call, with the C symbol
# each is shipped with (the same in PostgreSQL 15 to 18): an in-place replacement that
# keeps the oid and the language (``UPDATE pg_proc SET prosrc = 'int8ne'`` for int8eq) is
# still a different symbol. Aggregates are ``aggregate_dummy``; their state functions are
# pg_aggregate rows, judged by ``_BUILTIN_ROWS_CHANGED``.
BUILTINS: dict[str, str] = {
    "\"left\"(text,integer)": "text_left", "array_to_string(anyarray,text)": "array_to_text",
    "boolout(boolean)": "boolout", "byteacat(bytea,bytea)": "byteacat", "byteaeq(bytea,bytea)": "byteaeq",
    "byteane(bytea,bytea)": "byteane", "byteaout(bytea)": "byteaout", "clock_timestamp()": "clock_timestamp",
    "concat(\"any\")": "text_concat", "concat_ws(text,\"any\")": "text_concat_ws",
    "convert_from(bytea,name)": "pg_convert_from", "convert_to(text,name)": "pg_convert_to",
    "count(\"any\")": "aggregate_dummy", "count()": "aggregate_dummy", "current_setting(text)": "show_config_by_name",
    "date_eq(date,date)": "date_eq", "date_out(date)": "date_out", "encode(bytea,text)": "binary_encode",
    "format_type(oid,integer)": "format_type", "has_table_privilege(oid,text)": "has_table_privilege_id",
    "has_table_privilege(text,text)": "has_table_privilege_name", "int2out(smallint)": "int2out",
    "int4eq(integer,integer)": "int4eq", "int4out(integer)": "int4out", "int8(integer)": "int48",
    "int8eq(bigint,bigint)": "int8eq", "int8ge(bigint,bigint)": "int8ge", "int8gt(bigint,bigint)": "int8gt",
    "int8lt(bigint,bigint)": "int8lt", "int8ne(bigint,bigint)": "int8ne", "int8out(bigint)": "int8out",
    "json_object_agg(\"any\",\"any\")": "aggregate_dummy", "jsonb_build_object(\"any\")": "jsonb_build_object",
    "jsonb_delete(jsonb,text[])": "jsonb_delete_array", "jsonb_eq(jsonb,jsonb)": "jsonb_eq",
    "jsonb_exists(jsonb,text)": "jsonb_exists", "jsonb_ne(jsonb,jsonb)": "jsonb_ne",
    "jsonb_object_agg(\"any\",\"any\")": "aggregate_dummy", "jsonb_object_field(jsonb,text)": "jsonb_object_field",
    "jsonb_object_field_text(jsonb,text)": "jsonb_object_field_text", "jsonb_object_keys(jsonb)": "jsonb_object_keys",
    "jsonb_out(jsonb)": "jsonb_out", "jsonb_typeof(jsonb)": "jsonb_typeof", "lag(anyelement)": "window_lag",
    "lpad(text,integer,text)": "lpad", "max(date)": "aggregate_dummy", "md5(text)": "md5_text",
    "min(date)": "aggregate_dummy", "now()": "now", "numeric_out(numeric)": "numeric_out",
    "pg_current_xact_id()": "pg_current_xact_id", "pg_export_snapshot()": "pg_export_snapshot",
    "pg_get_expr(pg_node_tree,oid)": "pg_get_expr", "pg_get_ruledef(oid)": "pg_get_ruledef",
    "pg_get_constraintdef(oid)": "pg_get_constraintdef", "pg_get_functiondef(oid)": "pg_get_functiondef",
    "pg_get_function_arguments(oid)": "pg_get_function_arguments",
    "pg_get_function_result(oid)": "pg_get_function_result", "pg_get_indexdef(oid)": "pg_get_indexdef",
    "pg_get_triggerdef(oid)": "pg_get_triggerdef", "pg_get_viewdef(oid)": "pg_get_viewdef",
    "pg_has_role(name,oid,text)": "pg_has_role_name_id", "pg_has_role(name,text)": "pg_has_role_name", "row_number()": "window_row_number",
    "set_config(text,text,boolean)": "set_config_by_name", "sha256(bytea)": "sha256_bytea",
    "split_part(text,text,integer)": "split_part", "string_agg(text,text)": "aggregate_dummy",
    "strpos(text,text)": "textpos", "substr(text,integer)": "text_substr_no_len", "sum(bigint)": "aggregate_dummy",
    "textcat(text,text)": "textcat", "texteq(text,text)": "texteq", "textin(cstring)": "textin",
    "textne(text,text)": "textne", "textout(text)": "textout",
    "timestamptz_gt(timestamp with time zone,timestamp with time zone)": "timestamp_gt",
    "timestamptz_lt(timestamp with time zone,timestamp with time zone)": "timestamp_lt",
    "timestamptz_out(timestamp with time zone)": "timestamptz_out",
    "timezone(text,timestamp with time zone)": "timestamptz_zone", "to_regprocedure(text)": "to_regprocedure",
    "to_char(timestamp with time zone,text)": "timestamptz_to_char", "to_jsonb(anyelement)": "to_jsonb",
    "unnest(anyarray)": "array_unnest",
}

# Functions of pg_catalog made by initdb that are not as shipped: made into something no
# built-in is (SECURITY DEFINER, its own settings, another owner than the bootstrap
# superuser, a C function outside $libdir), or one the proof relies on whose symbol
# differs. One replaced in place in another language is a row that differs from the
# shipped digests (verify_builtins: content; no "newer than initdb's last transaction"
# any more — that reference point was a row the superuser rewrites, ATTACK20 L2). A
# revoked EXECUTE (migration 0018) changes only the ACL.
_BUILTIN_FUNCTIONS = f"""
SELECT 'function pg_catalog.' || p.oid::regprocedure::text AS what, p.oid::regprocedure::text AS sig,
       l.lanname AS lang, p.prosrc AS src, p.probin AS bin, p.prosecdef AS secdef,
       pg_catalog.array_to_string(p.proconfig, ';') AS config, p.proowner <> 10 AS owner_changed
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.oid < {FIRST_NORMAL_OID}
   AND (p.prosecdef OR p.proconfig IS NOT NULL OR p.proowner <> 10
        OR p.oid = ANY (ARRAY(SELECT pg_catalog.to_regprocedure(s) FROM pg_catalog.unnest(%(relied)s::text[]) s)))
"""
# (The functions relied on are looked up by signature, to_regprocedure under the pinned
# search_path = pg_catalog, the same resolution that prints a visible function's
# signature unqualified: printing every pg_catalog function's signature to compare it
# cost more than the rest of the query. Python still compares each row's printed ``sig``
# with BUILTINS: one that resolved to another function is reported missing.)

# The per-role and per-database settings (pg_db_role_setting) of this database or of every
# database, for: this session (ALL, the database, the auditor's own role and the roles it
# is a member of), every login of the ledger (fl.app_user), the ledger's groups and the
# schema's owner. A setting a superuser places on a writer's login applies to that login's
# sessions, its writes through the definer functions included: ``ALTER ROLE <officer> IN
# DATABASE … SET session_replication_role = replica`` switched every trigger off for that
# officer's imports (ATTACK6 T12).
_ROLE_SETTINGS = """
SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE s.setrole::pg_catalog.regrole::text END AS role,
       CASE WHEN s.setdatabase = 0 THEN NULL ELSE d.datname END AS db, pg_catalog.unnest(s.setconfig) AS setting,
       (s.setrole = 0 OR pg_catalog.pg_has_role(session_user, s.setrole, 'MEMBER')) AS mine
  FROM pg_catalog.pg_db_role_setting s LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
 WHERE (s.setdatabase = 0 OR d.datname = pg_catalog.current_database())
   AND (s.setrole = 0 OR pg_catalog.pg_has_role(session_user, s.setrole, 'MEMBER')
        OR s.setrole IN (SELECT r.oid FROM pg_catalog.pg_roles r
                          WHERE r.rolname IN (SELECT u.name FROM ONLY fl.app_user u) OR r.rolname = ANY (%(groups)s::text[])
                             OR r.oid = (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'fl')))
"""
# What a setting does to a ledger login's writes, where it is worse than "could mislead".
_WRITE_EFFECT = {
    "session_replication_role": "no ordinary trigger fires in its sessions: balances, seals, the chained history, the "
                                "closed-period, overdraft, pooled-share and append-only guards are all skipped for its "
                                "writes",
    "search_path": "names its sessions resolve without a schema are looked up where the setting says",
    "default_table_access_method": "tables it creates use another access method",
    "role": "its sessions act as another role",
    "session_authorization": "its sessions act as another user",
    "session_preload_libraries": "code is loaded into each of its sessions",
    "local_preload_libraries": "code is loaded into each of its sessions",
    "row_security": "row security is treated differently in its sessions",
}
# Through current_setting, a function whose code the built-ins check vouches for, not the
# view pg_settings, which a superuser can replace in place (ATTACK7 U8).
# Two of them are readable only with pg_read_all_settings (0059 grants it to the groups
# that verify): without it the value is NULL here, and that is a finding — an unreadable
# input never reads as an empty one (ATTACK7 U13: pg_settings simply left the rows out).
_LIBRARIES = """
SELECT n AS name,
       CASE WHEN n OPERATOR(pg_catalog.=) 'local_preload_libraries'
              OR pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')
            THEN pg_catalog.current_setting(n) END AS setting
  FROM pg_catalog.unnest(ARRAY['session_preload_libraries', 'local_preload_libraries',
                               'shared_preload_libraries']::pg_catalog.text[]) n
"""

# The system views the verifier reads, with the definition PostgreSQL ships (the same text
# from 15 to 18, printed by pg_get_viewdef under the pinned settings; whitespace aside).
# A superuser with allow_system_table_mods can CREATE OR REPLACE one in place — same oid,
# so no addition, and no catalogue row the built-ins check reads — and have it hide a
# login's BYPASSRLS (ATTACK7 U8). Role attributes are only readable through pg_roles
# (pg_authid is the superuser's alone), so its definition is checked; settings are read
# with current_setting instead of pg_settings.
SYSTEM_VIEWS: dict[str, str] = {
    "pg_roles": "SELECT pg_authid.rolname, pg_authid.rolsuper, pg_authid.rolinherit, pg_authid.rolcreaterole, "
                "pg_authid.rolcreatedb, pg_authid.rolcanlogin, pg_authid.rolreplication, pg_authid.rolconnlimit, "
                "'********'::text AS rolpassword, pg_authid.rolvaliduntil, pg_authid.rolbypassrls, "
                "s.setconfig AS rolconfig, pg_authid.oid FROM (pg_authid LEFT JOIN pg_db_role_setting s ON "
                "(((pg_authid.oid = s.setrole) AND (s.setdatabase = (0)::oid))));",
}
_SYSTEM_VIEWS = """
SELECT v.n AS name, c.relkind AS kind, pg_catalog.pg_get_viewdef(c.oid) AS def
  FROM pg_catalog.unnest(%(views)s::pg_catalog.text[]) v(n)
  LEFT JOIN pg_catalog.pg_class c ON c.relname OPERATOR(pg_catalog.=) v.n
       AND c.relnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
"""


def _one_line(text: str | None) -> str:
    return " ".join(str(text or "").split())


def check_system_views(conn: Conn) -> tuple[int, list[Finding]]:
    """Each system view the verifier reads against the definition PostgreSQL ships."""
    findings: list[Finding] = []
    for r in conn.execute(_SYSTEM_VIEWS, {"views": list(SYSTEM_VIEWS)}).fetchall():
        what = f"view pg_catalog.{r['name']}"
        if r["kind"] != "v":
            findings.append(Finding("catalogue", said("{what} is missing or no longer a view: the verifier reads role attributes through it", what=what), account=what))
        elif _one_line(r["def"]) != SYSTEM_VIEWS[str(r["name"])]:
            findings.append(Finding("catalogue", said("{what} was rewritten in place: it now reads {value!r}… — whatever it says about a login "
                                                      "(SUPERUSER, BYPASSRLS, …) can be a lie", what=what, value=_one_line(r['def'])[:160]), account=what))
    return len(SYSTEM_VIEWS), findings


def _h(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:32]


def _role(name: str, owner: str) -> str:
    """A role as the release names it: the schema's owner is ``fl_owner`` whatever it is
    called on this install; the groups keep their names; PUBLIC is ``public``; any other
    role keeps its own name — a grant to it is not the release's."""
    name = name.strip('"')
    if name == owner:
        return "fl_owner"
    return name or "public"


def _acl(items: Sequence[str] | None, owner: str) -> str:
    """An ACL with its roles named as the release names them, in a stable order; NULL (the
    built-in default) as ``default``."""
    if items is None:
        return "default"
    out = []
    for item in items:
        grantee, _, rest = item.partition("=")
        privs, _, grantor = rest.partition("/")
        privs = privs.replace("m", "")      # MAINTAIN: PostgreSQL 17+ gives it to owners (VACUUM, ANALYZE, …)
        out.append(f"{_role(grantee, owner)}={privs}/{_role(grantor, owner)}")
    return ",".join(sorted(out))


def _roles(conn: Conn) -> dict[str, str]:
    """The owner and each group: its attributes and what it is a member of. The owner
    administers the logins (fl.add_user, of every ledger database on the server): those
    memberships (the admin option on a login) are the install's own and left out; any
    other is listed by name."""
    out: dict[str, str] = {}
    rows = conn.execute(_ROLES, {"groups": list(GROUPS)}).fetchall()
    owner = next((r["name"] for r in rows if r["owner"]), "")
    for r in rows:
        attrs = [a for a in ("super", "createdb", "login", "replication", "bypassrls") if r[a]]
        if r["createrole"] and not r["owner"]:   # the owner has CREATEROLE on PostgreSQL 16+ only
            attrs.append("createrole")
        member_of = []
        for m in r["member_of"]:
            name, admin = m.removesuffix(" (admin)"), m.endswith(" (admin)")
            member_of.append(_role(name, owner) + (" (admin)" if admin else ""))
        out["fl_owner" if r["owner"] else r["name"]] = (f"attributes: {' '.join(attrs) or 'none'}; member of: "
                                                         f"{', '.join(sorted(member_of)) or 'nothing'}")
    return out


def fingerprint(conn: Conn) -> dict[str, dict[str, str]]:
    """The schema ``fl`` as it is: one short digest or description per object, by kind
    and name. Definitions are printed by the catalogue's own built-ins (pg_get_*def,
    checked by ``check_builtins``) under ``search_path = pg_catalog`` so that every name
    of fl prints qualified, whatever the session had."""
    with conn.transaction():
        conn.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog', true), "
                     "pg_catalog.set_config('quote_all_identifiers', 'off', true)")
        return _fingerprint(conn)


def _fingerprint(conn: Conn) -> dict[str, dict[str, str]]:
    fp: dict[str, dict[str, str]] = {k: {} for k in ("relations", "columns", "policies", "triggers", "rules",
                                                      "functions", "constraints", "indexes", "sequences", "objects",
                                                      "acls", "roles")}
    for r in conn.execute(_RELATIONS).fetchall():
        fp["relations"][f"fl.{r['name']}"] = (f"{r['kind']}{'+rls' if r['rls'] else ''}"
                                              f"{'+force' if r['force_rls'] else ''}"
                                              f"{'+unlogged' if r['persistence'] == 'u' else ''}"
                                              f"{'+am=' + r['am'] if r['am'] and r['am'] != 'heap' else ''}"
                                              f"{'+options=' + r['options'] if r['options'] else ''}")
    cols: dict[str, list[str]] = {}
    for r in conn.execute(_COLUMNS).fetchall():
        cols.setdefault(f"fl.{r['rel']}", []).append(
            f"{r['col']} {r['type']}{' not null' if r['notnull'] else ''}"
            f"{' collate ' + r['collation'] if r['collation'] else ''}"
            f"{(' generated always as ' if r['generated'] else ' default ') + r['def'] if r['def'] else ''}"
            f"{' identity ' + r['identity'] if r['identity'] else ''}")
    fp["columns"] = {k: ", ".join(v) for k, v in cols.items()}
    for r in conn.execute(_POLICIES).fetchall():
        fp["policies"][f"fl.{r['rel']}.{r['name']}"] = _h(r["cmd"], r["permissive"], r["roles"], r["qual"],
                                                          r["with_check"])
    for r in conn.execute(_TRIGGERS).fetchall():
        fp["triggers"][f"fl.{r['rel']}.{r['name']}"] = _h(r["type"], r["enabled"], r["function"], r["deferrable"],
                                                          r["deferred"], r["def"])
    for r in conn.execute(_RULES).fetchall():
        fp["rules"][f"fl.{r['rel']}.{r['name']}"] = _h(r["ev"], r["enabled"], r["def"])
    for r in conn.execute(_FUNCTIONS).fetchall():
        fp["functions"][r["sig"]] = _h(r["src"], r["lang"], r["vol"], r["secdef"], r["config"], r["kind"],
                                       r["returns"], r["attrs"], r["def"], r["agg"])
    for r in conn.execute(_CONSTRAINTS).fetchall():
        fp["constraints"][f"fl.{r['rel']}.{r['name']}"] = _h(r["type"], r["def"], r["valid"], r["deferrable"],
                                                             r["deferred"])
    for r in conn.execute(_INDEXES).fetchall():
        fp["indexes"][f"fl.{r['name']}"] = _h(r["def"], r["uniq"], r["immediate"], r["valid"], r["exclusion"])
    for r in conn.execute(_SEQUENCES).fetchall():
        fp["sequences"][f"fl.{r['name']}"] = (f"{r['type']} start {r['start']} increment {r['inc']} "
                                              f"min {r['min']} max {r['max']} cache {r['cache']}"
                                              f"{' cycle' if r['cycle'] else ''}")
    for r in conn.execute(_OBJECTS).fetchall():
        fp["objects"][r["name"]] = _h(r["def"])
    owner_row = conn.execute("SELECT n.nspowner::pg_catalog.regrole::text AS o FROM pg_catalog.pg_namespace n "
                             "WHERE n.nspname = 'fl'").fetchone()
    owner = str(owner_row["o"]).strip('"') if owner_row else ""
    for r in conn.execute(_DEFAULT_ACLS).fetchall():
        where = "schema fl" if r["in_fl"] else "every schema"
        fp["objects"][f"default privileges ({r['type']}) of {_role(r['role'], owner)} in {where}"] = \
            _acl(r["acl"], owner)
    for r in conn.execute(_ACLS).fetchall():
        acl = f"owner {_role(r['owner'], owner)}; {_acl(r['acl'], owner)}"
        for col in r["cols"] or ():
            name, _, items = col.partition(":")
            acl += f"; column {name}: {_acl(items.strip('{}').split(','), owner)}"
        fp["acls"][r["obj"]] = acl
    fp["roles"] = _roles(conn)
    return fp


def write_fingerprints(conn: Conn, path: Path | None = None) -> Path:
    """Write the fingerprint of a freshly migrated database as the shipped one."""
    target = path or Path(str(resources.files("ledger.data").joinpath(FINGERPRINT_FILE)))
    target.write_text(json.dumps(fingerprint(conn), indent=1, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    return target


def check_catalogue(conn: Conn, expected: dict[str, dict[str, str]] | None = None, cap: int = 200) -> CheckResult:
    """Every difference between the schema ``fl`` and the shipped fingerprint, and every
    object added to ``pg_catalog`` after initdb, as a finding naming the object."""
    n, findings = differences(expected if expected is not None else shipped(), fingerprint(conn))
    _a, added = check_additions(conn)
    findings += added
    b, builtin = check_builtins(conn)
    m, logins = check_logins(conn)
    # The built-ins and the logins first: a replaced built-in (a definition printer) makes
    # every object it prints differ too, and the cap must not cut the cause for its effects.
    return result("catalogue", "the schema fl (relation kinds, columns with their defaults, constraints, indexes, "
                  "sequences, row policies, triggers, rules, functions whole, every other object in it, and who may "
                  "use each: privileges, the ledger's roles and their memberships) is the "
                  "release's, no login of the ledger has more than its group, no role but the owners may create "
                  "temporary objects or schemas in the ledger's database and PUBLIC may not connect to it, nothing was added to pg_catalog, and "
                  "the built-ins are initdb's (functions as shipped, no operator, cast, type, aggregate, collation or "
                  "conversion changed after initdb)", n + b + m, builtin + logins + findings, cap)


def check_additions(conn: Conn) -> tuple[int, list[Finding]]:
    """Objects created in ``pg_catalog`` after initdb, and tables inheriting from the
    ledger's (the release has no inheritance): (checks made, findings)."""
    findings: list[Finding] = []
    for r in conn.execute(_CATALOG_ADDITIONS).fetchall():
        findings.append(Finding("catalogue", said("{what} was created in pg_catalog after initdb: it would shadow or extend a built-in "
                                                  "every query resolves", what=r['what']), account=r["what"]))
    for r in conn.execute(_INHERITANCE).fetchall():
        findings.append(Finding("catalogue", said("{child} inherits from {parent}: a reader of the parent that does not say ONLY reads the "
                                                  "child's rows as the ledger's (the release has no inheritance)", child=r['child'], parent=r['parent']), account=r["child"]))
    return 2, findings          # the two questions asked (the online count leaves them out, as before)


# (ATTACK14 V7) The checks of the online verdict that read the server beyond the schema fl's
# own definitions: what an export's catalogue.json (fl's fingerprint) does not hold, so no
# verdict over an archive can make them. ``audit export`` runs them in its snapshot and
# records them in the archive (online.json, ledger.io.archive); ``verify --offline`` reports
# what they found. Name -> what each establishes.
SERVER_CHECKS: dict[str, str] = {
    "logins": "each login of the ledger judged by the release's rule (no SUPERUSER, BYPASSRLS, REPLICATION, "
              "CREATEROLE or CREATEDB, no way to the owner's rights, a member of its role's group and of nothing "
              "else), and the ledger database's privileges (TEMPORARY and CREATE only the owner's and fl_owner's, "
              "CONNECT not PUBLIC's)",
    "builtins": "pg_catalog's built-ins the verdict relies on as initdb made them, by definition and by content "
                "(functions, operators, casts, types, aggregates, collations, conversions, system views)",
    "additions": "nothing created in pg_catalog after initdb, and no table inheriting from a table of the ledger",
    "settings": "no role or database setting (ALL, the database, the exporter's role, any login or group of the "
                "ledger) and no preloaded library or library path that could change what a session reads or what "
                "a write does",
}


def server_checks(conn: Conn, cap: int = 200) -> tuple[CheckResult, ...]:
    """The online-only checks (``SERVER_CHECKS``), each a result of its own, in the caller's
    snapshot: the same functions the online verdict's ``catalogue`` and ``settings`` run."""
    out = []
    for name, (n, findings) in (("logins", check_logins(conn)), ("builtins", check_builtins(conn)),
                                ("additions", check_additions(conn))):
        out.append(result(name, SERVER_CHECKS[name], n, [replace(f, check=name) for f in findings], cap))
    s = check_settings(conn, cap)
    out.append(replace(s, name="settings", description=SERVER_CHECKS["settings"]))
    return tuple(out)


def check_logins(conn: Conn) -> tuple[int, list[Finding]]:
    """Each login of the ledger (a fl.app_user) against what the release gives it: no role
    attribute beyond LOGIN, no way to the owner's rights, a member of its role's group
    and of nothing else (ATTACK3 R14: pg_auth_members against the registry). Logins differ per install, so they are judged by
    this rule, not by the shipped fingerprint: (logins checked, findings)."""
    findings: list[Finding] = []
    rows = conn.execute(_LOGINS).fetchall()
    for r in rows:
        who = f"role {r['name']}"
        problems = [f"has {a.upper()}" for a in ("super", "bypassrls", "replication", "createrole", "createdb")
                    if r[a]]
        if r["super"]:
            problems[0] = "is a SUPERUSER"
        if r["in_owner"] or (r["owner_rights"] and not r["super"]):
            problems.append("is a member of the schema's owner (fl_owner): it may change any table, trigger or "
                            "function of the ledger")
        group = f"fl_{r['app_role']}"
        others = [g for g in r["member_of"] if g != group]
        if others:
            problems.append(f"is a member of {', '.join(others)} beside {group}, the group of its role in "
                            f"fl.app_user ({r['app_role']}): it may do what those roles may")
        if problems:
            findings.append(Finding("catalogue", said("{who}: {value} — more than the release gives a login of the ledger", who=who, value='; '.join(problems)), account=who))
        if group not in r["member_of"]:
            findings.append(Finding("catalogue", said("{who}: fl.app_user registers it as {app_role}, but it is not a member of {group}: the "
                                                      "server's roles and the ledger's registry disagree (a membership revoked or changed "
                                                      "outside fundledger)", who=who, app_role=r['app_role'], group=group), account=who))
    d, database = check_database(conn)
    return len(rows) + d, findings + database


def check_database(conn: Conn) -> tuple[int, list[Finding]]:
    """(ATTACK20b M5) The ledger database's ACL against what the release's migrations set:
    TEMPORARY and CREATE held by no role but the database's owner and fl_owner (PUBLIC
    included), CONNECT not held by PUBLIC (a login of its own may hold it). A NULL ACL is
    PostgreSQL's default, which gives PUBLIC TEMPORARY and CONNECT — the state of an install
    whose migrating login could not apply 0016_db/0027_db (neither a superuser nor the
    database's owner): the DBA has not run the statements the migration printed."""
    r = conn.execute(_DATABASE_ACL).fetchone()
    if r is None:
        return 0, []
    db, dba, owner = str(r["db"]), str(r["dba"]).strip('"'), str(r["owner"] or "").strip('"')
    items = r["acl"] if r["acl"] is not None else ["=Tc/" + dba, f"{dba}=CTc/{dba}"]
    held: dict[str, set[str]] = {}
    for item in items:
        grantee, _, rest = str(item).partition("=")
        grantee = grantee.strip('"')
        for ch in rest.partition("/")[0]:
            held.setdefault(ch, set()).add(grantee)
    findings: list[Finding] = []
    for ch, (priv, why) in _DATABASE_PRIVS.items():
        for grantee in sorted(held.get(ch, ())):
            if grantee in (dba, owner) or (ch == "c" and grantee):
                continue
            who = grantee or "PUBLIC"
            findings.append(Finding("catalogue", said("database {db}: {who} holds {priv} — {why}. The database's owner runs REVOKE {priv} ON "
                                                      "DATABASE {db} FROM {who}", db=db, who=who, priv=priv, why=why), account=f"database {db}"))
    return 1, findings


def database_encoding(conn: Conn) -> tuple[str, str]:
    """(name, server encoding) of the ledger's database, read from pg_database through qualified
    built-ins (the verdict's settings check and ``db check``; ATTACK21 N2); ("?", "?") if unseen."""
    r = conn.execute("SELECT d.datname AS db, pg_catalog.pg_encoding_to_char(d.encoding) AS e "
                     "FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()").fetchone()
    return (str(r["db"]), str(r["e"])) if r is not None else ("?", "?")


def _builtin_problem(r: dict[str, Any]) -> str | None:
    """What is wrong with one pg_catalog function made by initdb, or None."""
    problems = []
    want = BUILTINS.get(r["sig"])
    if want is not None and (r["lang"] != "internal" or r["src"] != want):
        problems.append(f"runs {r['lang']} code {str(r['src'])[:40]!r}, the built-in is internal {want!r}")
    if r["lang"] == "c" and not str(r["bin"] or "").startswith("$libdir/"):
        problems.append(f"loads its code from {r['bin']}, outside the server's library directory")
    if r["secdef"]:
        problems.append("made SECURITY DEFINER")
    if r["config"]:
        problems.append(f"given its own settings ({r['config']})")
    if r["owner_changed"]:
        problems.append("owned by another role than the bootstrap superuser")
    return "; ".join(dict.fromkeys(problems)) or None


def check_builtins(conn: Conn) -> tuple[int, list[Finding]]:
    """The built-ins every query resolves, as initdb made them: (objects checked, findings).
    A superuser can replace one in place (``CREATE OR REPLACE FUNCTION
    pg_catalog.sha256(bytea)`` keeps its oid, so it is no addition) and every digest
    computed in the database then lies; the verdict computes with hashlib, and this names
    the replaced object."""
    findings: list[Finding] = []
    rows = conn.execute(_BUILTIN_FUNCTIONS, {"relied": list(BUILTINS)}).fetchall()
    seen = set()
    for r in rows:
        seen.add(r["sig"])
        problem = _builtin_problem(r)
        if problem:
            findings.append(Finding("catalogue", said("{what}: {problem} — every query that calls it can be told anything", what=r['what'], problem=problem), account=r["what"]))
    for sig in sorted(set(BUILTINS) - seen):
        findings.append(Finding("catalogue", said("function pg_catalog.{sig} is missing: the verifier relies on it", sig=sig),
                                account=said("function pg_catalog.{sig}", sig=sig)))
    v, views = check_system_views(conn)
    c, content, _known = verify_builtins.check(conn)
    return len(BUILTINS) + v + c, findings + views + content


def check_settings(conn: Conn, cap: int = 200) -> CheckResult:
    """Role and database settings of this session, of every login and group of the
    ledger, of ALL and of the database; and preloaded libraries."""
    findings: list[Finding] = []
    rows = conn.execute(_ROLE_SETTINGS, {"groups": list(GROUPS)}).fetchall()
    for r in rows:
        key = str(r["setting"]).split("=", 1)[0].strip().lower()
        if key in HARMLESS_SETTINGS or (key in WRITER_HARMLESS_SETTINGS and not r["mine"]):
            continue
        where = " ".join(x for x in (f"ALTER ROLE {r['role']}" if r["role"] else "",
                                     f"IN DATABASE {r['db']}" if r["role"] and r["db"] else
                                     (f"ALTER DATABASE {r['db']}" if r["db"] else "")) if x) or "ALTER ROLE ALL"
        effect = _WRITE_EFFECT.get(key)
        if r["mine"]:
            why = ("a setting applied to this session that could change what it reads (the verifier overrides what "
                   "it can, but the database was prepared to mislead a reader)")
            if effect and (r["role"] is None or r["db"] is None):
                why += f"; it applies to the ledger's other sessions too: {effect}"
            account = f"setting {key}"
        else:
            why = (f"applies to every session of {r['role']}, its writes through the ledger's functions included"
                   + (f": {effect}" if effect else ": it may change what those writes do"))
            account = f"setting {key} of {r['role']}"
        findings.append(Finding("settings", f"{where} SET {r['setting']}: {why}", account=account))
    for r in conn.execute(_LIBRARIES).fetchall():
        if r["setting"] is None:
            findings.append(Finding("settings", said("{name} cannot be read by this login (it needs pg_read_all_settings, which migration "
                                                     "0059 grants to the auditor's, reviewers' and finance's groups when a superuser "
                                                     "migrates): code preloaded into every session, the verifier's included, would go unseen. "
                                                     "Have the DBA run GRANT pg_read_all_settings TO fl_auditor, fl_reviewer, fl_finance", name=r['name']),
                                    account=f"setting {r['name']}"))
            continue
        libs = [x.strip().strip('"') for x in str(r["setting"] or "").split(",") if x.strip()]
        # By name, and only from the server's own library directory (ATTACK8 V7: a path, or
        # dynamic_library_path pointing elsewhere, made "auth_delay" any file).
        bad = [x for x in libs if x.rsplit("/", 1)[-1] not in SAFE_LIBRARIES
               or ("/" in x and not x.startswith("$libdir/"))]
        if bad:
            findings.append(Finding("settings", said("{name} = {value}: code loaded into the server that can change any result a session reads", name=r['name'], value=', '.join(bad)), account=f"setting {r['name']}"))
    db, e = database_encoding(conn)
    if e.upper() != "UTF8":
        # (ATTACK21 N2) init refuses such a database; one made before (or initialised with the
        # encoding forced by hand) is named: a SQL_ASCII server checks no text it stores
        findings.append(Finding("settings", said("the database {db} has server encoding {e}, not UTF8: the server does not check the text "
                                                 "it stores as UTF-8 (SQL_ASCII) or cannot hold every Chinese name; copy the ledger into "
                                                 "a database made with ENCODING 'UTF8' TEMPLATE template0 (fundledger backup, restore)", db=db, e=e), account="server_encoding"))
    path = conn.execute("SELECT CASE WHEN pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE') THEN "
                        "pg_catalog.current_setting('dynamic_library_path') END AS p").fetchone()
    if path is not None and path["p"] is None:
        findings.append(Finding("settings", said("dynamic_library_path cannot be read by this login (it needs pg_read_all_settings, which "
                                                 "migration 0059 grants to the groups that verify)"),
                                account=said("setting dynamic_library_path")))
    elif path is not None and str(path["p"]).strip() not in ("$libdir", ""):
        findings.append(Finding("settings", said("dynamic_library_path = {p}: a library named like a harmless one may be loaded from "
                                                 "another directory than the server's own", p=path['p']),
                                account=said("setting dynamic_library_path")))
    return result("settings", "no setting of ALL, of the database, of the auditor's role or of any login or group "
                  "of the ledger (session_replication_role, search_path, …), and no preloaded library, that could "
                  "change what a session reads or what a write does", len(rows) + 3, findings, cap)
