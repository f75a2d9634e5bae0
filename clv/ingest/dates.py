"""Dates that never guess silently: one convention per column, chosen from the data, the platform or the user.

Every family of patterns is tried on the column's distinct values; the one that reads the most wins. When
month-first and day-first read every value equally well (03/04/2024 and nothing past the 12th), the choice is
*ambiguous*: the user's choice, else the platform's known order, else a hint from the file (semicolons,
dotted dates: day first), else month first — and the report says so. Values the chosen family cannot read are
excluded and listed, never read with another convention.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from .fields import q

__all__ = ["DateChoice", "choose_date_format", "date_sql", "install_date_macros", "DATE_HELP", "EARLIEST",
           "latest_allowed", "ZONE_OFFSETS", "ZONE_RE"]

DATE_HELP = ("dates like 2024-01-31, 2024-01-31 14:05:00 +0100, 01/31/2024 14:05, 31.01.2024, Jan 31, 2024 2:05 PM, "
             "16. Januar 2024, Tue, 16 Jan 2024 13:21:35 +0000, 2024-01-16 13:21:35 PDT, 20240131, Excel day numbers or epoch seconds")
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
    "text": _clock(["%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%a, %d %b %Y", "%d-%b-%Y", "%d-%b-%y",
                    # a weekday first ("Tuesday, January 16, 2024", "Tue 16 Jan 2024"); German and Dutch "16. Januar"
                    "%A, %B %d, %Y", "%a, %b %d, %Y", "%a %d %b %Y", "%a %b %d %Y", "%d. %B %Y", "%d. %b %Y",
                    "%d de %B de %Y"])  # Spanish "16 de enero de 2024" (month names read in English: clv_months)
            + ["%b %d, %Y %H:%M:%S PM", "%b %d, %Y %H:%M:%S AM"],  # Magento 2.0's 24-hour clock with AM/PM
    # e-mail style (RFC 2822: "Tue, 16 Jan 2024 13:21:35 +0000"), converted to UTC
    "rfc2822": ["%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z", "%a, %d %b %Y %H:%M %z"],
    "yyyymmdd": ["%Y%m%d"],
}
#: families whose patterns carry an offset: read as instants and converted to UTC wall times
_ZONED = {"rfc2822"}
#: month names (and their abbreviations) in German, French, Spanish, Italian and Dutch -> English, for %B/%b
MONTHS = {
    **{m: "January" for m in ("januar", "jänner", "janvier", "janv", "enero", "ene", "gennaio", "gen", "januari")},
    **{m: "February" for m in ("februar", "février", "fevrier", "févr", "fevr", "febrero", "febbraio", "februari")},
    **{m: "March" for m in ("märz", "maerz", "mär", "mrz", "mars", "marzo", "maart", "mrt")},
    **{m: "April" for m in ("avril", "avr", "abril", "abr", "aprile")},
    **{m: "May" for m in ("mai", "mayo", "maggio", "mag", "mei")},
    **{m: "June" for m in ("juni", "juin", "junio", "giugno", "giu")},
    **{m: "July" for m in ("juli", "juillet", "juil", "julio", "luglio", "lug")},
    **{m: "August" for m in ("août", "aout", "agosto", "ago", "augustus")},
    **{m: "September" for m in ("septembre", "septiembre", "setiembre", "settembre", "set")},
    **{m: "October" for m in ("oktober", "okt", "octobre", "octubre", "ottobre", "ott")},
    **{m: "November" for m in ("novembre", "noviembre")},
    **{m: "December" for m in ("dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic", "dicembre")},
}
#: Excel's serial day numbers (days since 1899-12-30; "45307.5" is noon on 16 Jan 2024) that a re-saved export
#: holds instead of dates: five digits from 1990 (32874) to 2099 (73415), maybe with the time as a fraction
_SERIAL = "[3-7][0-9]{4}(\\.[0-9]+)?"
#: ISO-like shapes DuckDB's cast does not read: Shopify's "2024-01-05 10:00:00 -0500" (offset without a colon)
ISO_PATTERNS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f %z"]
_EPOCH = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}


def months_sql(x: str) -> str:
    """``x`` with other languages' month names in English, word by word (one pass; the words are looked up
    without case and a trailing dot)."""
    pairs = ", ".join(f"'{k}': '{v}'" for k, v in MONTHS.items())
    return (f"array_to_string(list_transform(string_split({x}, ' '), lambda w: coalesce(MAP {{{pairs}}}"
            f"[rtrim(lower(w), '.')], w)), ' ')")
_ISO_WHY = "ISO dates (2024-01-31…)"

#: time-zone abbreviations written after a time -> minutes east of UTC. Each names its offset, daylight time
#: included ("PDT" is UTC-7 whatever the date), so the value is read as written. Where an abbreviation has
#: several meanings, the one shops' exports use (US, UK, India) is taken and said in the report (ZONE_READINGS).
ZONE_OFFSETS = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "IST": 330, "CET": 60, "CEST": 120,
    "MET": 60, "MEST": 120, "MEZ": 60, "MESZ": 120, "EET": 120, "EEST": 180, "MSK": 180, "EST": -300, "EDT": -240,
    "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480,
    "HST": -600, "HDT": -540, "AST": -240, "ADT": -180, "NST": -210, "NDT": -150, "AEST": 600, "AEDT": 660,
    "ACST": 570, "ACDT": 630, "AWST": 480, "NZST": 720, "NZDT": 780, "JST": 540, "KST": 540, "HKT": 480,
    "SGT": 480, "SAST": 120, "BRT": -180, "ART": -180}
#: abbreviations with other meanings elsewhere: the meaning taken, as the report says it
ZONE_READINGS = {"BST": "British Summer Time (UTC+1), not Bangladesh", "IST": "India (UTC+5:30), not Irish or Israel",
                 "CST": "US Central (UTC-6), not China", "AST": "Atlantic (UTC-4), not Arabia",
                 "EST": "US Eastern (UTC-5), not Australian Eastern"}
# a value's zone: after its time (H:MM, maybe seconds and AM/PM), an abbreviation and/or an offset ("PDT", "GMT+1",
# "UTC+05:30", "(UTC-07:00)", "+0100"), optionally bracketed. Groups: 1 the value without it, 2 the abbreviation,
# 3 the sign, 4 hours, 5 minutes
ZONE_RE = ("^(.*?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:\\s*[AaPp]\\.?[Mm]\\.?)?)\\s*\\(?\\s*(" + "|".join(sorted(ZONE_OFFSETS, key=len, reverse=True))
            + ")?\\s*(?:([+-])([0-9]{1,2})(?::?([0-9]{2}))?)?\\s*\\)?\\s*$")


def install_date_macros(con) -> None:
    """``clv_zone_body(x)``: the value without a trailing zone (NULL when it has none); ``clv_zone_minutes(x)``:
    the zone's offset in minutes east of UTC."""
    pairs = ", ".join(f"'{k}': {v}" for k, v in ZONE_OFFSETS.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO clv_zone_body(x) AS CASE
            WHEN regexp_extract(x, '{ZONE_RE}', 2) <> '' OR regexp_extract(x, '{ZONE_RE}', 3) <> ''
            THEN regexp_extract(x, '{ZONE_RE}', 1) END""")
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO clv_zone_minutes(x) AS
            coalesce(MAP {{{pairs}}}[nullif(regexp_extract(x, '{ZONE_RE}', 2), '')], 0)
            + CASE regexp_extract(x, '{ZONE_RE}', 3) WHEN '' THEN 0 ELSE
                (CASE regexp_extract(x, '{ZONE_RE}', 3) WHEN '-' THEN -1 ELSE 1 END)
                * (60 * CAST(regexp_extract(x, '{ZONE_RE}', 4) AS INTEGER)
                   + coalesce(try_cast(nullif(regexp_extract(x, '{ZONE_RE}', 5), '') AS INTEGER), 0)) END""")


