"""Did it work? Campaigns sent to target lists, measured against their randomised control groups.

A campaign file is a target list frozen at the moment it was handed out: campaign id, tactic, date, the seed of the
control draw, each customer's group and their scores then. With orders from after that date, each campaign is
measured per group (customers, buyers, orders, revenue and margin per customer in the window) and the difference
treatment − control is the campaign's effect, net of the customers who would have bought anyway:

- conversion uplift with Newcombe's hybrid score interval (method 10 of Newcombe 1998, from two Wilson intervals),
  which keeps its coverage with small groups and rates near 0;
- margin per customer with a two-part interval (``money_interval``): the buying rate of each group × the spread
  of what buyers spend, its shape taken from the buyers of both groups together, with a skewness correction — Welch's
  interval, the textbook choice, covered only 84–93 % with small control groups and skewed spend, always erring
  toward a gain (bench/money_coverage.py prints both); below ``MIN_EXPECTED_BUYERS`` expected buyers in the control
  group no money figure is given, only the control size that would do;
- incremental buyers and margin = uplift × treated customers; net return = incremental margin − contact costs.

An interval that spans 0 is reported as "can't tell yet", never as an effect. ``power`` says before sending what
uplift a list of this size can detect at all. ``feedback`` turns measured uplifts into the playbook's assumption
(several campaigns of one tactic pooled by inverse-variance weights).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import formatting
from .errors import DataError

__all__ = ["CAMPAIGN_COLUMNS", "campaign_file", "campaign_id_of", "customers_for", "blend", "read_campaigns", "wilson", "newcombe", "welch", "money_interval",
           "MIN_EXPECTED_BUYERS", "Measurement",
           "measure", "measure_on", "typical_gap_days", "power", "control_share_for", "feedback"]

#: columns of a campaign file, in order; scores are those at the time the list was made
CAMPAIGN_COLUMNS = ["campaign_id", "tactic", "created", "seed", "control_share", "customer_id", "group",
                    "churn_risk", "clv", "expected_gain"]
Z = stats.norm.ppf(0.975)


def campaign_id_of(tactic: str, created, seed: int) -> str:
    """A campaign's id: its tactic, the day it is sent and the control draw's seed."""
    return f"{tactic}-{pd.Timestamp(created).date():%Y%m%d}-s{seed}"


def campaign_file(target: pd.DataFrame, tactic: str, created, seed: int, control_share: float,
                  campaign_id: str | None = None) -> pd.DataFrame:
    """The campaign record of a target list (clv.tactics.target_list), to keep and measure later."""
    created = pd.Timestamp(created).date()
    cid = campaign_id or campaign_id_of(tactic, created, seed)
    out = pd.DataFrame({"campaign_id": cid, "tactic": tactic, "created": created.isoformat(), "seed": int(seed),
                        "control_share": float(control_share), "customer_id": target["customer_id"].astype(str),
                        "group": target["group"]})
    for col in ("churn_risk", "clv", "expected_gain"):
        out[col] = target[col].to_numpy() if col in target else np.nan
    return out[CAMPAIGN_COLUMNS]


def read_campaigns(source) -> tuple[pd.DataFrame, list[str]]:
    """Read one or several campaign files (paths, bytes or file objects; CSV as written by ``campaign_file``).

    Returns (rows, notes): rows that cannot be measured are taken out and each reason is in ``notes`` — a
    customer listed in both groups, a group other than treatment/control, a control customer the file marks as
    contacted (a ``treated`` column), the same customer twice in one campaign (kept once). Raises DataError for a
    file that is not a campaign file.
    """
    sources = source if isinstance(source, (list, tuple)) else [source]
    frames = []
    for s in sources:
        data = io.BytesIO(s) if isinstance(s, (bytes, bytearray)) else s
        try:
            df = pd.read_csv(data, dtype={"customer_id": str, "campaign_id": str, "tactic": str, "group": str})
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"This is not a readable campaign file ({exc}).",
                            expected="the campaign CSV the playbook or `tactics --lists` wrote") from exc
        missing = [c for c in ("campaign_id", "tactic", "created", "customer_id", "group") if c not in df.columns]
        if missing:
            raise DataError(f"This is not a campaign file: column '{missing[0]}' is missing.", column=missing[0],
                            example=df.iloc[0].to_dict() if len(df) else None,
                            expected=", ".join(CAMPAIGN_COLUMNS))
        frames.append(df)
    rows = pd.concat(frames, ignore_index=True)
    notes = []
    # ids as the loader stored them (campaign files are written from them); a leading apostrophe the CSV export
    # added against spreadsheet formulas goes
    ids = rows["customer_id"].astype(str).str.strip()
    rows["customer_id"] = ids.where(~(ids.str.startswith("'") & ids.str[1:].str.match(r"^[=+\-@\t\r]")), ids.str[1:])
    rows["group"] = rows["group"].astype(str).str.strip().str.lower()
    created = pd.to_datetime(rows["created"], errors="coerce")
    if created.isna().any():
        bad = rows[created.isna()].iloc[0]
        raise DataError("A campaign date cannot be read.", column="created", example=bad.to_dict(),
                        expected="a date such as 2026-05-01")
    rows["created"] = created.dt.date
    other = ~rows["group"].isin(["treatment", "control"])
    if other.any():
        notes.append(f"{other.sum():,} rows with a group other than treatment or control (e.g. "
                     f"'{rows.loc[other, 'group'].iloc[0]}') are left out.")
        rows = rows[~other]
    both = rows.groupby(["campaign_id", "customer_id"])["group"].transform("nunique") > 1
    if both.any():
        n = rows.loc[both, "customer_id"].nunique()
        notes.append(f"{n:,} customers are in both the treatment and the control group of the same campaign (e.g. "
                     f"{rows.loc[both, 'customer_id'].iloc[0]!r}); they are left out of it.")
        rows = rows[~both]
    if "treated" in rows:
        leaked = (rows["group"] == "control") & rows["treated"].astype(str).str.lower().isin(["1", "true", "yes"])
        if leaked.any():
            notes.append(f"{leaked.sum():,} control customers were contacted anyway (column 'treated'); they are "
                         "left out, since they no longer show what happens without the campaign.")
            rows = rows[~leaked]
    dup = rows.duplicated(["campaign_id", "customer_id"])
    if dup.any():
        notes.append(f"{dup.sum():,} repeated rows (the same customer twice in one campaign) are counted once.")
        rows = rows[~dup]
    return rows.reset_index(drop=True), notes


# --- intervals -----------------------------------------------------------------------------------------------

def wilson(k, n, z: float = Z):
    """Wilson score interval for a proportion k / n (vectorised)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe(k1, n1, k0, n0, z: float = Z):
    """Difference p1 − p0 and its Newcombe hybrid score interval (from the two Wilson intervals)."""
    p1, p0 = np.asarray(k1, float) / n1, np.asarray(k0, float) / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    d = p1 - p0
    return d, d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def welch(mean1, var1, n1, mean0, var0, n0, level: float = 0.95):
    """Difference of means and its Welch t interval (unequal variances; vectorised). No longer used for money: kept
    as the baseline the coverage tests and bench/money_coverage.py show ``money_interval`` is better than."""
    se2 = np.asarray(var1) / n1 + np.asarray(var0) / n0
    dfree = se2 ** 2 / ((np.asarray(var1) / n1) ** 2 / np.maximum(n1 - 1, 1)
                        + (np.asarray(var0) / n0) ** 2 / np.maximum(n0 - 1, 1))
    t = stats.t.ppf(0.5 + level / 2, np.where(np.isfinite(dfree) & (dfree > 0), dfree, 1e9))
    d = np.asarray(mean1) - np.asarray(mean0)
    half = t * np.sqrt(se2)
    return d, d - half, d + half


