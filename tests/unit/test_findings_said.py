"""A finding's text as a catalogue message (ATTACK21 N7): the English is what the f-string gave,
byte for byte (the record in --json, exports and digests); the table reads it in Chinese."""
from __future__ import annotations

import datetime as dt
import json
import pickle

from ledger import i18n
from ledger.core.findings import Finding, Said, said, worded


def test_the_record_is_the_english_text_byte_for_byte() -> None:
    date, fy, at = "2023-03-05", 2024, dt.datetime(2023, 1, 5, 10, 0, 7)
    s = said("dated {date}, before the region's first year {first_year} (entry_date_range)", date=date, first_year=fy)
    assert s == f"dated {date}, before the region's first year {fy} (entry_date_range)"
    assert type(json.loads(json.dumps(s))) is str and json.dumps(s) == json.dumps(str(s))
    t = said("not in the digest but created at {created:%Y-%m-%d %H:%M:%S}, x {v!r}", created=at, v="a'b")
    assert t == f"not in the digest but created at {at:%Y-%m-%d %H:%M:%S}, x {'a' + chr(39) + 'b'!r}"
    f = Finding("entry_dates", s, entry_id=1)
    assert f.as_json()["message"] == str(s) and f == Finding("entry_dates", str(s), entry_id=1)
    back = pickle.loads(pickle.dumps(f))
    assert back == f and isinstance(back.message, Said) and back.message.fields == s.fields


def test_the_table_reads_it_in_chinese() -> None:
    s = said("dated {date}, before the region's first year {first} in force when it was written (entry_date_range)",
             date="2023-03-05", first=2024)
    assert worded(s, "zh") == "日期为 2023-03-05，早于写入时本地区生效的首个年度 2024（entry_date_range）"
    assert worded(s, "en") == str(s)
    assert worded("plain text", "zh") == "plain text"
    nested = said("{where}, by {actor} ({role})", where=said("history version {seq}", seq=7), actor="fin", role="finance")
    assert worded(nested, "zh") == "历史版本 7，由 fin（finance）"
    was = i18n.get_lang()
    try:
        i18n.set_lang("zh")
        assert Finding("x", s, entry_id=3, voucher="RES/2023-000001").subject_text() == "分录 3（RES/2023-000001）"
        assert Finding("x", s, entry_id=3).text().startswith("日期为")
    finally:
        i18n.set_lang(was)
