"""Inputs that reach SQL are always parameters: hostile text (quotes, backslashes,
semicolons, ``'); DROP TABLE`` payloads, control characters, CJK) goes through the CLI
into entry memos, idempotency keys, line references and user names, and comes back
exactly; nothing else in the database changes."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import cli_post, drop_login

pytestmark = [pytest.mark.db, pytest.mark.server]

PAYLOADS = ["'); DROP TABLE fl.entry; --", "O'Brien", "\\", "\\'", "'; SELECT pg_sleep(10); --", '" OR "1"="1',
            "$$; DROP SCHEMA fl CASCADE; $$", "%s %(x)s {0}", "门诊'\";--", "；＇“”", "\\x00", "E'\\n'"]
hostile = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(PAYLOADS),
              st.text(alphabet="'\";\\\t\r\n\x01\x1f\x7f 医保基金专户–—%_", max_size=20)),
).filter(lambda s: s.strip() != "")

# (0107) A line reference is held to the reference form (printable ASCII, 汉字, the punctuation of
# document numbers; tests/security/test_posting_line_refs.py refuses the rest): hostile within it.
refs = st.one_of(
    st.sampled_from([p for p in PAYLOADS if p != "；＇“”"]),
    st.text(alphabet="".join(map(chr, range(0x21, 0x7f))) + " 医保基金专户", min_size=1, max_size=40),
).filter(lambda s: s.strip() != "")

_counter = itertools.count()


def _schema(admin) -> list[tuple]:
    return [tuple(r.values()) for r in admin.execute(
        "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'fl'::regnamespace ORDER BY 1").fetchall()]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memo=hostile, key=hostile, ref=refs)
def test_hostile_text_round_trips_through_entries(ledger_db, memo, key, ref):
    admin = ledger_db.cached()
    before = _schema(admin)
    n_before = admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]
    k = f"{next(_counter)}{key}"[:200]
    doc = {"date": "2023-03-01", "book": "RES", "memo": memo, "idempotency_key": k,
           "postings": [{"account": "1003", "unit": "230822", "holder": "special", "side": "debit", "amount": "1.00",
                         "line_ref": ref, "memo": memo},
                        {"account": "4001", "unit": "230822", "side": "credit", "amount": "1.00"}]}
    eid = cli_post(ledger_db, "fin", [doc])[0]["entry_id"]
    shown = ledger_db.cli("entry", "show", str(eid), "--json", user="aud").json()
    # Documents are trimmed at the edges when parsed (ledger.core.entries); inside, byte for byte.
    assert shown["memo"] == memo.strip()
    assert shown["idempotency_key"] == "manual:fin:" + k.strip()     # filed under its writer (0017)
    assert shown["postings"][0]["line_ref"] == ref.strip()
    assert shown["postings"][0]["memo"] == memo.strip()
    row = admin.execute("SELECT memo, idempotency_key FROM fl.entry WHERE id = %s", (eid,)).fetchone()
    assert (row["memo"], row["idempotency_key"]) == (memo.strip(), "manual:fin:" + k.strip())
    assert admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == n_before + 1
    assert _schema(admin) == before
    # The same key by the trail command (a key is also a way to name an entry).
    trail = ledger_db.cli("audit", "trail", k.strip(), "--json", user="aud")
    if not k.strip().isdigit() and not (k.strip()[:1] in "Rr" and k.strip()[1:].isdigit()):
        assert trail.exit_code == 0, trail
        assert trail.json()["subject"]["idempotency_key"] == "manual:fin:" + k.strip()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.sampled_from(PAYLOADS),
                      st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                              min_size=1, max_size=12)))
def test_hostile_user_names_are_refused_in_words(ledger_db, name):
    """A user name is a PostgreSQL login fundledger makes: only lower-case letters, digits,
    '_', '.' and '-' (docs/security.md). Anything else is refused with a message — never a
    traceback, never SQL — and nothing changes."""
    admin = ledger_db.cached()
    before = _schema(admin)
    users = admin.execute("SELECT count(*) AS n FROM fl.app_user").fetchone()["n"]
    user = f"u{next(_counter)}_{name}"[:40]
    if len(user.encode()) > 63:          # PostgreSQL role names are at most 63 bytes
        user = user.encode()[:60].decode("utf-8", "ignore")
    res = ledger_db.cli("user", "add", user, "--role", "auditor")
    if re.fullmatch(r"[a-z][a-z0-9_.-]{0,62}", user):
        assert res.exit_code == 0, res
        # Roles are cluster-wide: leave none behind on a shared server.
        drop_login(admin, user)
    else:
        assert res.exit_code == 1 and "user_name" in res.stderr and "Traceback" not in res.stderr, res
        assert admin.execute("SELECT count(*) AS n FROM fl.app_user").fetchone()["n"] == users
        assert admin.execute("SELECT count(*) AS n FROM pg_roles WHERE rolname = %s", (user,)).fetchone()["n"] == 0
    assert _schema(admin) == before