@dataclass(frozen=True)
class DateChoice:
    family: str          # "iso", a FAMILIES key or an _EPOCH key
    why: str
    ambiguous: bool = False
    patterns: tuple = ()  # the family's patterns that read the sampled dates, in the family's order

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
            # an offset or Z only: a zone name would be read by ICU's own table ("BST" as Bangladesh, "PST" as
            # Los Angeles time with daylight saving); those are read by ZONE_OFFSETS (see date_sql)
            f"CASE WHEN NOT regexp_matches({x}, ':[0-9]{{2}}[^A-Za-z]*[A-Za-z]{{2}}') "
            f"THEN try_cast(trim({x}) AS TIMESTAMPTZ)::TIMESTAMP END) END")


def date_sql(choice: DateChoice, x: str) -> tuple[str, dict]:
    """SQL reading text expression ``x`` as a UTC TIMESTAMP with the chosen family, and its parameters.

    A value the family cannot read as it stands is read again without a trailing zone ("PDT", "GMT+1",
    "(UTC+05:30)"), whose offset is then taken off (only for those values: plain files pay nothing)."""
    base, params = _family_sql(choice, x)
    if choice.family in _EPOCH or choice.family == "excel_serial":
        return base, params
    zoned, _ = _family_sql(choice, f"clv_zone_body({x})")
    return f"coalesce({base}, {zoned} - to_minutes(clv_zone_minutes({x})))", params


