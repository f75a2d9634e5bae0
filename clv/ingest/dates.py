"""Dates that never guess silently: one convention per column, chosen from the data, the platform or the user.

Every family of patterns is tried on the column's distinct values; the one that reads the most wins. When
month-first and day-first read every value equally well (03/04/2024 and nothing past the 12th), the choice is
*ambiguous*: the user's choice, else the platform's known order, else a hint from the file (semicolons,
dotted dates: day first), else month first — and the report says so. Values the chosen family cannot read are
excluded and listed, never read with another convention.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .fields import q

__all__ = ["DateChoice", "choose_date_format", "date_sql", "DATE_HELP", "EARLIEST", "latest_allowed"]

DATE_HELP = ("dates like 2024-01-31, 2024-01-31 14:05:00 +0100, 01/31/2024 14:05, 31.01.2024, Jan 31, 2024 2:05 PM, "
             "20240131 or epoch seconds")
EARLIEST = dt.date(1990, 1, 1)


def latest_allowed() -> dt.date:
    """Dates after tomorrow are typos or wrong conventions (2-digit years, swapped fields): reported, not kept."""
    return dt.date.today() + dt.timedelta(days=1)


def _clock(prefix: list[str]) -> list[str]:
    out = []
    for d in prefix:
        out += [f"{d} %I:%M:%S %p", f"{d} %I:%M %p", f"{d} %H:%M:%S", f"{d} %H:%M", d]
    return out


# two-digit years first: "%y" cannot read "2024" (digits would be left over), while "%Y" would read "24" as year 24
FAMILIES = {
    "ymd": _clock(["%Y/%m/%d", "%Y.%m.%d"]),
    "mdy": _clock(["%m/%d/%y", "%m/%d/%Y", "%m-%d-%y", "%m-%d-%Y", "%m.%d.%Y"]),
    "dmy": _clock(["%d/%m/%y", "%d/%m/%Y", "%d.%m.%y", "%d.%m.%Y", "%d-%m-%y", "%d-%m-%Y"]),
    "text": _clock(["%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%a, %d %b %Y", "%d-%b-%Y", "%d-%b-%y"])
            + ["%b %d, %Y %H:%M:%S PM", "%b %d, %Y %H:%M:%S AM"],  # Magento 2.0's 24-hour clock with AM/PM
    "yyyymmdd": ["%Y%m%d"],
}
#: ISO-like shapes DuckDB's cast does not read: Shopify's "2024-01-05 10:00:00 -0500" (offset without a colon)
ISO_PATTERNS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f %z"]
_EPOCH = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}
_ISO_WHY = "ISO dates (2024-01-31…)"


@dataclass(frozen=True)
class DateChoice:
    family: str          # "iso", a FAMILIES key or an _EPOCH key
    why: str
    ambiguous: bool = False

    @property
    def order(self) -> str:
        return self.family if self.family in ("mdy", "dmy") else "auto"


def _iso(x: str) -> str:
    # plain shapes first (fast TIMESTAMP cast; these lengths leave no room for an offset: "2024-01-31 14:05+01"
    # is 19 characters too, hence the colon checks), then ISO with an offset, Z or UTC (converted to UTC). Only
    # text that starts with a 4-digit year: DuckDB's cast reads Etsy's "01/05/24" as the year 1.
    return (f"CASE WHEN regexp_matches({x}, '^\\s*[0-9]{{4}}-[0-9]') THEN coalesce("
            f"CASE WHEN length({x}) = 10 OR (length({x}) = 16 AND {x}[14] = ':') "
            f"OR (length({x}) = 19 AND {x}[17] = ':') THEN try_cast({x} AS TIMESTAMP) END, "
            f"try_cast(trim({x}) AS TIMESTAMPTZ)::TIMESTAMP) END")


def date_sql(choice: DateChoice, x: str) -> tuple[str, dict]:
    """SQL reading text expression ``x`` as a UTC TIMESTAMP with the chosen family, and its parameters."""
    if choice.family in _EPOCH:
        return (f"CASE WHEN regexp_full_match(trim({x}), '[0-9]+(\\.[0-9]+)?') THEN "
                f"make_timestamp(CAST(try_cast(trim({x}) AS DOUBLE) * {1_000_000 // _EPOCH[choice.family]} AS BIGINT)) END",
                {})
    fmts = ISO_PATTERNS + (FAMILIES[choice.family] if choice.family in FAMILIES else [])
    return (f"coalesce({_iso(x)}, try_strptime(trim({x}), $date_fmts)::TIMESTAMPTZ::TIMESTAMP)", {"date_fmts": fmts})


def choose_date_format(con, view: str, raw: str, *, user_order: str = "auto", platform_order: str = "auto",
                       dayfirst_hint: bool = False, label: str = "") -> DateChoice:
    """Pick one family for the text expression ``raw`` over ``view`` (see the module docstring)."""
    sample = f"(SELECT DISTINCT trim(x) AS x FROM (SELECT {raw} AS x FROM {q(view)}) WHERE nullif(trim(x), '') IS NOT NULL LIMIT 200000)"
    fams = list(FAMILIES)
    counts = con.execute(
        f"SELECT count(*), count(coalesce({_iso('x')}, try_strptime(x, ${len(fams) + 1})::TIMESTAMPTZ)), "
        + ", ".join(f"count(try_strptime(x, ${i + 1}))" for i in range(len(fams)))
        + ", count(*) FILTER (WHERE regexp_full_match(x, '[0-9]{9,10}(\\.[0-9]+)?')), "
          "count(*) FILTER (WHERE regexp_full_match(x, '[0-9]{12,13}')), "
          "count(*) FILTER (WHERE regexp_full_match(x, '[0-9]{15,16}')) "
          f"FROM {sample}", [FAMILIES[f] for f in fams] + [ISO_PATTERNS]).fetchall()[0]
    total, iso = counts[0], counts[1]
    score = {"iso": iso, **dict(zip(fams, counts[2:2 + len(fams)])), **dict(zip(_EPOCH, counts[2 + len(fams):]))}
    if total == 0:
        return DateChoice("iso", "no dates to read")
    best = max(score.values())
    if user_order in ("mdy", "dmy"):
        return DateChoice(user_order, f"{'month' if user_order == 'mdy' else 'day'} first, as chosen")
    if score["iso"] == best:
        return DateChoice("iso", _ISO_WHY)
    if score["mdy"] == score["dmy"] == best:
        if platform_order in ("mdy", "dmy"):
            order, how = platform_order, f"the platform writes {'month' if platform_order == 'mdy' else 'day'} first"
        elif dayfirst_hint:
            order, how = "dmy", "the file's layout is European (semicolons or dotted dates)"
        else:
            order, how = "mdy", "month first is the default"
        return DateChoice(order, f"ambiguous: every date{label} reads both ways (no day after the 12th); "
                                 f"read {'month' if order == 'mdy' else 'day'} first because {how}. "
                                 "Choose the other order if that is wrong.", ambiguous=True)
    family = next(f for f in ("ymd", "text", "yyyymmdd", "mdy", "dmy", "epoch_s", "epoch_ms", "epoch_us")
                  if score[f] == best)
    why = {"mdy": "month first", "dmy": "day first", "ymd": "year/month/day", "text": "dates with month names",
           "yyyymmdd": "YYYYMMDD dates", "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds",
           "epoch_us": "epoch microseconds"}[family]
    if family in ("mdy", "dmy"):
        other = "dmy" if family == "mdy" else "mdy"
        example = con.execute(f"SELECT x FROM {sample} WHERE try_strptime(x, $1) IS NOT NULL "
                              f"AND try_strptime(x, $2) IS NULL LIMIT 1",
                              [FAMILIES[family], FAMILIES[other]]).fetchall()
        if example:
            why += f": {example[0][0]!r} reads only {'month' if family == 'mdy' else 'day'} first"
    return DateChoice(family, why)
