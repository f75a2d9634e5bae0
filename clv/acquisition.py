"""CAC from ad spend: what a new customer cost per channel and month, and when each acquisition cohort paid it back.

``read_ad_spend`` reads the exports as the ad platforms write them — Meta Ads Manager ("Reporting starts",
"Reporting ends", "Amount spent (USD)", with or without a "Day" breakdown), Google Ads (a report title and a date
range above the header, "Day"/"Month", "Cost", amounts written "1,234.56") — and any table with a date, a channel and
a spend. A row that covers several days (Meta without the Day breakdown) is spread evenly over them, so a month gets
the days it holds.

New customers are matched to channels by the channel of their first order (the orders' source / UTM / referrer
column, clv.ingest's "channel" field): ``channel_key`` puts both sides in one vocabulary ("fb", "Instagram",
"facebook / cpc" and a Meta export are all "meta"). ``cac_by_month`` is spend ÷ new customers per channel and month;
``payback`` follows each acquisition cohort (month × channel): its margin per customer month by month, CLV : CAC so
far, and the month it passed its CAC (or that it has not yet). Spend on a channel no customer came from, and new
customers from channels without spend, are reported in words, not dropped.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

#: the channel name of the blended row: all spend over all new customers of the month
BLENDED = "all channels (blended)"

__all__ = ["BLENDED", "channel_key", "read_ad_spend", "cac_by_month", "cohort_margins", "payback"]

_KEYS = [("meta", ("facebook", "instagram", "meta", "fb", "ig", "messenger")),
         ("google", ("google", "adwords", "youtube", "gclid")), ("tiktok", ("tiktok",)),
         ("microsoft", ("bing", "microsoft")), ("pinterest", ("pinterest",)), ("snapchat", ("snapchat", "snap")),
         ("linkedin", ("linkedin",)), ("x", ("twitter",))]


def channel_key(name) -> str:
    """One word per ad platform for an orders' channel or an ad export's ("Facebook / cpc" -> "meta"); anything
    else lower-cased and trimmed; "" for none."""
    text = str(name or "").strip().lower()
    words = set(re.split(r"[^a-z0-9]+", text))
    for key, marks in _KEYS:
        if any(m in words or (len(m) > 3 and m in text) for m in marks):
            return key
    return text


def _money(series: pd.Series) -> pd.Series:
    """Amounts as ad platforms write them: "1,234.56", "€1.234,56" is not theirs (they export with a dot)."""
    return pd.to_numeric(series.astype(str).str.replace(r"[^0-9.\-]", "", regex=True).replace("", np.nan),
                         errors="coerce")


def _norm(c: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(c).lower())


def _read_table(data: bytes) -> pd.DataFrame:
    """A CSV (or Google's UTF-16 TSV) whose header may sit below a title and a date range."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]:  # UTF-16 only when it says so
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    lines = text.splitlines()
    if not lines:
        raise DataError("The ad spend file is empty.", expected="a Meta or Google Ads export, or date, channel, spend")
    head = next((i for i, line in enumerate(lines[:20])
                 if re.search(r"(?i)\b(cost|spend|amount spent)", line) and len(re.split(r"[,\t;]", line)) >= 2), 0)
    sep = "\t" if lines[head].count("\t") > lines[head].count(",") else ","
    try:
        return pd.read_csv(io.StringIO("\n".join(lines[head:])), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"The ad spend file cannot be read as a table ({exc}).",
                        expected="a Meta or Google Ads export, or a CSV of date, channel, spend") from exc


def read_ad_spend(source, name: str = "") -> tuple[pd.DataFrame, str]:
    """(rows of date, channel, spend — one per day and channel —, what was read in words). ``source``: a path or
    bytes (CSV, TSV or Excel). Raises DataError naming the column it cannot find."""
    name = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "")
    data = Path(source).read_bytes() if not isinstance(source, (bytes, bytearray)) else bytes(source)
    if name.lower().endswith((".xlsx", ".xls")) or data[:4] == b"PK\x03\x04" or data[:4] == b"\xd0\xcf\x11\xe0":
        try:
            df = pd.read_excel(io.BytesIO(data), dtype=str, engine="calamine").fillna("")
        except Exception as exc:  # noqa: BLE001 — a damaged workbook: said, not a traceback
            raise DataError(f"The ad spend workbook cannot be read ({type(exc).__name__}: {exc}).",
                            expected="an .xlsx or .xls as Excel saves it, or a CSV") from exc
    else:
        df = _read_table(data)
    cols = {_norm(c): c for c in df.columns}
    # the spend, never a rate: Meta's "Cost per result" and Google's "Cost / conv." sit beside the total
    ranked = ([c for n, c in cols.items() if n.startswith("amountspent")]
              + [c for n, c in cols.items() if n == "cost" or re.fullmatch(r"cost[a-z]{3}", n)]
              + [c for n, c in cols.items() if n in ("spend", "adspend", "spendusd", "totalspend", "amount")])
    spend_col = ranked[0] if ranked else None
    if spend_col is None:
        raise DataError("No spend column found in the ad spend file.", column="Amount spent / Cost / spend",
                        example=df.iloc[0].to_dict() if len(df) else None,
                        expected="Meta's 'Amount spent (…)', Google Ads' 'Cost', or a column called spend")
    if "reportingstarts" in cols:  # Meta Ads Manager
        platform = "meta"
        start_col = cols.get("day", cols["reportingstarts"])
        end_col = cols.get("day", cols.get("reportingends", start_col))
        channel = pd.Series("meta", index=df.index)
    else:
        date_col = next((cols[n] for n in ("day", "date", "month", "week", "reportingdate") if n in cols), None)
        if date_col is None:
            raise DataError("No date column found in the ad spend file.", column="Day / Date",
                            example=df.iloc[0].to_dict() if len(df) else None, expected="a Day or Date column")
        start_col = end_col = date_col
        ch = next((cols[n] for n in ("channel", "platform", "source", "network") if n in cols), None)
        is_google = any(n in cols for n in ("campaigntype", "impr", "currencycode", "avgcpc", "campaign"))
        platform = "google" if ch is None and is_google else "file"
        channel = df[ch].map(channel_key) if ch else pd.Series(platform if platform == "google" else "", index=df.index)
        if ch is None and not is_google:
            raise DataError("No channel column found in the ad spend file.", column="channel",
                            example=df.iloc[0].to_dict() if len(df) else None,
                            expected="a channel column (meta, google, …), or the platform's own export")
    spend = _money(df[spend_col])
    start = pd.to_datetime(df[start_col], errors="coerce", format="mixed")
    end = pd.to_datetime(df[end_col], errors="coerce", format="mixed")
    month_only = start_col == end_col and _norm(start_col) == "month"
    if month_only:  # Google's "Month" breakdown ("December 2025"): the whole month
        end = start + pd.offsets.MonthEnd(0)
    keep = spend.notna() & start.notna() & end.notna() & ~df[spend_col].astype(str).str.strip().str.lower().str.startswith("total")
    dropped = int((~keep).sum())
    rows = []
    for s, e, c, v in zip(start[keep], end[keep], channel[keep], spend[keep]):
        days = pd.date_range(s.normalize(), max(e, s).normalize(), freq="D")
        rows.append(pd.DataFrame({"date": days.date, "channel": c, "spend": v / len(days)}))
    out = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["date", "channel", "spend"]))
    out = out.groupby(["date", "channel"], as_index=False)["spend"].sum()
    words = (f"{name or 'ad spend'}: {platform if platform != 'file' else 'a spend table'}, {len(df) - dropped:,} rows "
             f"read, {out['spend'].sum():,.2f} spent from {out['date'].min()} to {out['date'].max()}"
             if len(out) else f"{name or 'ad spend'}: no spend read")
    if dropped:
        words += f"; {dropped:,} rows without a date or an amount (totals, blank lines) left out"
    return out, words


