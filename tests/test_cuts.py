"""The LTV cuts (clv/cuts.py) against an independent pandas computation on a small shop with hand-checkable answers.

The shop (one row per line item, a generic file): five customers over January–March 2024.
- a: first order A1 on 5 Jan has two lines (Mug 10, Plate 20; code WELCOME, US, web), then A2 on 20 Jan (Mug 30)
  → revenue 60, first product Mug, repeat after 15 days;
- b: B1 on 10 Jan (Mug 40, no code, DE, ads), B2 on 10 Feb (Plate 10, code LATER: not the first order's), and a
  return of 15 on 20 Mar, after the last purchase in the file → revenue 35, repeat after 31 days;
- c: C1 on 3 Feb (Plate 25, WELCOME, DE, web) → revenue 25;
- d: D1 and D2 on the same day, 15 Feb (Tee 50 and Tee 10, FR, ads) → revenue 60, not a repeat (one purchase day);
- e: E1 on 1 Mar (Mug 20, SPRING, US, web) and a cancelled order → revenue 20.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clv import cuts
from clv.errors import DataError
from clv.store import Shop


LINES = [  # order_id, customer_id, order_date, amount, product, discount_code, country, channel, status
    ("A1", "a@x.com", "2024-01-05 10:00:00", 10, "Mug", "welcome", "US", "web", "paid"),
    ("A1", "a@x.com", "2024-01-05 10:00:00", 20, "Plate", "welcome", "US", "web", "paid"),
    ("B1", "b@x.com", "2024-01-10 09:00:00", 40, "Mug", "", "DE", "ads", "paid"),
    ("A2", "a@x.com", "2024-01-20 12:00:00", 30, "Mug", "", "US", "web", "paid"),
    ("C1", "c@x.com", "2024-02-03 08:00:00", 25, "Plate", "WELCOME", "DE", "web", "paid"),
    ("B2", "b@x.com", "2024-02-10 09:00:00", 10, "Plate", "LATER", "DE", "ads", "paid"),
    ("D1", "d@x.com", "2024-02-15 10:00:00", 50, "Tee", "", "FR", "ads", "paid"),
    ("D2", "d@x.com", "2024-02-15 18:00:00", 10, "Tee", "", "FR", "ads", "paid"),
    ("E1", "e@x.com", "2024-03-01 11:00:00", 20, "Mug", "SPRING", "US", "web", "paid"),
    ("E2", "e@x.com", "2024-03-05 11:00:00", 99, "Lamp", "", "US", "web", "cancelled"),
    ("B3", "b@x.com", "2024-03-20 16:00:00", -15, "Mug", "", "DE", "ads", "refunded"),
]
COLUMNS = ["order_id", "customer_id", "order_date", "amount", "product", "discount_code", "country", "channel",
           "status"]


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return pd.DataFrame(LINES, columns=COLUMNS)


@pytest.fixture(scope="module")
def orders_file(tmp_path_factory, lines) -> Path:
    path = tmp_path_factory.mktemp("cuts") / "orders.csv"
    lines.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def shop(orders_file) -> Shop:
    s = Shop()
    s.load_orders(orders_file)
    return s


def independent(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per customer by the rules in words: orders from their lines (first line's product, summed
    amounts), purchases are paid positive orders, a negative order is a return; the first purchase's traits."""
    codes = lines["discount_code"].str.upper()   # codes are matched ignoring case, as the platforms do
    df = lines.assign(ts=pd.to_datetime(lines["order_date"]), code=codes.where(codes != "", None))
    orders = df.groupby("order_id", sort=False).agg(customer=("customer_id", "first"), ts=("ts", "first"),
                                                    amount=("amount", "sum"), product=("product", "first"),
                                                    code=("code", "first"), country=("country", "first"),
                                                    channel=("channel", "first"), status=("status", "first"))
    orders = orders.reset_index()
    purchases = orders[(orders["amount"] > 0) & (orders["status"] == "paid")].sort_values(["ts", "order_id"])
    returns = orders[orders["amount"] < 0]
    rows = []
    for cust, p in purchases.groupby("customer"):
        first = p.iloc[0]
        days = sorted(p["ts"].dt.normalize().unique())
        rows.append(dict(customer_id=cust, revenue=p["amount"].sum() + returns.loc[returns["customer"] == cust,
                                                                                    "amount"].sum(),
                         first_product=first["product"],
                         discount_code=first["code"] if pd.notna(first["code"]) else None,
                         discounted="discounted" if pd.notna(first["code"]) else "full price",
                         channel=first["channel"],
                         country=first["country"], cohort=first["ts"].to_period("M").to_timestamp(),
                         repeat=len(days) > 1,
                         days_to_second=(days[1] - days[0]).days if len(days) > 1 else np.nan))
    return pd.DataFrame(rows)