#: the control group must be expected to hold at least this many buyers (control size × the campaign's buying rate)
#: before a money figure is shown: below it, coverage of any interval for a mean of skewed spend breaks down (at 50
#: controls and a 3 % buying rate, 1.5 buyers, a lognormal spend gave 83 %; bench/money_coverage.py)
MIN_EXPECTED_BUYERS = 5


#: each group's buyer mean, in the variance, is pulled toward both groups' buyer mean as if this many buyers of the
#: pooled spend were added: a control group of 5 buyers that happened to miss the big spenders does not look cheap and
#: certain, while 300 treated buyers keep their own mean (a discount that lowers spend is seen). Tuned on
#: bench/money_coverage.py's scenarios: without it, 87-93 % where control groups are small
SHRINK_BUYERS = 20


def money_interval(n1, k1, s1, q1, c1, n0, k0, s0, q0, c0, level: float = 0.95):
    """Difference in mean margin per customer, treatment − control, and its interval (vectorised over campaigns).

    Per group: n customers, k of them with money in the window (buyers, and customers who only returned something)
    and the sums of their margin, margin² and margin³ (s, q, c). Margin per
    customer is zero-inflated (most do not buy) and skewed (a few spend a lot), where Welch's interval fails: a small
    control group that happens to miss the big spenders looks both cheap and certain. So the two parts are estimated
    apart: each group's buying rate (with one buyer and one non-buyer added, which keeps a group of 5 with nobody
    buying from looking certain) and buyer mean (shrunk toward both groups' by ``SHRINK_BUYERS``), and the *shape* of
    what a buyer spends — its coefficient of variation and standardised skewness, each buyer measured against their
    own group's mean — from the buyers of both groups together (a campaign may scale spend, as a discount does, but
    is not assumed to reshape it; where returns make a group's mean margin 0 or less, the moments about the mean are
    pooled instead). The variance and third cumulant of each group's mean follow; the interval is
    Student's t on the buyers' degrees of freedom, moved by the Cornish–Fisher term for the difference's skewness.
    The point estimate is the plain difference of means.

    Returns (difference, low, high, buyers expected in the smaller group at the campaign's buying rate); the
    interval is NaN where fewer than two buyers exist.
    """
    n1, k1, n0, k0 = (np.asarray(v, float) for v in (n1, k1, n0, k0))
    s1, q1, c1, s0, q0, c0 = (np.asarray(v, float) for v in (s1, q1, c1, s0, q0, c0))
    with np.errstate(invalid="ignore", divide="ignore"):
        k = k1 + k0
        pooled = (s1 + s0) / k

        def spread(kk, s, q, c):  # buyers' summed squared and cubed deviations from their group's mean
            m = np.where(kk > 0, s / np.maximum(kk, 1), 0.0)
            return m, np.where(kk > 0, q - kk * m * m, 0.0), np.where(kk > 0, c - 3 * m * q + 2 * kk * m ** 3, 0.0)
        b1, d1, t1 = spread(k1, s1, q1, c1)
        b0, d0, t0 = spread(k0, s0, q0, c0)
        dof = np.maximum(k - (k1 > 0) - (k0 > 0), 1)
        # the shape relative to each group's mean (a discount scales spend) while both means are positive; where
        # returns make a group's mean 0 or less, the same moments about the mean instead (no division by it)
        relative = (pooled > 0) & ((k1 == 0) | (b1 > 0)) & ((k0 == 0) | (b0 > 0))
        safe1, safe0 = np.where(b1 > 0, b1, 1.0), np.where(b0 > 0, b0, 1.0)
        cv2 = np.maximum((d1 / safe1 ** 2 + d0 / safe0 ** 2) / dof, 0.0)
        g3 = (t1 / safe1 ** 3 + t0 / safe0 ** 3) / k
        c2 = np.maximum((d1 + d0) / dof, 0.0)
        c3 = (t1 + t0) / k

        def moments(kk, n, s):  # variance and third cumulant of one group's mean margin per customer
            p = (kk + 1) / (n + 2)
            mean = (s + SHRINK_BUYERS * pooled) / (kk + SHRINK_BUYERS)
            e2 = np.where(relative, mean ** 2 * (1 + cv2), mean ** 2 + c2)
            e3 = np.where(relative, mean ** 3 * (1 + 3 * cv2 + g3), mean ** 3 + 3 * mean * c2 + c3)
            ey, ey2, ey3 = p * mean, p * e2, p * e3
            return (ey2 - ey ** 2) / n, (ey3 - 3 * ey * ey2 + 2 * ey ** 3) / n ** 2
        v1, u1 = moments(k1, n1, s1)
        v0, u0 = moments(k0, n0, s0)
        se = np.sqrt(v1 + v0)
        skew = np.where(se > 0, (u1 - u0) / se ** 3, 0.0)
        q = stats.t.ppf(0.5 + level / 2, np.maximum(k - 1, 1))
        shift = skew * (q ** 2 - 1) / 6
        d = s1 / n1 - s0 / n0
        ok = (k >= 2) & np.isfinite(se)
        low, high = np.where(ok, d - se * (q + shift), np.nan), np.where(ok, d + se * (q - shift), np.nan)
        expected = np.minimum(n1, n0) * k / (n1 + n0)
    return d, low, high, expected