def _family_sql(choice: DateChoice, x: str) -> tuple[str, dict]:
    if choice.family == "excel_serial":
        return (f"CASE WHEN regexp_full_match(trim({x}), '{_SERIAL}') THEN make_timestamp(CAST(round("
                f"(try_cast(trim({x}) AS DOUBLE) - 25569) * 86400) * 1000000 AS BIGINT)) END", {})
    if choice.family in _ZONED:
        return (f"coalesce(try_strptime(trim({x}), $date_fmts)::TIMESTAMPTZ::TIMESTAMP, {_iso(x)})",
                {"date_fmts": FAMILIES[choice.family]})
    if choice.family == "text":
        x = months_sql(f"trim({x})")
    if choice.family in _EPOCH:
        return (f"CASE WHEN regexp_full_match(trim({x}), '[0-9]+(\\.[0-9]+)?') THEN "
                f"make_timestamp(CAST(try_cast(trim({x}) AS DOUBLE) * {1_000_000 // _EPOCH[choice.family]} AS BIGINT)) END",
                {})
    if choice.family not in FAMILIES:
        return (f"coalesce({_iso(x)}, try_strptime(trim({x}), $date_fmts)::TIMESTAMPTZ::TIMESTAMP)",
                {"date_fmts": ISO_PATTERNS})
    # the patterns seen in the sample first (one or two: cheap), then the rest of the family, then ISO
    return (f"coalesce(try_strptime(trim({x}), $date_seen), try_strptime(trim({x}), $date_fmts), {_iso(x)}, "
            f"try_strptime(trim({x}), $date_iso)::TIMESTAMPTZ::TIMESTAMP)",
            {"date_seen": list(choice.patterns or FAMILIES[choice.family][:1]), "date_fmts": FAMILIES[choice.family],
             "date_iso": ISO_PATTERNS})


def choose_date_format(con, view: str, raw: str, *, user_order: str = "auto", platform_order: str = "auto",
                       dayfirst_hint: bool = False, label: str = "") -> DateChoice:
    """Pick one family for the text expression ``raw`` over ``view`` (see the module docstring).

    The family is scored on the distinct values of the first 5,000 rows (strptime with every pattern is costly);
    day-first against month-first is then settled on the whole column by one cheap pass over the first two
    numbers of each date."""
    # scored on the values without a trailing zone (read by date_sql whatever the family)
    sample = (f"(SELECT DISTINCT x, {months_sql('x')} AS x_en FROM (SELECT coalesce(clv_zone_body(v), v) AS x "
              f"FROM (SELECT trim({raw}) AS v FROM {q(view)} WHERE nullif(trim({raw}), '') IS NOT NULL LIMIT 5000)))")
    fams = list(FAMILIES)
    counts = con.execute(
        f"SELECT count(*), count(coalesce({_iso('x')}, try_strptime(x, ${len(fams) + 1})::TIMESTAMPTZ)), "
        + ", ".join(f"count(try_strptime({'x_en' if f == 'text' else 'x'}, ${i + 1}))" for i, f in enumerate(fams))
        + ", count(*) FILTER (WHERE regexp_full_match(x, '[0-9]{9,10}(\\.[0-9]+)?')), "
          "count(*) FILTER (WHERE regexp_full_match(x, '[0-9]{12,13}')), "
          "count(*) FILTER (WHERE regexp_full_match(x, '[0-9]{15,16}')), "
          f"count(*) FILTER (WHERE regexp_full_match(x, '{_SERIAL}')) "
          f"FROM {sample}", [FAMILIES[f] for f in fams] + [ISO_PATTERNS]).fetchall()[0]
    total, iso = counts[0], counts[1]
    score = {"iso": iso, **dict(zip(fams, counts[2:2 + len(fams)])), **dict(zip(_EPOCH, counts[2 + len(fams):-1])),
             "excel_serial": counts[-1]}
    if total == 0:
        return DateChoice("iso", "no dates to read")
    best = max(score.values())
    choice = _choose(con, view, raw, score, best, user_order, platform_order, dayfirst_hint, label)
    zones = con.execute(
        f"SELECT abbr, count(*) FROM (SELECT regexp_extract(v, '{ZONE_RE}', 2) AS abbr FROM (SELECT trim({raw}) AS v "
        f"FROM {q(view)} WHERE nullif(trim({raw}), '') IS NOT NULL LIMIT 5000) WHERE clv_zone_body(v) IS NOT NULL) "
        f"GROUP BY ALL ORDER BY 2 DESC").fetchall()
    named = [a for a, _ in zones if a and a != "Z"]
    # ISO's own offsets and Z need no word; zone names, and offsets on other families, do
    if zones and choice.family not in _EPOCH and choice.family != "excel_serial" and (named or choice.family != "iso"):
        said = ", ".join(f"{a} = UTC{_offset_text(ZONE_OFFSETS[a])}" for a in named[:8])
        offsets = len(named) < len(zones)
        said += (", " if said and offsets else "") + ("offsets" if offsets else "")
        readings = "; ".join(f"{a} read as {ZONE_READINGS[a]}" for a in named if a in ZONE_READINGS)
        choice = replace(choice, why=f"{choice.why}; times with their zone ({said}) converted to UTC"
                                     + (f" ({readings})" if readings else ""))
    if choice.family in FAMILIES and choice.family not in _ZONED:
        col = "x_en" if choice.family == "text" else "x"
        seen = con.execute(f"SELECT {', '.join(f'count(try_strptime({col}, ${i + 1}))' for i in range(len(FAMILIES[choice.family])))} "
                           f"FROM {sample}", FAMILIES[choice.family]).fetchall()[0]
        choice = replace(choice, patterns=tuple(p for p, n in zip(FAMILIES[choice.family], seen) if n))
    return choice


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h}" + (f":{m:02d}" if m else "")


