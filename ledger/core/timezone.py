"""The fund's clock: reports say when they were made in this zone, not the server's.

Its own small module (``ledger.core.region`` re-exports it) so that a read command that
stamps a report's time does not load the region parser, tomllib and the policy tables."""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import BadInput
from ledger.i18n import _

DEFAULT_TIME_ZONE = "Asia/Shanghai"
TIME_ZONE_ENV = "FUNDLEDGER_TIME_ZONE"


def fund_time_zone(configured: str | None = None) -> ZoneInfo:
    """The fund's time zone: ``FUNDLEDGER_TIME_ZONE`` if set, else ``configured`` (the region
    file's ``[region] time_zone``), else Asia/Shanghai. An unknown name is refused."""
    env = os.environ.get(TIME_ZONE_ENV, "").strip()
    name = env or (configured or "").strip() or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        where = TIME_ZONE_ENV if env else _("the region file's time_zone")
        raise BadInput(_("{where}: unknown time zone '{name}' (an IANA name like Asia/Shanghai)").format(
            where=where, name=name)) from None