# --- measurement ---------------------------------------------------------------------------------------------

@dataclass
class Measurement:
    results: pd.DataFrame          # one row per campaign: groups, rates, uplifts with intervals, money, verdict
    notes: list = field(default_factory=list)   # what was left out or is doubtful, in words


def measure(campaigns: pd.DataFrame, outcomes: pd.DataFrame, window_end: dt.date, margin: float,
            cost_per_customer: dict | float = 0.0, typical_gap_days: float | None = None,
            notes: list | None = None, currency: str | None = None) -> Measurement:
    """Measure each campaign in ``campaigns`` (rows from ``read_campaigns``).

    ``outcomes``: per (campaign_id, customer_id) the purchases and net revenue after the campaign date up to
    ``window_end`` (``Shop.campaign_outcomes`` computes it); customers absent from it bought nothing.
    ``cost_per_customer``: per tactic (or one figure) what one contact of the treatment group cost.
    ``typical_gap_days``: the shop's median days between orders — a shorter window is flagged as early.
    ``currency``: the shop's, for the money in the verdicts ("$1,234").
    """
    notes = list(notes or [])
    rows = campaigns.merge(outcomes, on=["campaign_id", "customer_id"], how="left")
    rows[["purchases", "revenue"]] = rows[["purchases", "revenue"]].astype(float).fillna(0.0)
    rows["bought"] = (rows["purchases"] > 0).astype(float)
    # the orders' own margin where the outcomes carry it (product costs: clv.margins), else margin × revenue
    rows["margin"] = rows["margin"].astype(float).fillna(0.0) if "margin" in outcomes else margin * rows["revenue"]
    rows["margin2"], rows["margin3"] = rows["margin"] ** 2, rows["margin"] ** 3
    rows["with_money"] = (rows["margin"] != 0).astype(float)  # buyers, and customers who only returned something
    if "churn_risk" not in rows:
        rows["churn_risk"] = np.nan
    # one pass over all campaigns: per campaign and group, the counts, sums and variances the intervals need
    g = rows.groupby(["campaign_id", "group"], sort=True).agg(
        n=("customer_id", "size"), buyers=("bought", "sum"), orders=("purchases", "sum"),
        margin_mean=("margin", "mean"), margin_sum=("margin", "sum"), margin2=("margin2", "sum"),
        margin3=("margin3", "sum"), with_money=("with_money", "sum"), risk=("churn_risk", "mean"))
    g = g.unstack("group")
    first = rows.groupby("campaign_id", sort=True)[["tactic", "created"]].first()
    counts = ("n", "buyers", "orders", "margin_sum", "margin2", "margin3", "with_money")
    t = {c: g[c].get("treatment", pd.Series(np.nan, index=g.index)).fillna(0 if c in counts else np.nan)
         for c in g.columns.levels[0]}
    k = {c: g[c].get("control", pd.Series(np.nan, index=g.index)).fillna(0 if c in counts else np.nan)
         for c in g.columns.levels[0]}
    nt, nc = t["n"].to_numpy(float), k["n"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d, lo, hi = newcombe(t["buyers"].to_numpy(), nt, k["buyers"].to_numpy(), nc)
        m, m_lo, m_hi, expected = money_interval(
            nt, t["with_money"].to_numpy(), t["margin_sum"].to_numpy(), t["margin2"].to_numpy(),
            t["margin3"].to_numpy(), nc, k["with_money"].to_numpy(), k["margin_sum"].to_numpy(),
            k["margin2"].to_numpy(), k["margin3"].to_numpy())
        rate = (t["buyers"].to_numpy() + k["buyers"].to_numpy()) / (nt + nc)
        control_needed = np.where(rate > 0, np.ceil(MIN_EXPECTED_BUYERS / rate), np.nan)
    tactics = first["tactic"].to_numpy()
    cost = np.array([cost_per_customer.get(x, 0.0) if isinstance(cost_per_customer, dict) else float(cost_per_customer)
                     for x in tactics]) * nt
    end = pd.Timestamp(window_end)
    days = np.array([(end - pd.Timestamp(c)).days for c in first["created"]])
    res = pd.DataFrame({
        "campaign_id": first.index, "tactic": tactics, "created": first["created"].to_numpy(),
        "window_end": end.date(), "window_days": days,
        "treatment_customers": nt.astype(int), "control_customers": nc.astype(int),
        "treatment_buyers": t["buyers"].to_numpy().astype(int), "control_buyers": k["buyers"].to_numpy().astype(int),
        "treatment_rate": t["buyers"].to_numpy() / nt, "control_rate": k["buyers"].to_numpy() / nc,
        "treatment_orders": t["orders"].to_numpy(), "control_orders": k["orders"].to_numpy(),
        "treatment_margin_per_customer": t["margin_mean"].to_numpy(),
        "control_margin_per_customer": k["margin_mean"].to_numpy(),
        "uplift": d, "uplift_low": lo, "uplift_high": hi,
        "margin_uplift": m, "margin_uplift_low": m_lo, "margin_uplift_high": m_hi,
        "extra_buyers": d * nt, "extra_buyers_low": lo * nt, "extra_buyers_high": hi * nt,
        "incremental_margin": m * nt, "incremental_margin_low": m_lo * nt, "incremental_margin_high": m_hi * nt,
        "cost": cost, "net_return": m * nt - cost, "net_return_low": m_lo * nt - cost,
        "net_return_high": m_hi * nt - cost, "mean_churn_risk": t["risk"].to_numpy()})
    measurable = (days > 0) & (nt >= 2) & (nc >= 2)
    res["money_measurable"] = measurable & (expected >= MIN_EXPECTED_BUYERS) & np.isfinite(m_lo)
    res["expected_control_buyers"] = expected
    res["control_needed_for_money"] = control_needed
    res.loc[~measurable, [c for c in res.columns if c.startswith(("uplift", "margin_uplift", "extra_", "incremental_",
                                                                    "net_return"))]] = np.nan
    res.loc[~res["money_measurable"], [c for c in res.columns if c.startswith(("margin_uplift", "incremental_",
                                                                              "net_return"))]] = np.nan
    verdicts = []
    for r, ok, day in zip(res.to_dict("records"), measurable, days):
        if day <= 0:
            v = (f"Too early: the orders end on {end:%d %b %Y}, before the campaign started "
                 f"({pd.Timestamp(r['created']):%d %b %Y}). Upload a newer orders export.")
        elif not ok:
            v = ("Can't measure: the campaign needs at least two customers in each group "
                 f"(treatment {r['treatment_customers']}, control {r['control_customers']}).")
        else:
            v = _verdict(r, currency)
            if typical_gap_days and day < typical_gap_days:
                v += (f" Note: the window ({day} days) is shorter than the time your customers usually take "
                      f"between orders ({typical_gap_days:.0f} days), so part of the effect may not show yet.")
        verdicts.append(v)
    res["verdict"] = verdicts
    return Measurement(res, notes)


def typical_gap_days(customers: pd.DataFrame) -> float | None:
    """Median days between purchase days of the customers who bought more than once (None if nobody did)."""
    repeat = customers[customers["frequency"] > 0]
    return float((repeat["recency_days"] / repeat["frequency"]).median()) if len(repeat) else None


def measure_on(shop, campaigns: pd.DataFrame, notes: list, margin: float, cost_per_customer: dict | float = 0.0,
               window_days: int | None = None) -> Measurement:
    """``measure`` with the outcomes from a loaded shop (a clv.store.Shop): the window runs from each campaign's
    date to ``window_days`` later, or to the last date in the orders. Customers of the file that the orders do not
    know at all are reported (a campaign from another shop, or ids changed since)."""
    notes = list(notes)
    currency = shop.orders_report.currency if shop.orders_report else None
    last = shop.last_date()
    ends = []
    for cid, created in campaigns.groupby("campaign_id")["created"].first().items():
        end = last if window_days is None else min(last, created + dt.timedelta(days=window_days))
        if window_days is not None and created + dt.timedelta(days=window_days) > last:
            notes.append(f"{cid}: the orders end on {last:%d %b %Y}, before the {window_days}-day window does; "
                         f"measured up to {last:%d %b %Y}.")
        ends.append((cid, end))
    unknown = campaigns["customer_id"].nunique() - shop.known_customers(campaigns["customer_id"].unique())
    if unknown:
        share = unknown / campaigns["customer_id"].nunique()
        notes.append(f"{unknown:,} customers of the campaign file ({share:.0%}) have no order in this data at all; "
                     "they count as not having bought." + (" Is this the same shop's export?" if share > 0.5 else ""))
    gap = typical_gap_days(shop.customers())
    parts = []
    for cid, end in ends:
        rows = campaigns[campaigns["campaign_id"] == cid]
        parts.append(measure(rows, shop.campaign_outcomes(rows, end, margin), end, margin, cost_per_customer, gap,
                             currency=currency).results)
    return Measurement(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(), notes)


def _money_words(r: dict, currency: str | None = None) -> str:
    if r["money_measurable"]:
        def m(x):
            return formatting.money(x, currency)
        return (f"worth {m(r['net_return'])} ({m(r['net_return_low'])} to {m(r['net_return_high'])}) "
                f"in margin after {m(r['cost'])} of contact costs")
    if not r["control_needed_for_money"] == r["control_needed_for_money"]:  # NaN: nobody bought
        return "nobody in either group bought in the window, so there is no money to measure yet"
    if r["expected_control_buyers"] >= MIN_EXPECTED_BUYERS:  # enough customers, but no spread to measure yet
        return ("what it made in money cannot be put in an interval yet: too few customers spent or returned "
                "anything in the window")
    return (f"what it made in money cannot be measured yet: the smaller group is expected to hold only "
            f"{r['expected_control_buyers']:.1f} buyers at this buying rate, and a money figure needs at least "
            f"{MIN_EXPECTED_BUYERS} — a control group of about {r['control_needed_for_money']:,.0f} customers would do")


def _verdict(r: dict, currency: str | None = None) -> str:
    extra, lo, hi = r["extra_buyers"], r["extra_buyers_low"], r["extra_buyers_high"]
    money = _money_words(r, currency)
    if lo > 0:
        return (f"It worked: the campaign brought about {extra:,.0f} extra buyers ({lo:,.0f}–{hi:,.0f}) among "
                f"{r['treatment_customers']:,} customers contacted; {money}.")
    if hi < 0:
        return (f"It backfired: about {-extra:,.0f} fewer buyers ({-hi:,.0f}–{-lo:,.0f}) than without it; {money}.")
    return (f"Can't tell yet: the difference ({extra:+,.0f} buyers, {lo:+,.0f} to {hi:+,.0f}) could be chance — too "
            f"early or too small a control group to tell; {money}.")


# --- before sending -------------------------------------------------------------------------------------------

def power(n: int, control_share: float, base_rate: float, level: float = 0.95, power_: float = 0.8) -> float:
    """The smallest conversion uplift a list of ``n`` customers with this control share can detect (two-sided
    test at ``level``, with probability ``power_``), when the control group buys at ``base_rate``.

    Solves d = z_a √(p̄(1 − p̄)(1/n_t + 1/n_c)) + z_b √(p0(1 − p0)/n_c + p1(1 − p1)/n_t) with p1 = p0 + d (the
    treated group's own variance, not the control's) by fixed-point iteration."""
    n_c = int(round(n * control_share))
    n_t = n - n_c
    if n_c < 1 or n_t < 1:
        return float("inf")
    z_a, z_b = stats.norm.ppf(0.5 + level / 2), stats.norm.ppf(power_)
    p0 = min(max(base_rate, 1e-6), 1 - 1e-6)
    d = (z_a + z_b) * np.sqrt(p0 * (1 - p0) * (1 / n_t + 1 / n_c))
    for _ in range(100):
        p1 = min(p0 + d, 1 - 1e-9)
        pbar = (n_t * p1 + n_c * p0) / n
        new = z_a * np.sqrt(pbar * (1 - pbar) * (1 / n_t + 1 / n_c)) + z_b * np.sqrt(p0 * (1 - p0) / n_c
                                                                                  + p1 * (1 - p1) / n_t)
        if abs(new - d) < 1e-12:
            break
        d = new
    return float(d) if p0 + d < 1 else float("inf")


def control_share_for(n: int, uplift: float, base_rate: float, level: float = 0.95, power_: float = 0.8) -> float | None:
    """The smallest control share (up to one half) with which a list of ``n`` detects ``uplift`` (None: not possible
    at this size)."""
    if power(n, 0.5, base_rate, level, power_) > uplift:
        return None
    lo, hi = 0.0, 0.5
    for _ in range(60):  # the detectable uplift falls as the control share grows towards one half
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if power(n, mid, base_rate, level, power_) > uplift else (lo, mid)
    return hi


def customers_for(uplift: float, base_rate: float, control_share: float = 0.10, level: float = 0.95,
                  power_: float = 0.8, most: int = 10_000_000) -> int | None:
    """The smallest list (treatment + control, with ``control_share`` held back) that detects ``uplift`` on a base
    buying rate of ``base_rate`` (None: not even with ``most`` customers, or no control group)."""
    if not 0 < control_share < 1 or power(most, control_share, base_rate, level, power_) > uplift:
        return None
    lo, hi = 2, most
    while hi - lo > max(1, lo // 100):  # to 1 %: the list size is a round figure for a founder
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if power(mid, control_share, base_rate, level, power_) > uplift else (lo, mid)
    return hi


# --- back into the playbook -------------------------------------------------------------------------------------

#: how far off a playbook assumption may be, as a share of itself (one standard deviation; ±50 % at 95 %): the
#: prior's spread when a measured uplift is blended with it. The defaults are published industry figures, so a single
#: campaign whose interval spans ±10 points should move them a little, and one measured to ±0.2 points replace them
ASSUMPTION_RELATIVE_SD = 0.25


def blend(assumed: float, measured: float, low: float, high: float,
          relative_sd: float = ASSUMPTION_RELATIVE_SD) -> tuple[float, float, float]:
    """The measured uplift combined with the assumption in proportion to their precisions: (blend, low, high).

    The assumption is a normal prior centred on itself with a standard deviation of ``relative_sd`` × itself; the
    measurement a normal likelihood whose standard error comes from its 95 % interval. A wide "can't tell yet" moves
    the assumption a little, a tight result all but replaces it."""
    if not all(np.isfinite([assumed, measured, low, high])):
        return float(assumed), float("nan"), float("nan")  # nothing measured to blend with
    se_m = max((high - low) / (2 * Z), 1e-12)
    sd_a = max(relative_sd * abs(assumed), 0.01)  # an assumption of 0 is not a certainty either
    w_a, w_m = 1 / sd_a ** 2, 1 / se_m ** 2
    mean = (w_a * assumed + w_m * measured) / (w_a + w_m)
    se = (w_a + w_m) ** -0.5
    return float(mean), float(mean - Z * se), float(mean + Z * se)


def feedback(results: pd.DataFrame, kinds: dict) -> pd.DataFrame:
    """Per tactic, the uplift the playbook should assume, from the measured campaigns (inverse-variance pooled).

    The playbook's uplift means, for *save* tactics, the share of at-risk customers a contact keeps (gain = uplift ×
    churn risk × CLTV), so a conversion uplift is divided by the targets' mean churn risk; for the other kinds it is
    the chance of one extra order, the conversion uplift itself. Returns tactic, uplift, low, high, campaigns,
    customers, source (words).
    """
    ok = results.dropna(subset=["uplift"]) if "uplift" in results else results.iloc[:0]
    ok = ok[ok["tactic"] != "plan"]  # the whole plan against its shared hold-out is not one tactic's uplift
    rows = []
    for tactic, g in ok.groupby("tactic", sort=True):
        scale = np.ones(len(g))
        if kinds.get(tactic) == "save":
            scale = 1 / g["mean_churn_risk"].clip(lower=0.05).fillna(1.0).to_numpy()
        est = g["uplift"].to_numpy() * scale
        se = (g["uplift_high"] - g["uplift_low"]).to_numpy() * scale / (2 * Z)
        w = 1 / np.maximum(se, 1e-9) ** 2
        pooled = float(np.sum(w * est) / np.sum(w))
        pooled_se = float(np.sqrt(1 / np.sum(w)))
        n = int((g["treatment_customers"] + g["control_customers"]).sum())
        names = ", ".join(g["campaign_id"])
        rows.append({"tactic": tactic, "uplift": pooled, "low": pooled - Z * pooled_se, "high": pooled + Z * pooled_se,
                     "campaigns": len(g), "customers": n,
                     "source": f"measured on {names}, n = {n:,}" + (" (pooled)" if len(g) > 1 else "")})
    return pd.DataFrame(rows, columns=["tactic", "uplift", "low", "high", "campaigns", "customers", "source"])
