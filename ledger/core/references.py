"""What a reference reads as: the fold under which two references are one (0141, 0146).

A reference is what the duplicate checks compare (a claim's, a register item's, a bank line's). A
few characters GB2312 holds are drawn like another the repertoire admits — its radicals (偏旁部首)
丨 丿 丶 囗 巛 — and a release before 0134 stored them; so two stored texts can read alike in every
report (囗腔-1 and 口腔-1) and be one claim. ``reference_fold`` is the database's
``fl.reference_fold`` (0141): each radical read as what it is drawn like. The rules that judge a
reference once (0141's per-table guards, 0146's claims across a unit's two registers, and the
verdict's ``claims_once``) compare folded references. Width and case are not folded: a reference
not in NFKC form is refused since 0089 and, stored before, is a verdict finding (line_ref_form, its
posting's reference judged by the widest form a release admitted — which holds the radicals, hence
this fold); A-1 and a-1 read differently in every report."""

from __future__ import annotations

# (0134, ATTACK16b D5) GB2312 itself lists the radicals (偏旁部首) as characters, and a few are drawn
# like a common character or a mark the repertoire admits: 囗 (U+56D7) like 口, 丨 (U+4E28) like |.
# A radical is a component, not a word — no place, provider or document number is written with one —
# so these are refused in a new reference: radical -> the character it reads as (what to write).
# The same table as fl.reference_confusable (0134) and fl.reference_fold (0141; tests compare them).
# Distinct characters with uses of their own drawn alike (己/已/巳, 日/曰, 土/士, 未/末, 一/-, 十/+,
# 〇/0 …) are not refused.
CONFUSABLE_HANZI: dict[str, str] = {
    "\u4e28": "|",        # 丨 like the vertical bar
    "\u4e3f": "/",        # 丿 like the slash
    "\u4e36": "\u3001",   # 丶 like 、
    "\u56d7": "\u53e3",   # 囗 like 口
    "\u5ddb": "\u5ddd",   # 巛 like 川
}

_FOLD = str.maketrans(CONFUSABLE_HANZI)


def reference_fold(reference: str) -> str:
    """``reference`` as it reads: each radical of ``CONFUSABLE_HANZI`` replaced by what it is
    drawn like (``fl.reference_fold``, 0141). Two references with one fold are one reference."""
    return reference.translate(_FOLD)