def test_the_independent_side_has_the_hand_answers(lines):
    ind = independent(lines).set_index("customer_id")
    assert ind["revenue"].to_dict() == {"a@x.com": 60, "b@x.com": 35, "c@x.com": 25, "d@x.com": 60, "e@x.com": 20}
    assert ind.loc["a@x.com", "first_product"] == "Mug" and pd.isna(ind.loc["b@x.com", "discount_code"])
    assert ind["repeat"].sum() == 2 and ind.loc["b@x.com", "days_to_second"] == 31


def test_revenue_counts_as_the_customer_table(shop, lines):
    """The cuts' revenue is the customer table's: b's return after the last purchase is subtracted."""
    table = shop.customers().set_index("customer_id")["revenue"].astype(float)
    by_country = cuts.ltv_by(shop, "country")
    assert by_country["customers"].sum() == len(table)
    assert (by_country["revenue_per_customer"] * by_country["customers"]).sum() == pytest.approx(table.sum())
    assert table["b@x.com"] == 35


@pytest.mark.parametrize("since", [None, "2024-02-01", "2024-02-15"])
@pytest.mark.parametrize("by", ["first_product", "discount_code", "discounted", "channel", "country"])
def test_ltv_by_matches_pandas(shop, lines, by, since):
    """Every customer, or (``since``) those who first bought on or after a day — a period's new customers, their
    value still counted from all their purchases."""
    ind = independent(lines)
    if since:
        first = pd.to_datetime(lines["order_date"]).groupby(lines["customer_id"]).min().dt.normalize()
        ind = ind[ind["customer_id"].map(first) >= pd.Timestamp(since)]
        assert 0 < len(ind) < 5
    key = ind[by].fillna(cuts.CUTS[by].missing)
    g = ind.groupby(key)
    want = pd.DataFrame({"customers": g.size(), "revenue_per_customer": g["revenue"].mean(),
                         "revenue_median": g["revenue"].median(), "repeat_rate": g["repeat"].mean(),
                         "median_days_to_second_order": g["days_to_second"].median()})
    sd = g["revenue"].std()
    tq = stats.t.ppf(0.975, want["customers"] - 1)
    want["revenue_ci_low"] = want["revenue_per_customer"] - tq * sd / np.sqrt(want["customers"])
    want["revenue_ci_high"] = want["revenue_per_customer"] + tq * sd / np.sqrt(want["customers"])
    want["share"] = want["customers"] / len(ind)
    got = cuts.ltv_by(shop, by, acquired_from=since).set_index("group")
    assert list(got.columns) == cuts.LTV_COLUMNS[1:]
    assert sorted(got.index) == sorted(want.index)
    pd.testing.assert_frame_equal(got[want.columns].astype(float), want.loc[got.index].astype(float),
                                  check_names=False)
    assert got["small"].all() and (got["folded_groups"] == 0).all()   # five customers: every group is small


