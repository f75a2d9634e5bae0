"""The weekly digest: one e-mail-ready HTML page of what changed in the last period, for a cron job or the Overview's
button — new and returning customers, revenue against the period before, the customers worth saving and their value
at stake, the best tactic, and the campaigns measured.

Every figure comes from the functions the pages use (clv.periods for the period, the pipeline's scores, clv.churn.
worth_saving for the Churn page's headline, clv.tactics.rank_tactics for the Playbook's first tactic), so the digest
says what the dashboard says. A projection the history cannot support is not in it: the digest says why instead
(clv.readiness). Inline styles only and no script: mail programs drop both <style> blocks and JavaScript.
"""
from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field, replace

import pandas as pd

from . import defaults, formatting
from .periods import compare, comparison_bounds, kpis

__all__ = ["Digest", "build_digest", "render"]

BLUE, INK, MUTED, PANEL = "#2f6fdf", "#1c2333", "#5b6478", "#f3f5f9"


@dataclass
class Digest:
    start: dt.date
    end: dt.date
    figures: dict                      # name -> (now, then, relative change or None)
    comparison_note: str | None        # why there is no comparison, when there is none
    ready: bool                        # projections supported (else ``why_not``)
    why_not: str | None
    worth_saving: int | None = None
    worth_value: float | None = None
    newly_worth_saving: int | None = None  # of them, not worth saving in the previous scores (--previous)
    best_tactic: dict | None = None
    campaigns: list = field(default_factory=list)   # (campaign id, verdict)
    currency: str | None = None
    source: str = ""


def build_digest(shop, days: int = 7, as_of=None, margin: float = defaults.MARGIN,
                 horizon_months: int = defaults.HORIZON_MONTHS, discount_rate: float = defaults.DISCOUNT_RATE,
                 model: str = "auto", previous: pd.DataFrame | None = None, campaigns=None,
                 source: str = "", settings=None, catalogue: pd.DataFrame | None = None, pipeline=None) -> Digest:
    """The digest of the ``days`` up to ``as_of`` (default: the last day in the data) against the ``days`` before.

    ``previous``: a scored table from an earlier run (``python -m clv score``), to say who newly became worth
    saving. ``campaigns``: (rows, notes) from clv.campaigns.read_campaigns, measured up to ``as_of``.
    ``settings`` (a clv.pipeline.Settings; it overrides margin, horizon, discount rate and model) and ``catalogue``
    (the tactics with their uplifts): the app passes its own, so the digest says what its pages say — and its
    ``pipeline`` (clv.pipeline.Pipeline), whose fitted models the digest then reuses instead of fitting them again.
    By default the churn risk is the app's: the interaction-aware model when it beats the purchase history, which it
    says."""
    from .churn import worth_saving
    from .pipeline import Pipeline, Settings
    from .tactics import CATALOGUE, rank_tactics, tactic_features
    end = pd.Timestamp(as_of).date() if as_of else shop.last_date()
    start = end - dt.timedelta(days=days - 1)
    first = shop.purchase_span()[0]
    now = kpis(shop, start, end)
    then = kpis(shop, *comparison_bounds(start, end, "previous"))
    change = compare(now, then, first)
    figures = {name: (getattr(now, attr), getattr(then, attr), change[attr]) for name, attr in (
        ("Customers who bought", "customers"), ("New customers", "new_customers"),
        ("Returning customers", "returning_customers"), ("Purchases", "purchases"), ("Revenue", "revenue"),
        ("Average order value", "average_order_value"))}
    if settings is None:
        settings = Settings(horizon_months=horizon_months, discount_rate=discount_rate, margin=margin,
                            purchase_model=model, churn_model="model")  # as the app (ui.common.sidebar)
    settings = replace(settings, as_of=str(end) if as_of else None)
    margin = settings.margin
    catalogue = CATALOGUE if catalogue is None else catalogue
    run = Pipeline(shop, settings) if pipeline is None else pipeline.with_settings(**vars(settings))
    ready = run.get("readiness")
    out = Digest(start, end, figures, change["why"], ready.ok, None if ready.ok else ready.in_words(),
                 currency=shop.orders_report.currency, source=source)
    if ready.ok:
        scored = run.get("scored")
        save = catalogue.set_index("tactic").loc["winback"]
        worth = worth_saving(scored, save["uplift"], save["cost_per_customer"])
        out.worth_saving, out.worth_value = len(worth), float(worth["value_at_stake"].sum())
        if previous is not None and {"customer_id", "churn_risk", "value_at_stake"} <= set(previous.columns):
            before = worth_saving(previous, save["uplift"], save["cost_per_customer"])
            out.newly_worth_saving = int((~worth["customer_id"].astype(str).isin(
                before["customer_id"].astype(str))).sum())
        ranked = rank_tactics(tactic_features(scored), margin, catalogue)
        top = ranked[ranked["expected_gain"] > 0].head(1)
        if len(top):
            t = top.iloc[0]
            out.best_tactic = {"name": t["name"], "customers": int(t["customers"]),
                               "expected_gain": float(t["expected_gain"]), "why": t["rationale"]}
    if campaigns is not None:
        from .campaigns import measure_on
        rows, notes = campaigns
        costs = catalogue.set_index("tactic")["cost_per_customer"].to_dict()
        res = measure_on(shop, rows, notes, margin, costs).results
        out.campaigns = list(zip(res["campaign_id"], res["verdict"]))
    return out


