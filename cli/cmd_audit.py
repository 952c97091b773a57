"""Auditor's commands: verify, audit trail / digest / check-digest, reconcile import / report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import console, emit_json, jsonable, parse_date_opt, read, rows_json, table, write
from ledger.core.findings import VerifyReport
from ledger.core.money import decimal_text, format_yuan
from ledger.errors import BadInput
from ledger.store import audit, reconcile, verify

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable, documented keys (docs/auditors-guide.md).")]

audit_app = typer.Typer(help="Audit trail and chain digests (for auditors).", no_args_is_help=True)
reconcile_app = typer.Typer(help="Bank reconciliation (银行对账): statements and the 余额调节表.", no_args_is_help=True)

EVENT_KEYS = ["at", "actor", "client_addr", "action", "detail", "reason", "entry_id", "voucher", "request_id", "amount"]
LINE_KEYS = ["id", "date", "direction", "amount", "reference", "balance", "row_no", "match_group", "method"]
BOOK_KEYS = ["posting_id", "entry_id", "voucher", "date", "side", "amount", "reference", "unit", "idempotency_key",
             "match_group", "method"]
RECON_MONEY = ["bank_balance", "book_receipts_not_in_bank", "book_payments_not_in_bank", "adjusted_bank_balance",
               "book_balance", "bank_receipts_not_in_book", "bank_payments_not_in_book", "adjusted_book_balance",
               "difference"]


def _render_report(rep: VerifyReport, json_out: bool, title: str) -> None:
    if json_out:
        emit_json(rep.as_json())
    else:
        table(title, [("name", "check"), ("status", "status"), ("checked", "checked"), ("n", "findings")],
              [{"name": c.name, "status": "ok" if c.ok else "[red]FAIL[/red]", "checked": c.checked,
                "n": len(c.findings) + c.omitted} for c in rep.checks])
        if rep.findings:
            table("findings", [("check", "check"), ("subject", "concerns"), ("message", "what is wrong")],
                  [{"check": f.check, "subject": f.subject(), "message": f.message} for f in rep.findings])
        queued = int(rep.extra.get("queued", 0))
        if queued:
            console.print(f"{queued} entr{'y' if queued == 1 else 'ies'} committed but not yet sealed (queued while "
                          "another commit held the chain head; the next write command seals them)")
        console.print("all invariants hold" if rep.ok else f"[red]{len(rep.findings)} finding(s)[/red]")
    if not rep.ok:
        raise typer.Exit(1)


def verify_cmd(
    check: Annotated[list[str] | None, typer.Option("--check", help="Run only this check (repeatable): "
                                                    + ", ".join(verify.check_names()))] = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute every invariant from the raw rows; exit 0 only when all hold (1 with findings)."""
    unknown = sorted(set(check or ()) - set(verify.check_names()))
    if unknown:
        raise BadInput(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(verify.check_names())}")
    rep = read(lambda c: verify.verify(c, only=check or None))
    _render_report(rep, json_out, "verify")