def test_ltv_by_hand_answers(shop):
    code = cuts.ltv_by(shop, "discount_code").set_index("group")
    # b's code is on his second order: he is a full-price customer; codes are matched ignoring case
    assert code.loc["WELCOME", "customers"] == 2 and code.loc["WELCOME", "revenue_per_customer"] == 42.5
    assert code.loc["(no code)", "customers"] == 2 and code.loc["(no code)", "revenue_per_customer"] == 47.5
    assert list(code.index) == ["WELCOME", "SPRING", "(no code)"]   # named groups by size, then the missing one
    product = cuts.ltv_by(shop, "first_product").set_index("group")
    # a's first order has two products: the first line's (Mug) is the order's
    assert product.loc["Mug", "customers"] == 3 and product.loc["Mug", "revenue_per_customer"] == pytest.approx(115 / 3)
    assert product.loc["Mug", "repeat_rate"] == pytest.approx(2 / 3)
    assert product.loc["Mug", "median_days_to_second_order"] == 23  # a after 15 days, b after 31
    assert np.isnan(product.loc["Plate", "revenue_ci_low"])          # one customer: no interval


def test_small_groups_are_flagged_and_the_rest_folded_into_other(shop):
    got = cuts.ltv_by(shop, "first_product", top_n=1, min_customers=2)
    assert list(got["group"]) == ["Mug", "(other)"]
    other = got.set_index("group").loc["(other)"]
    assert other["customers"] == 2 and other["folded_groups"] == 2 and other["revenue_per_customer"] == 42.5
    assert "folded into '(other)'" in got.attrs["note"]
    flagged = cuts.ltv_by(shop, "first_product", min_customers=2).set_index("group")["small"]
    assert flagged.to_dict() == {"Mug": False, "Plate": True, "Tee": True}