def cac_by_month(spend: pd.DataFrame, cohorts: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Spend, new customers and CAC per channel and month; ``cohorts`` from ``cohort_margins`` (or any frame with
    cohort, channel and customers). Returns (table, notes in words)."""
    s = spend.assign(month=pd.to_datetime(spend["date"]).dt.to_period("M").dt.to_timestamp().dt.date,
                     key=spend["channel"].map(channel_key))
    s = s.groupby(["month", "key"], as_index=False)["spend"].sum()
    c = cohorts[["cohort", "channel", "customers"]].drop_duplicates(["cohort", "channel"])
    c = c.assign(key=c["channel"].map(channel_key), month=pd.to_datetime(c["cohort"]).dt.date)
    c = c.groupby(["month", "key"], as_index=False)["customers"].sum().rename(columns={"customers": "new_customers"})
    table = s.merge(c, on=["month", "key"], how="left").fillna({"new_customers": 0})
    table["new_customers"] = table["new_customers"].astype(int)
    table["cac"] = table["spend"] / table["new_customers"].where(table["new_customers"] > 0)
    notes = []
    orphan = table[table["new_customers"] == 0]
    if len(orphan):
        notes.append(f"Spend with no new customer from its channel in its month: {len(orphan)} channel-months, "
                     f"{orphan['spend'].sum():,.2f} in all (e.g. {orphan['key'].iloc[0]} in "
                     f"{pd.Timestamp(orphan['month'].iloc[0]):%b %Y}) — no CAC can be given for them; check that the "
                     "orders' channel column names that platform.")
    unpaid = c[~c["key"].isin(set(s["key"]))]
    if len(unpaid):
        names = ", ".join(f"'{k or '(no channel)'}'" for k in unpaid["key"].drop_duplicates().head(5))
        notes.append(f"{int(unpaid['new_customers'].sum()):,} new customers came from channels without spend in the "
                     f"file ({names}): organic, or spend not uploaded.")
    # blended: all spend over all new customers of the month (organic ones included) — the one figure a shop whose
    # orders export has no ad channel (Shopify's "Source" is web / pos) can still have
    blended = s.groupby("month", as_index=False)["spend"].sum().merge(
        c.groupby("month", as_index=False)["new_customers"].sum(), on="month", how="left").fillna({"new_customers": 0})
    blended = blended.assign(key=BLENDED, new_customers=blended["new_customers"].astype(int))
    blended["cac"] = blended["spend"] / blended["new_customers"].where(blended["new_customers"] > 0)
    table = pd.concat([table, blended], ignore_index=True)
    table["order"] = table["key"] == BLENDED
    table = table.sort_values(["month", "order", "key"]).drop(columns="order")
    return table.rename(columns={"key": "channel"}).reset_index(drop=True), notes


def cohort_margins(shop, margin: float, as_of=None) -> pd.DataFrame:
    """Per acquisition cohort × channel and months since the first purchase: customers and cumulative margin per
    customer (months without money carried forward, up to the as-of month) — clv/sql/cohort_channel_ltv.sql."""
    from .store import sql
    end = pd.Timestamp(as_of).date() if as_of else shop.last_date()
    raw = shop.con.execute(sql("cohort_channel_ltv"), {"period_end": end, "margin": float(margin)}).df()
    frames = []
    for (cohort, channel), g in raw.groupby(["cohort", "channel"], sort=True):
        months = (end.year - cohort.year) * 12 + end.month - cohort.month
        grid = pd.DataFrame({"months_since_first": range(months + 1)})
        g = grid.merge(g[["months_since_first", "margin"]], on="months_since_first", how="left").fillna(0.0)
        customers = int(raw.loc[(raw["cohort"] == cohort) & (raw["channel"] == channel), "customers"].iloc[0])
        frames.append(g.assign(cohort=pd.Timestamp(cohort).date(), channel=channel, customers=customers,
                               margin_per_customer=g["margin"].cumsum() / customers))
    cols = ["cohort", "channel", "customers", "months_since_first", "margin_per_customer"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def payback(cac: pd.DataFrame, margins: pd.DataFrame, projected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per acquisition cohort × channel with a CAC: margin per customer so far, CLV : CAC so far (and with the
    projection, when ``projected`` — cohort, channel, projected value per customer — is given), and the payback
    month (months after the first purchase when the margin per customer first reached the CAC; NaN: not yet)."""
    m = margins.assign(key=margins["channel"].map(channel_key))
    m = m.groupby(["cohort", "key", "months_since_first"], as_index=False).apply(
        lambda g: pd.Series({"customers": g["customers"].sum(),
                             "margin": (g["margin_per_customer"] * g["customers"]).sum()}), include_groups=False)
    m["margin_per_customer"] = m["margin"] / m["customers"]
    rows = []
    every = m.groupby(["cohort", "months_since_first"], as_index=False)[["customers", "margin"]].sum()
    every["margin_per_customer"] = every["margin"] / every["customers"]
    for r in cac.dropna(subset=["cac"]).itertuples(index=False):
        g = every[every["cohort"] == r.month] if r.channel == BLENDED else m[(m["cohort"] == r.month) &
                                                                              (m["key"] == r.channel)]
        g = g.sort_values("months_since_first")
        if g.empty:
            continue
        so_far = float(g["margin_per_customer"].iloc[-1])
        reached = g.loc[g["margin_per_customer"] >= r.cac, "months_since_first"]
        row = {"cohort": r.month, "channel": r.channel, "new_customers": r.new_customers, "cac": r.cac,
               "months_observed": int(g["months_since_first"].iloc[-1]) + 1, "margin_per_customer": so_far,
               "clv_cac_so_far": so_far / r.cac,
               "payback_month": float(reached.iloc[0]) if len(reached) else np.nan}
        if projected is not None:
            p = projected[(projected["cohort"] == r.month) & ((projected["channel"].map(channel_key) == r.channel)
                                                             | (r.channel == BLENDED))]
            extra = float(np.average(p["projected"], weights=p["customers"])) if len(p) else np.nan
            row["clv_cac_with_projection"] = (so_far + extra) / r.cac
        rows.append(row)
    return pd.DataFrame(rows)