@audit_app.command("trail")
def trail(
    ref: Annotated[str | None, typer.Argument(help="Entry id, voucher (RES/2023-000001), idempotency key, "
                                              "or R<id> for a fund request.")] = None,
    request: Annotated[int | None, typer.Option("--request", help="A fund request id.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Who did what, when, from where and why: an entry or a fund request, with reversals and approvals."""
    if (ref is None) == (request is None):
        raise BadInput("give an entry (id, voucher or key) or a request (R<id> or --request ID)")
    rid = request if request is not None else audit.parse_request_ref(ref or "")
    t = read(lambda c: audit.trail_request(c, rid) if rid is not None else audit.trail_entry(c, ref or ""))
    money = ["amount", "amount_requested", "amount_approved"]
    if json_out:
        emit_json({"subject": {k: jsonable(v, k in money) for k, v in t["subject"].items()},
                   "events": rows_json(t["events"], EVENT_KEYS, ["amount"])})
        return
    s = t["subject"]
    if s["type"] == "entry":
        console.print(f"[bold]entry {s['id']}[/bold] voucher {s['voucher'] or '(unsealed)'} {s['book']} "
                      f"dated {s['entry_date']} {s['kind']} {format_yuan(s['amount'])}  key {s['idempotency_key']}")
    else:
        console.print(f"[bold]request R{s['id']}[/bold] unit {s['unit']} {s['book']} {s['year']}Q{s['quarter']} "
                      f"requested {format_yuan(s['amount_requested'])} state {s['state']}")
    table("audit trail", [("at", "when"), ("actor", "who"), ("client_addr", "from"), ("action", "action"),
                          ("detail", "detail"), ("reason", "reason"), ("amount", "amount")], t["events"],
          money=["amount"])


@audit_app.command("digest")
def digest(
    out: Annotated[Path | None, typer.Option("--out", help="Write the digest here (file it outside the database).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The chain head recomputed from scratch: entry count, last seal, last voucher per book/year, SHA-256."""
    d = read(audit.take_digest)
    text = json.dumps(d, ensure_ascii=False, indent=2) + "\n"
    if out is not None:
        out.write_text(text, "utf-8")
    if json_out:
        emit_json(d)
    else:
        console.print(f"digest of {d['database']} at {d['taken_at']}: {d['entries']} entries, last seq "
                      f"{d['last_seq']} ({d['last_voucher']}), head {d['head_hash']}"
                      + (f"\nwritten to {out}" if out else ""))


@audit_app.command("check-digest")
def check_digest(
    file: Annotated[Path, typer.Argument(help="A digest written by `fundledger audit digest --out`.")],
    json_out: JsonOpt = False,
) -> None:
    """Prove the ledger still extends a filed digest unchanged (and run every verify check)."""
    try:
        d = json.loads(file.read_text("utf-8"))
    except FileNotFoundError as e:
        raise BadInput(f"{file}: no such file") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{file}: not a JSON digest: {e}") from e
    if not isinstance(d, dict):
        raise BadInput(f"{file}: not a JSON digest")
    rep = read(lambda c: audit.check_digest(c, d))
    if not json_out and rep.ok:
        console.print(f"the ledger extends the digest of {d.get('taken_at')} unchanged "
                      f"({rep.extra['later_entries']} entries since)")
    _render_report(rep, json_out, "check-digest")


@reconcile_app.command("import")
def reconcile_import(
    statement: Annotated[Path, typer.Argument(help="Bank statement CSV/XLSX: date, amount, direction (in/out), "
                                              "reference[, balance].")],
    account: Annotated[str, typer.Option("--account", help="special | city-exp | county-exp:UNIT")],
    book: Annotated[str, typer.Option("--book", help="Book (RES, EMP, …).")],
    window: Annotated[int | None, typer.Option("--window", help="Days a bank date may differ from the book date "
                                               "(default: setting reconcile.window_days, else 3).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a bank statement and match it; re-importing adds nothing twice."""
    spec = reconcile.BankAccountSpec.parse(account)
    lines = reconcile.read_statement(statement)
    r = write(lambda c: reconcile.import_statement(c, statement, lines, spec, book, window))
    if json_out:
        emit_json(jsonable(r))
    else:
        console.print(f"{r['file']}: {r['lines_total']} lines, {r['lines_new']} new, {r['lines_known']} already known; "
                      f"matched {r['lines_matched']} line(s) to {r['postings_matched']} posting(s) in "
                      f"{r['groups_matched']} group(s); {r['lines_unmatched']} bank line(s) unmatched")


@reconcile_app.command("report")
def reconcile_report(
    account: Annotated[str, typer.Option("--account", help="special | city-exp | county-exp:UNIT")],
    book: Annotated[str, typer.Option("--book", help="Book (RES, EMP, …).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Reconcile as of the end of this date (YYYY-MM-DD).")],
    json_out: JsonOpt = False,
) -> None:
    """Matched items, unmatched on each side and the 余额调节表 (bank balance reconciled to book balance)."""
    spec = reconcile.BankAccountSpec.parse(account)
    d = parse_date_opt(as_of, "as-of")
    assert d is not None
    r = read(lambda c: reconcile.report(c, spec, book, d))
    rec = r["reconciliation"]
    if json_out:
        emit_json({
            "account": r["account"], "book": r["book"], "bank_account_id": r["bank_account_id"],
            "as_of": d.isoformat(),
            "matched": [{"group": g["group"], "method": g["method"],
                         "lines": rows_json(g["lines"], LINE_KEYS, ["amount", "balance"]),
                         "postings": rows_json(g["postings"], BOOK_KEYS, ["amount"])} for g in r["matched"]],
            "unmatched_bank": rows_json(r["unmatched_bank"], LINE_KEYS, ["amount", "balance"]),
            "unmatched_book": rows_json(r["unmatched_book"], BOOK_KEYS, ["amount"]),
            "reconciliation": {k: decimal_text(v) if k in RECON_MONEY else v for k, v in rec.items()},
        })
        return
    console.print(f"[bold]{r['account']} {r['book']} as of {d}[/bold]: {len(r['matched'])} matched group(s)")
    table("unmatched on the bank side (银行已记、企业未记)", [("date", "date"), ("direction", "in/out"),
                                                     ("amount", "amount"), ("reference", "reference")],
          r["unmatched_bank"], money=["amount"])
    table("unmatched on the book side (企业已记、银行未记)", [("date", "date"), ("voucher", "voucher"), ("side", "D/C"),
                                                     ("amount", "amount"), ("reference", "reference"),
                                                     ("unit", "unit")], r["unmatched_book"], money=["amount"])
    rows: list[dict[str, Any]] = [
        {"a": "银行对账单余额 bank balance", "x": rec["bank_balance"], "b": "企业账面余额 book balance", "y": rec["book_balance"]},
        {"a": "加: 企业已收银行未收", "x": rec["book_receipts_not_in_bank"], "b": "加: 银行已收企业未收",
         "y": rec["bank_receipts_not_in_book"]},
        {"a": "减: 企业已付银行未付", "x": rec["book_payments_not_in_bank"], "b": "减: 银行已付企业未付",
         "y": rec["bank_payments_not_in_book"]},
        {"a": "调节后余额 adjusted", "x": rec["adjusted_bank_balance"], "b": "调节后余额 adjusted",
         "y": rec["adjusted_book_balance"]},
    ]
    table("余额调节表 bank reconciliation", [("a", "bank side"), ("x", "amount"), ("b", "book side"), ("y", "amount")],
          rows, money=["x", "y"])
    console.print("reconciled: the adjusted balances agree" if rec["reconciled"] else
                  f"[red]not reconciled: difference {format_yuan(rec['difference'])}[/red]")


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
    app.add_typer(audit_app, name="audit")
    app.add_typer(reconcile_app, name="reconcile")