def test_projected_value_is_the_mean_of_the_scored_clv(shop):
    scored = pd.DataFrame({"customer_id": ["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
                           "clv": [10.0, 20.0, 30.0, 40.0]})
    got = cuts.ltv_by(shop, "country", scored=scored).set_index("group")
    assert got.loc["DE", "projected_clv_per_customer"] == 25 and got.loc["DE", "scored_customers"] == 2
    assert got.loc["US", "projected_clv_per_customer"] == 10 and got.loc["US", "scored_customers"] == 1  # e unscored
    assert cuts.ltv_by(shop, "country")["projected_clv_per_customer"].isna().all()


def test_product_repeat(shop):
    got = cuts.product_repeat(shop).set_index("group")
    assert list(got.columns) == cuts.PRODUCT_REPEAT_COLUMNS[1:]
    assert got.loc["Tee", "repeat_rate"] == 0          # two orders on one day are one purchase day
    assert np.isnan(got.loc["Tee", "median_days_to_second_order"])


def test_cohort_curves_match_pandas(shop, lines):
    got = cuts.cohort_ltv(shop, margin=0.5)
    assert list(got.columns) == cuts.COHORT_COLUMNS
    ind = independent(lines)
    df = lines.assign(ts=pd.to_datetime(lines["order_date"]))
    money = df[((df["status"] == "paid") & (df["amount"] > 0)) | (df["amount"] < 0)]
    money = money.merge(ind[["customer_id", "cohort"]], on="customer_id")
    money["k"] = ((money["ts"].dt.year - money["cohort"].dt.year) * 12 + money["ts"].dt.month
                  - money["cohort"].dt.month)
    end = pd.Timestamp("2024-03-20")
    for cohort, members in ind.groupby("cohort"):
        months = (end.year - cohort.year) * 12 + end.month - cohort.month
        for k in range(months + 1):
            row = got[(got["cohort"] == cohort) & (got["months_since_first"] == k)].iloc[0]
            total = money.loc[(money["cohort"] == cohort) & (money["k"] <= k), "amount"].sum()
            assert row["customers"] == len(members)
            assert row["cumulative_revenue_per_customer"] == pytest.approx(total / len(members))
            assert row["cumulative_margin_per_customer"] == pytest.approx(0.5 * total / len(members))
            assert row["complete"] == ((cohort + pd.DateOffset(months=k + 1)) <= end + pd.Timedelta(days=1))
    jan = got[got["cohort"] == pd.Timestamp("2024-01-01")].set_index("months_since_first")
    # a 30 + 30 and b 40, then b's 10 in February, then b's return of 15 dated after the last purchase
    assert list(jan["cumulative_revenue_per_customer"]) == [50, 55, 47.5]
    assert list(jan["complete"]) == [True, True, False]
    assert len(got) == 3 + 2 + 1


def test_customer_history(shop):
    h = cuts.customer_history(shop, " A@X.com ", scored=pd.DataFrame({"customer_id": ["a@x.com"], "clv": [12.0]}))
    assert h.found and list(h.orders["order_id"]) == ["A1", "A2"]
    assert h.orders.iloc[0]["products"].tolist() == ["Mug", "Plate"] and h.orders.iloc[0]["discount_code"] == "WELCOME"
    assert h.interactions.empty and h.scores["clv"] == 12.0
    b = cuts.customer_history(shop, "b@x.com")
    assert list(b.orders["is_purchase"]) == [True, True, False] and b.scores is None
    # the id is a parameter: a quote or SQL in the search box is just an id nobody has
    nobody = cuts.customer_history(shop, "x' OR '1'='1")
    assert not nobody.found and nobody.orders.empty


def test_missing_column_names_the_field_and_the_accepted_headers(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("customer_id,order_date,amount\na,2024-01-01,10\na,2024-02-01,20\n")
    s = Shop()
    s.load_orders(path)
    for by, words in (("country", "Shipping Country"), ("first_product", "Lineitem name"),
                      ("discount_code", "Discount Code"), ("channel", "Source")):
        with pytest.raises(DataError, match=words) as err:
            cuts.ltv_by(s, by)
        assert "has no" in str(err.value)
    with pytest.raises(DataError, match="Unknown cut"):
        cuts.ltv_by(s, "colour")
    assert len(cuts.cohort_ltv(s)) == 2      # the cohort cut needs no optional column


from test_cli import clv  # noqa: E402  (clv.cli.main in this process, its output captured)


def test_cli_cuts(tmp_path, orders_file, shop):
    out = tmp_path / "by_code.csv"
    r = clv("cuts", "--orders", str(orders_file), "--by", "discount_code", "--min-customers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out).set_index("group")
    want = cuts.ltv_by(shop, "discount_code", min_customers=2).set_index("group")
    assert list(got.index) == list(want.index)
    assert (got["revenue_per_customer"] - want["revenue_per_customer"]).abs().max() < 0.005
    assert got["small"].tolist() == want["small"].tolist()
    r = clv("cuts", "--orders", str(orders_file), "--by", "cohort", "--margin", "0.5", "--out", str(tmp_path / "c.csv"))
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(tmp_path / "c.csv")["cumulative_margin_per_customer"].tolist()[:3] == [25, 27.5, 23.75]
    plain = tmp_path / "plain.csv"   # no country column; a product a spreadsheet would run as a formula
    plain.write_text("customer_id,order_date,amount,product\nann,2024-01-01,10,=HYPERLINK(1)\n")
    r = clv("cuts", "--orders", str(plain), "--by", "country", "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "\nerror: The orders file has no shipping country column" in r.stderr
    assert "Shipping Country" in r.stderr and not (tmp_path / "x.csv").exists()
    r = clv("cuts", "--orders", str(plain), "--by", "first_product", "--out", str(tmp_path / "p.csv"))
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(tmp_path / "p.csv")["group"].tolist() == ["'=HYPERLINK(1)"]


def test_weekly_orders_say_which_weeks_are_whole(shop):
    """The backtest's weekly timeline: a week cut by the first purchase day (Fri 5 Jan 2024) or the last day counted
    (Fri 1 Mar, or the as-of day) is marked incomplete, so the chart does not draw a partial week as a drop."""
    from clv.charts import weekly_orders_with_cutoff
    weekly = shop.weekly_orders().set_index("week")
    assert weekly.index[0] == pd.Timestamp(2024, 1, 1) and weekly.index[-1] == pd.Timestamp(2024, 2, 26)
    assert not weekly.loc[pd.Timestamp(2024, 1, 1), "complete"] and not weekly.loc[pd.Timestamp(2024, 2, 26), "complete"]
    assert weekly.loc[pd.Timestamp(2024, 1, 8), "complete"] and weekly["orders"].sum() == 8
    assert shop.weekly_orders(as_of="2024-03-03").set_index("week").loc[pd.Timestamp(2024, 2, 26), "complete"]
    drawn = weekly_orders_with_cutoff(shop.weekly_orders(), "2024-02-01").data[0].x
    assert min(drawn) == pd.Timestamp(2024, 1, 8) and max(drawn) == pd.Timestamp(2024, 2, 19)
    assert weekly.loc[pd.Timestamp(2024, 2, 19), "orders"] == 0  # a week without orders is a 0, not a gap


def test_the_cohort_heat_map_keeps_the_latest_two_years_and_says_so():
    from clv import charts
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    cohorts = pd.DataFrame([{"cohort_month": m, "months_since": k, "retention": 0.1, "cohort_size": 100}
                            for m in months for k in range(0, 13)])
    fig = charts.cohort_heatmap(cohorts)
    rows = list(fig.data[0].y)
    assert len(rows) == 24 and rows[0].startswith("Jul 2020") and rows[-1].startswith("Jun 2022")
    assert "the latest 24 of 30 cohorts" in fig.layout.title.text
    assert "latest" not in charts.cohort_heatmap(cohorts[cohorts["cohort_month"] >= months[10]]).layout.title.text


def test_the_cohort_heat_map_blanks_tiny_cohorts_and_months_to_come_and_shows_a_month_without_buyers_as_0():
    from clv import charts
    rows = [("2024-01-01", 0, 1.0, 100), ("2024-01-01", 1, 0.3, 100), ("2024-01-01", 3, 0.2, 100),  # month 2: none
            ("2024-02-01", 0, 1.0, 5), ("2024-02-01", 1, 0.4, 5),                                   # 5 customers
            ("2024-03-01", 0, 1.0, 50)]                                                               # none came back
    cohorts = pd.DataFrame(rows, columns=["cohort_month", "months_since", "retention", "cohort_size"])
    cohorts["cohort_month"] = pd.to_datetime(cohorts["cohort_month"]).dt.date
    fig = charts.cohort_heatmap(cohorts)  # the data's last month: April 2024 (January's month 3)
    z = np.array(fig.data[0].z, float)
    assert list(fig.data[0].y) == ["Jan 2024 (100)", "Feb 2024 (5)", "Mar 2024 (50)"]
    assert list(fig.data[0].x) == [1, 2, 3]
    np.testing.assert_array_equal(z[0], [0.3, 0.0, 0.2])       # a month nobody bought in is 0, not a gap
    assert np.isnan(z[1]).all()                                 # 5 customers: blank, and said
    np.testing.assert_array_equal(z[2][:1], [0.0])              # March's first month is past: 0 ...
    assert np.isnan(z[2][1:]).all()                             # ... its second and third are still to come
    assert "fewer than 20 customers left blank" in fig.layout.title.text
    later = np.array(charts.cohort_heatmap(cohorts, through="2024-06-30").data[0].z, float)
    np.testing.assert_array_equal(later[2][:3], [0.0, 0.0, 0.0])  # the data runs to June: March's 3 months past
    assert later.shape == (3, 5) and np.isnan(later[2][3:]).all()
    assert "blank" not in charts.cohort_heatmap(cohorts[cohorts["cohort_size"] >= 20]).layout.title.text
