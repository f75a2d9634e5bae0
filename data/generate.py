"""Deterministic generator of the bundled sample shop (and of bigger shops for the benchmarks).

    python data/generate.py                          # the sample shop in data/ (about 5,000 customers, 2 years)
    python data/generate.py --customers 1000000 --format generic --preset bench --no-interactions --out-dir /tmp/big

The behavioural process, with its true parameters written to sample_truth.json:
- purchases follow BG/NBD (Fader, Hardie & Lee 2005): each customer buys at a Poisson rate
  lambda ~ Gamma(r, alpha) (per day) and, after each repeat purchase, drops out with probability p ~ Beta(a, b);
- order values follow Gamma-Gamma: a customer's orders are Gamma(p_gg, nu) with nu ~ Gamma(q, gamma);
- a quarter of the customers are discount-driven (most of their orders carry a code);
- while alive, customers file support tickets; an unhappy ticket (satisfaction 1-2) ends the relationship
  with probability ``ticket_churn`` — support trouble raises churn beyond what purchases alone show;
- customers browse, open emails and abandon carts while alive, go quiet after they leave, and often abandon
  one last cart on their way out.
A few orders are cancelled, fully or partly refunded, or have no email, as in real exports.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

PRESETS = {
    # the sample shop: a typical small e-commerce shop, ~2 purchases a year while active
    "sample": dict(r=0.6, alpha=120.0, a=0.8, b=2.5, p=6.0, q=4.0, v=30.0),
    # benchmark shops: ~10 orders per customer over two years
    "bench": dict(r=1.2, alpha=38.0, a=0.4, b=6.0, p=6.0, q=4.0, v=30.0),
    # realistic big shops: most customers buy once or twice, ~3 orders per customer over two years
    "realistic": dict(r=0.8, alpha=70.0, a=0.8, b=2.5, p=6.0, q=4.0, v=30.0),
}
DAYS = 730
END = pd.Timestamp("2026-10-31 23:59:59")
PRODUCTS = [("Everyday Tee", 24.0), ("Organic Hoodie", 68.0), ("Canvas Tote", 18.0), ("Wool Beanie", 29.0),
            ("Linen Shirt", 59.0), ("Trail Socks (3-pack)", 16.0), ("Rain Jacket", 129.0), ("Chino Shorts", 45.0),
            ("Leather Belt", 39.0), ("Travel Mug", 22.0), ("Merino Sweater", 95.0), ("Cap", 25.0)]


def simulate_purchases(n: int, params: dict, rng: np.random.Generator, ticket_rate: float = 0.0,
                       ticket_churn: float = 0.0, bad_ticket_share: float = 0.35):
    """BG/NBD purchase times (days since the shop opened) for ``n`` customers, plus support tickets.

    Returns (customers DataFrame, purchases DataFrame, tickets DataFrame). Vectorised over customers.
    """
    acq = np.sort(rng.uniform(0, DAYS - 1, n))
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    pdrop = rng.beta(params["a"], params["b"], n)
    horizon = DAYS - acq
    # BG/NBD: repeat purchases until the window ends or the customer drops out right after one
    death = np.full(n, np.inf)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    cust_idx, times = [np.arange(n)], [acq.copy()]
    active = np.arange(n)
    while active.size:
        t[active] += rng.exponential(1.0 / lam[active])
        within = t[active] < horizon[active]
        active = active[within]
        cust_idx.append(active)
        times.append(acq[active] + t[active])
        dies = rng.random(active.size) < pdrop[active]
        death[active[dies]] = t[active[dies]]
        alive[active[dies]] = False
        active = active[~dies]
    cust = np.concatenate(cust_idx)
    when = np.concatenate(times)
    # support tickets while alive; an unhappy one may end the relationship early
    life_end = np.minimum(death, horizon)
    n_tickets = rng.poisson(ticket_rate * life_end)
    t_cust = np.repeat(np.arange(n), n_tickets)
    t_time = rng.uniform(0, 1, t_cust.size) * life_end[t_cust]
    t_sat = np.where(rng.random(t_cust.size) < bad_ticket_share, rng.integers(1, 3, t_cust.size),
                     rng.integers(3, 6, t_cust.size))
    fatal = (t_sat <= 2) & (rng.random(t_cust.size) < ticket_churn)
    ticket_death = np.full(n, np.inf)
    np.minimum.at(ticket_death, t_cust[fatal], t_time[fatal])
    keep_t = t_time <= ticket_death[t_cust]
    tickets = pd.DataFrame({"customer": t_cust[keep_t], "day": acq[t_cust[keep_t]] + t_time[keep_t],
                            "satisfaction": t_sat[keep_t]})
    keep = (when - acq[cust]) <= ticket_death[cust]
    death = np.minimum(death, ticket_death)
    purchases = pd.DataFrame({"customer": cust[keep], "day": when[keep]}).sort_values(["day"]).reset_index(drop=True)
    customers = pd.DataFrame({"customer": np.arange(n), "acquired_day": acq, "lam": lam, "p": pdrop,
                              "death_day": acq + death, "alive_at_end": ~np.isfinite(death) | (acq + death > DAYS),
                              "ticket_churned": np.isfinite(ticket_death)})
    return customers, purchases, tickets


def order_values(customers: pd.DataFrame, purchases: pd.DataFrame, params: dict, rng: np.random.Generator):
    """Gamma-Gamma spend: nu_i ~ Gamma(q, 1/v) per customer, each order ~ Gamma(p, 1/nu_i)."""
    nu = rng.gamma(params["q"], 1.0 / params["v"], len(customers))
    return np.round(rng.gamma(params["p"], 1.0 / nu[purchases["customer"].to_numpy()]), 2)


def _email(i: int) -> str:
    return f"customer{i:06d}@example.com"


def _ts(day: np.ndarray) -> pd.Series:
    return END.normalize() - pd.Timedelta(days=DAYS) + pd.to_timedelta(day, unit="D")


def build_orders(customers, purchases, params, rng, ticket_rate, discount_driven_share=0.25):
    """One row per order with its money fields, including cancelled and refunded extras."""
    n = len(purchases)
    total = order_values(customers, purchases, params, rng)
    discount_driven = rng.random(len(customers)) < discount_driven_share
    cust = purchases["customer"].to_numpy()
    has_code = rng.random(n) < np.where(discount_driven[cust], 0.75, 0.08)
    gross = np.where(has_code, np.round(total / 0.85, 2), total)
    orders = pd.DataFrame({"customer": cust, "day": purchases["day"].to_numpy(), "total": total,
                           "discount": np.round(gross - total, 2), "status": "paid", "refunded": 0.0,
                           "cancelled": False})
    partial = rng.random(n) < 0.03
    orders.loc[partial, "status"] = "partially_refunded"
    orders.loc[partial, "refunded"] = np.round(orders.loc[partial, "total"] * 0.3, 2)
    # extra orders that are not purchases: cancelled (voided) and fully refunded
    extra = orders.sample(frac=0.03, random_state=int(rng.integers(1 << 31))).copy()
    extra["day"] = extra["day"] + rng.uniform(0.01, 0.2, len(extra))
    half = np.arange(len(extra)) % 2 == 0
    extra.loc[half, "status"] = "voided"
    extra.loc[half, "cancelled"] = True
    extra.loc[~half, "status"] = "refunded"
    extra.loc[~half, "refunded"] = extra.loc[~half, "total"]
    orders = pd.concat([orders, extra]).sort_values("day", kind="stable").reset_index(drop=True)
    orders = orders[orders["day"] < DAYS]
    orders["discount_driven"] = discount_driven[orders["customer"].to_numpy()]
    return orders.reset_index(drop=True)


def write_shopify(orders: pd.DataFrame, path: Path, rng: np.random.Generator) -> None:
    """A Shopify orders export: one row per line item, order-level fields on the first row only."""
    rows = []
    created = _ts(orders["day"].to_numpy())
    tz_offset = pd.Timedelta(hours=-5)  # the shop's time zone (EST), written as "-0500"
    sources = rng.choice(["web", "web", "web", "web", "web", "web", "iphone", "pos"], len(orders))
    no_email = rng.random(len(orders)) < 0.004
    messy_email = rng.random(len(orders)) < 0.05
    for i, o in enumerate(orders.itertuples(index=False)):
        name = f"#{1001 + i}"
        email = _email(o.customer)
        if messy_email[i]:
            email = f"  {email.capitalize().replace('@example', '@Example')} "
        if no_email[i]:
            email = ""
        local = created[i] + tz_offset
        created_at = local.strftime("%Y-%m-%d %H:%M:%S -0500")
        n_items = int(rng.integers(1, 4))
        picks = rng.choice(len(PRODUCTS), n_items, replace=False)
        gross = o.total + o.discount
        shares = rng.dirichlet(np.ones(n_items)) * gross
        prices = np.round(shares, 2)
        prices[-1] = round(gross - prices[:-1].sum(), 2)
        for j, (pi, price) in enumerate(zip(picks, prices)):
            first = j == 0
            rows.append({
                "Name": name, "Email": email if first else "",
                "Financial Status": o.status if first else "",
                "Paid at": created_at if first and o.status != "voided" else "",
                "Fulfillment Status": ("fulfilled" if not o.cancelled else "unfulfilled") if first else "",
                "Accepts Marketing": ("yes" if o.customer % 3 else "no") if first else "",
                "Currency": "USD" if first else "",
                "Subtotal": f"{o.total:.2f}" if first else "", "Shipping": "0.00" if first else "",
                "Taxes": "0.00" if first else "", "Total": f"{o.total:.2f}" if first else "",
                "Discount Code": ("WELCOME15" if o.discount > 0 else "") if first else "",
                "Discount Amount": f"{o.discount:.2f}" if first else "",
                "Created at": created_at,
                "Lineitem quantity": 1, "Lineitem name": PRODUCTS[pi][0], "Lineitem price": f"{price:.2f}",
                "Lineitem sku": f"SKU-{pi:03d}",
                "Cancelled at": (created_at if o.cancelled else "") if first else "",
                "Refunded Amount": (f"{o.refunded:.2f}" if o.refunded else "") if first else "",
                "Source": sources[i] if first else "",
                "Id": 5_000_000_000 + i if first else "",
            })
    pd.DataFrame(rows).to_csv(path, index=False)


def write_generic(orders: pd.DataFrame, path: Path) -> None:
    """A compact one-row-per-order CSV (what a warehouse export looks like); written through DuckDB for speed."""
    import duckdb
    frame = pd.DataFrame({
        "order_id": np.arange(1, len(orders) + 1),
        "customer_id": orders["customer"].to_numpy() + 100000,
        "order_date": _ts(orders["day"].to_numpy()),
        "amount": orders["total"].to_numpy() - orders["refunded"].to_numpy(),
        "discount": orders["discount"].to_numpy(),
        "status": orders["status"].to_numpy(),
    })
    con = duckdb.connect()
    con.register("frame", frame)
    con.sql("SELECT order_id, customer_id, strftime(order_date, '%Y-%m-%d %H:%M:%S') AS order_date, "
            "round(amount, 2) AS amount, round(discount, 2) AS discount, status FROM frame").write_csv(str(path))


def build_interactions(customers, orders, tickets, rng) -> pd.DataFrame:
    """Browsing, email, cart, review and support events, driven by whether the customer is still active."""
    ev = []
    cust_ids = customers["customer"].to_numpy()
    acq = customers["acquired_day"].to_numpy()
    end_alive = np.minimum(customers["death_day"].to_numpy(), DAYS)
    abandoner = rng.random(len(customers)) < 0.2
    engagement = rng.gamma(2.0, 0.5, len(customers))

    def poisson_times(start, stop, rate):
        counts = rng.poisson(np.maximum(stop - start, 0) * rate)
        who = np.repeat(np.arange(len(start)), counts)
        return who, start[who] + rng.random(who.size) * (stop - start)[who]

    purchases = orders[orders["status"].isin(["paid", "partially_refunded"])]
    pc, pday = purchases["customer"].to_numpy(), purchases["day"].to_numpy()
    # each purchase: a couple of views, an add-to-cart and a checkout shortly before it
    ev.append(pd.DataFrame({"c": pc, "day": pday - rng.uniform(0.01, 0.08, pc.size), "event": "page_view"}))
    ev.append(pd.DataFrame({"c": pc, "day": pday - rng.uniform(0.002, 0.01, pc.size), "event": "add_to_cart"}))
    ev.append(pd.DataFrame({"c": pc, "day": pday - rng.uniform(0.0005, 0.002, pc.size), "event": "begin_checkout"}))
    # while active: browsing, email opens and clicks, abandoned carts
    for event, rate in [("page_view", 0.006), ("email_open", 0.012), ("email_click", 0.003)]:
        who, day = poisson_times(acq, end_alive, rate * engagement)
        ev.append(pd.DataFrame({"c": cust_ids[who], "day": day, "event": event}))
    who, day = poisson_times(acq, end_alive, np.where(abandoner, 0.008, 0.0015))
    ev.append(pd.DataFrame({"c": cust_ids[who], "day": day, "event": "add_to_cart"}))
    # after leaving: a trickle of email opens, and often one last abandoned cart
    gone = np.isfinite(customers["death_day"].to_numpy()) & (customers["death_day"].to_numpy() < DAYS)
    who, day = poisson_times(np.where(gone, end_alive, DAYS), np.full(len(customers), DAYS), 0.002 * engagement)
    ev.append(pd.DataFrame({"c": cust_ids[who], "day": day, "event": "email_open"}))
    last_cart = gone & (rng.random(len(customers)) < 0.5)
    ev.append(pd.DataFrame({"c": cust_ids[last_cart],
                            "day": end_alive[last_cart] + rng.uniform(1, 20, last_cart.sum()), "event": "add_to_cart"}))
    frame = pd.concat(ev, ignore_index=True)
    frame["value"] = np.nan
    # reviews after some purchases
    rev = rng.random(pc.size) < 0.12
    frame = pd.concat([frame, pd.DataFrame({"c": pc[rev], "day": pday[rev] + rng.uniform(5, 20, rev.sum()),
                                            "event": "review", "value": rng.choice([3, 4, 5, 5, 5], rev.sum())}),
                       pd.DataFrame({"c": tickets["customer"].to_numpy(), "day": tickets["day"].to_numpy(),
                                     "event": "support_ticket", "value": tickets["satisfaction"].to_numpy()})],
                      ignore_index=True)
    frame = frame[(frame["day"] >= 0) & (frame["day"] < DAYS)]
    frame["channel"] = np.where(frame["event"].str.startswith("email"), "email",
                                np.where(frame["event"] == "support_ticket", "support",
                                         rng.choice(["web", "web", "app"], len(frame))))
    frame = frame.sort_values("day", kind="stable")
    ts = _ts(frame["day"].to_numpy())
    return pd.DataFrame({"customer_email": [_email(c) for c in frame["c"]],
                         "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "event": frame["event"].to_numpy(), "channel": frame["channel"].to_numpy(),
                         "value": frame["value"].astype("Int64").to_numpy()})


def generate(out_dir: Path, customers: int = 5000, seed: int = 2, preset: str = "sample", fmt: str = "shopify",
             interactions: bool = True, prefix: str = "sample") -> dict:
    rng = np.random.default_rng(seed)
    params = PRESETS[preset]
    ticket_rate, ticket_churn = 0.002, 0.5
    cust, purchases, tickets = simulate_purchases(customers, params, rng, ticket_rate, ticket_churn)
    orders = build_orders(cust, purchases, params, rng, ticket_rate)
    out_dir.mkdir(parents=True, exist_ok=True)
    orders_path = out_dir / f"{prefix}_orders.csv"
    if fmt == "shopify":
        write_shopify(orders, orders_path, rng)
    else:
        write_generic(orders, orders_path)
    truth = {
        "seed": seed, "customers": customers, "days": DAYS, "end": str(END.date()), "time_unit": "days",
        "bgnbd": {k: params[k] for k in ("r", "alpha", "a", "b")},
        "gamma_gamma": {k: params[k] for k in ("p", "q", "v")},
        "support_ticket_rate_per_day": ticket_rate, "unhappy_ticket_churn_probability": ticket_churn,
        "orders_written": int(len(orders)), "purchases": int(len(purchases)),
        "alive_at_end": int(cust["alive_at_end"].sum()),
        "churned_after_unhappy_ticket": int(cust["ticket_churned"].sum()),
    }
    if interactions:
        events = build_interactions(cust, orders, tickets, rng)
        events.to_csv(out_dir / f"{prefix}_interactions.csv", index=False)
        truth["interactions_written"] = int(len(events))
    (out_dir / f"{prefix}_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="sample")
    ap.add_argument("--format", choices=["shopify", "generic"], default="shopify")
    ap.add_argument("--no-interactions", action="store_true")
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--prefix", default="sample")
    a = ap.parse_args(argv)
    print(json.dumps(generate(a.out_dir, a.customers, a.seed, a.preset, a.format, not a.no_interactions,
                              a.prefix), indent=2))


if __name__ == "__main__":
    main()