def _change(value) -> str:
    if value is None:
        return ""
    colour = "#1a7f37" if value > 0 else "#b42318" if value < 0 else MUTED
    return f'<span style="color:{colour}">{html.escape(f"{value:+.0%}")}</span>'


def render(d: Digest) -> str:
    """The digest as one HTML page (inline styles, no script): what a mail program shows as it is."""
    e = html.escape
    money = lambda x: e(formatting.money(x, d.currency))  # noqa: E731
    rows = []
    for name, (now, then, change) in d.figures.items():
        fmt = money if name in ("Revenue", "Average order value") else (lambda x: e(formatting.count(x)))
        rows.append(f'<tr><td style="padding:6px 12px 6px 0">{e(name)}</td>'
                    f'<td style="padding:6px 12px;text-align:right;font-weight:600">{fmt(now)}</td>'
                    f'<td style="padding:6px 12px;text-align:right;color:{MUTED}">{fmt(then)}</td>'
                    f'<td style="padding:6px 0 6px 12px;text-align:right">{_change(change)}</td></tr>')
    before = d.start - dt.timedelta(days=(d.end - d.start).days + 1)
    parts = [f'<h1 style="font-size:22px;margin:0 0 4px 0;color:{INK}">Your shop this week</h1>',
             f'<p style="color:{MUTED};margin:0 0 16px 0">{d.start:%d %b %Y} to {d.end:%d %b %Y}, against '
             f'{before:%d %b %Y} to {d.start - dt.timedelta(days=1):%d %b %Y}'
             + (f" · {e(d.source)}" if d.source else "") + "</p>",
             f'<table style="border-collapse:collapse;width:100%;font-size:14px">'
             f'<tr style="color:{MUTED};font-size:12px"><td></td><td style="text-align:right;padding:0 12px">this '
             f'period</td><td style="text-align:right;padding:0 12px">the period before</td>'
             f'<td style="text-align:right">change</td></tr>' + "".join(rows) + "</table>"]
    if d.comparison_note:
        parts.append(f'<p style="color:{MUTED}">{e(d.comparison_note[0].upper() + d.comparison_note[1:])}.</p>')
    box = f'<div style="background:{PANEL};border-radius:8px;padding:12px 16px;margin:16px 0">'
    if not d.ready:
        parts.append(box + f"<b>Projections</b><br>{e(d.why_not)}</div>")
    else:
        said = (f"<b>{e(formatting.count(d.worth_saving))} customers are worth a win-back message</b>, holding "
                f"{money(d.worth_value)} of value at stake.")
        if d.newly_worth_saving is not None:
            said += f" {e(formatting.count(d.newly_worth_saving))} of them were not on the list last time."
        parts.append(box + said + "</div>")
        if d.best_tactic:
            t = d.best_tactic
            parts.append(box + f"<b>Do this first: {e(t['name'])}</b> — {e(formatting.count(t['customers']))} "
                         f"customers, expected net gain {money(t['expected_gain'])}.<br>"
                         f'<span style="color:{MUTED}">{e(t["why"])}</span></div>')
        else:
            parts.append(box + "No tactic pays for itself under the current assumptions.</div>")
    if d.campaigns:
        items = "".join(f"<li><b>{e(cid)}</b>: {e(v)}</li>" for cid, v in d.campaigns)
        parts.append(f"<h2 style=\"font-size:16px;color:{INK}\">Campaigns measured</h2><ul>{items}</ul>")
    parts.append(f'<p style="color:{MUTED};font-size:12px">Written by clv on {dt.date.today():%d %b %Y}. Revenue is '
                 "purchases net of the returns and refunds dated in the period; value at stake is projected value × "
                 "churn risk.</p>")
    body = "".join(parts)
    return ('<!doctype html><html><head><meta charset="utf-8"><title>clv digest</title></head>'
            f'<body style="margin:0;background:#ffffff"><div style="max-width:640px;margin:0 auto;padding:24px;'
            f'font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:{INK}">{body}</div></body></html>')