def _choose(con, view, raw, score, best, user_order, platform_order, dayfirst_hint, label) -> DateChoice:
    if user_order in ("mdy", "dmy"):
        return DateChoice(user_order, f"{'month' if user_order == 'mdy' else 'day'} first, as chosen")
    if score["iso"] == best:
        return DateChoice("iso", _ISO_WHY)
    # "%Y" also reads the 2-digit "02" of 02/11/24 as a year: day/month orders win a tie with year first
    family = next(f for f in ("mdy", "dmy", "ymd", "text", "rfc2822", "yyyymmdd", "epoch_s", "epoch_ms", "epoch_us",
                              "excel_serial") if score[f] == best)
    if family in ("mdy", "dmy"):
        return _day_or_month(con, view, raw, platform_order, dayfirst_hint, label)
    why = {"ymd": "year/month/day", "text": "dates with month names", "yyyymmdd": "YYYYMMDD dates",
           "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds", "epoch_us": "epoch microseconds",
           "rfc2822": "e-mail style dates with an offset (Tue, 16 Jan 2024 13:21:35 +0000), read as UTC",
           "excel_serial": "Excel day numbers (45307 = 16 Jan 2024; a re-saved export holds them instead of dates)"
           }[family]
    return DateChoice(family, why)


def _day_or_month(con, view: str, raw: str, platform_order: str, dayfirst_hint: bool, label: str) -> DateChoice:
    """Day first or month first, from every date of the column: a first number past 12 can only be a day."""
    day_only, month_only, day_example, month_example = con.execute(f"""
        SELECT count(*) FILTER (WHERE a > 12), count(*) FILTER (WHERE b > 12),
               min(x) FILTER (WHERE a > 12), min(x) FILTER (WHERE b > 12)
        FROM (SELECT x, try_cast(regexp_extract(x, $re, 1) AS INTEGER) AS a,
                     try_cast(regexp_extract(x, $re, 2) AS INTEGER) AS b
              FROM (SELECT trim({raw}) AS x FROM {q(view)}))""",
        {"re": r"^([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]"}).fetchall()[0]
    if day_only and month_only:
        order = "dmy" if day_only >= month_only else "mdy"
        minority = month_only if order == "dmy" else day_only
        return DateChoice(order, f"mostly {'day' if order == 'dmy' else 'month'} first ({max(day_only, month_only):,} "
                                 f"dates can only be read that way, e.g. {(day_example if order == 'dmy' else month_example)!r}); "
                                 f"{minority:,} dates{label} read only the other way are excluded")
    if day_only:
        return DateChoice("dmy", f"day first: {day_example!r} reads only day first")
    if month_only:
        return DateChoice("mdy", f"month first: {month_example!r} reads only month first")
    if platform_order in ("mdy", "dmy"):
        order, how = platform_order, f"the platform writes {'month' if platform_order == 'mdy' else 'day'} first"
    elif dayfirst_hint:
        order, how = "dmy", "the file's layout is European (semicolons or decimal commas)"
    else:
        order, how = "mdy", "month first is the default"
    return DateChoice(order, f"ambiguous: every date{label} reads both ways (no day after the 12th); "
                             f"read {'month' if order == 'mdy' else 'day'} first because {how}. "
                             "Choose the other order if that is wrong.", ambiguous=True)
