"""The analyst CLI: same code path as the app, JSON/CSV out, clear errors with a non-zero exit."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
ORDERS = str(ROOT / "data" / "sample_orders.csv")
EVENTS = str(ROOT / "data" / "sample_interactions.csv")


def clv_process(*args):
    """``python -m clv ARGS`` as a user runs it: its own process."""
    return subprocess.run([sys.executable, "-m", "clv", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def clv(*args):
    """clv.cli.main(ARGS) in this process, its exit code, stdout and stderr captured as a run's (no interpreter
    start and imports per call: 1.5-2 s each; tests/test_cli.py's own runs of the entry point use clv_process)."""
    import contextlib
    import io
    import os
    from types import SimpleNamespace

    from clv.cli import main
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help, a usage error
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        os.chdir(here)
    return SimpleNamespace(returncode=code or 0, stdout=out.getvalue(), stderr=err.getvalue())


def test_help_documents_every_command():
    out = clv_process("--help").stdout
    for cmd in ("summary", "segments", "fit", "backtest", "score", "tactics", "report"):
        assert cmd in out
    assert "--as-of" in clv("summary", "--help").stdout


def test_summary_matches_the_library(tmp_path, sample_shop):
    out = tmp_path / "customers.csv"
    r = clv("summary", "--orders", ORDERS, "--interactions", EVENTS, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "rows read" in r.stderr and "excluded" in r.stderr   # the validation report on stderr
    got = pd.read_csv(out).set_index("customer_id")
    want = sample_shop.customers().set_index("customer_id")
    assert list(got.columns[:12]) == ["email", "first_order", "last_order", "orders", "revenue", "aov", "frequency",
                                      "recency_days", "T_days", "monetary_value", "discount_share", "refund_total"]
    assert len(got) == len(want)
    for col in ("frequency", "recency_days", "T_days", "carts_abandoned", "support_tickets"):
        assert (got[col] == want.loc[got.index, col]).all(), col
    # money is written to the cent and shares to 4 places (clv.export.DECIMALS), as in every exported file
    for col, places in (("monetary_value", 2), ("aov", 2), ("discount_share", 4)):
        assert (got[col] - want.loc[got.index, col]).abs().max() <= 0.5 * 10 ** -places + 1e-9, col


def test_bad_input_exits_non_zero_with_the_apps_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,amount\na,10\n")
    r = clv("summary", "--orders", str(bad), "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2
    assert r.stderr.startswith("error: No order date/time column found") and "Traceback" not in r.stderr


def test_map_override(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("Client;Wann;Betrag\nA;2024-01-01;10\nA;2024-02-01;20\n")
    r = clv("summary", "--orders", str(f), "--map", "customer_id=Client", "--map", "order_ts=Wann",
            "--map", "amount=Betrag", "--out", str(tmp_path / "c.csv"))
    assert r.returncode == 0, r.stderr
    c = pd.read_csv(tmp_path / "c.csv")
    assert c.loc[0, "orders"] == 2 and c.loc[0, "frequency"] == 1


def test_fit_and_backtest_json():
    fit = json.loads(clv("fit", "--orders", ORDERS).stdout)
    assert set(fit["purchases"]) == {"r", "alpha", "a", "b"} and set(fit["spend"]) == {"p", "q", "v"} and fit["spend_model"] == "Gamma-Gamma"
    assert fit["customers"] > 4000 and fit["log_likelihood"] < 0
    bt = json.loads(clv("backtest", "--orders", ORDERS, "--calibration-end", "2026-05-01").stdout)
    for k in ("customers", "predicted_repeat_purchases", "actual_repeat_purchases", "mae", "rmse",
              "predicted_holdout_revenue", "actual_holdout_revenue"):
        assert k in bt
    assert abs(bt["predicted_repeat_purchases"] / bt["actual_repeat_purchases"] - 1) < 0.15


def test_score_and_tactics(tmp_path):
    out = tmp_path / "scores.csv"
    r = clv("score", "--orders", ORDERS, "--interactions", EVENTS, "--margin", "0.4", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "the purchase history alone" in r.stderr  # which churn risk is used, and why
    s = pd.read_csv(out)
    for col in ("customer_id", "p_alive", "churn_risk", "expected_purchases", "clv", "rfm_segment", "cluster_name",
                "vip", "cart_abandoner"):
        assert col in s.columns
    assert s["churn_risk"].between(0, 1).all() and (s["clv"] >= 0).all()
    # money to the cent, probabilities to 4 places (clv.export.DECIMALS), not 58.007999999999996
    assert ((s["clv"] * 100).round(6) % 1 == 0).all() and ((s["p_alive"] * 1e4).round(6) % 1 == 0).all()
    assert s["clv"].nunique() > 1000  # still the customers' own values (one-time buyers alike share theirs)
    r = clv("tactics", "--orders", ORDERS, "--margin", "0.4", "--out", str(tmp_path / "t.csv"),
            "--lists", str(tmp_path / "lists"))
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(tmp_path / "t.csv")
    assert list(t.columns[:6]) == ["tactic", "customers", "value_at_stake", "expected_gain", "cost", "roi"]
    assert t["expected_gain"].is_monotonic_decreasing
    sends = sorted((tmp_path / "lists").glob("*.send.csv"))
    campaigns = sorted((tmp_path / "lists").glob("*.campaign.csv"))
    assert len(sends) == len(campaigns) == len(t)
    groups = set()
    for send, campaign in zip(sends, campaigns):  # the send file is each list's treatment group, exactly: no
        one = pd.read_csv(send, dtype={"Customer": str})  # control customer can be mailed by importing it
        record = pd.read_csv(campaign, dtype={"customer_id": str})
        assert sorted(one["Customer"]) == sorted(record.loc[record["group"] == "treatment", "customer_id"])
        groups |= set(record["group"])
    assert groups == {"treatment", "control"}


def test_segments_csv_columns(tmp_path):
    out = tmp_path / "segments.csv"
    r = clv("segments", "--orders", ORDERS, "--interactions", EVENTS, "--k", "4", "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(out)
    assert list(s.columns) == ["customer_id", "r_score", "f_score", "m_score", "rfm_segment", "cluster", "cluster_name",
                               "first_time", "repeat", "big_spender", "high_aov", "full_price", "discount_shopper",
                               "cart_abandoner", "vip"]
    assert s["cluster"].nunique() == 4 and s["rfm_segment"].notna().all()
    assert s[["r_score", "f_score", "m_score"]].isin([1, 2, 3, 4, 5]).all().all()


def test_several_order_files_date_order_and_interaction_mapping(tmp_path):
    head = "customer_id,order_date,amount\n"
    a, b = tmp_path / "orders_export_1.csv", tmp_path / "orders_export_2.csv"
    a.write_text(head + "x,03/04/2024,10\ny,05/06/2024,5\n")
    b.write_text(head + "x,07/08/2024,20\n")
    ev = tmp_path / "ev.csv"
    ev.write_text("who,when,what\nx,2024-08-01 10:00:00,add_to_cart\n")
    out = tmp_path / "c.csv"
    r = clv("summary", "--orders", str(a), str(b), "--date-format", "dmy", "--interactions", str(ev),
            "--map-interactions", "customer_id=who", "--map-interactions", "event_ts=when",
            "--map-interactions", "event_type=what", "--out", str(out))
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out).set_index("customer_id")
    assert got.loc["x", "orders"] == 2 and got.loc["x", "first_order"].startswith("2024-04-03")
    assert got.loc["x", "add_to_cart"] == 1
    assert "2 files" in r.stderr and "day first, as chosen" in r.stderr


def test_one_set_of_defaults_for_app_and_cli():
    from clv import defaults
    from clv.cli import build_parser
    from ui.common import DEFAULTS
    args = build_parser().parse_args(["score", "--orders", "x.csv", "--out", "y.csv"])
    # no --margin: measured from the orders' product costs where they have them, else the app's default
    assert args.margin is None and DEFAULTS["margin_from_costs"]
    assert defaults.MARGIN == DEFAULTS["margin_pct"] / 100
    assert args.horizon_months == defaults.HORIZON_MONTHS == DEFAULTS["horizon_months"]
    assert args.discount_rate == defaults.DISCOUNT_RATE == DEFAULTS["discount_rate_pct"] / 100


def test_purchase_model_option(tmp_path):
    r = clv("fit", "--orders", ORDERS, "--model", "mbgnbd")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["purchase_model"] == "MBG/NBD"
    r = clv("backtest", "--orders", ORDERS, "--calibration-end", "2026-04-30")
    assert r.returncode == 0, r.stderr
    assert "is used" in r.stderr and json.loads(r.stdout)["purchase_model"] in ("BG/NBD", "MBG/NBD")


def test_cli_csvs_neutralise_formulas_unless_raw(tmp_path):
    evil = '=HYPERLINK("http://x.example","click")'
    sample = pd.read_csv(ORDERS, dtype=str, keep_default_na=False)
    emails = [e for e in sample["Email"].unique() if e][:300]
    sample = sample[sample["Email"].isin(emails)]
    sample["Email"] = sample["Email"].replace({emails[0]: evil, emails[1]: "@SUM(A1)", emails[2]: "ok"})
    orders = tmp_path / "o.csv"
    sample.to_csv(orders, index=False)
    for cmd in ("summary", "segments", "score"):
        out = tmp_path / f"{cmd}.csv"
        r = clv(cmd, "--orders", str(orders), "--out", str(out))
        assert r.returncode == 0, r.stderr
        ids = set(pd.read_csv(out, dtype=str)["customer_id"])
        # an e-mail column is compared without case: its values are lower-cased, formulas or not
        assert {"'" + evil.lower(), "'@sum(a1)", "ok"} <= ids and evil.lower() not in ids, (cmd, ids)
        raw = tmp_path / f"{cmd}_raw.csv"
        assert clv(cmd, "--orders", str(orders), "--out", str(raw), "--raw").returncode == 0
        assert {evil.lower(), "@sum(a1)", "ok"} <= set(pd.read_csv(raw, dtype=str)["customer_id"])


def test_score_writes_the_format_its_out_names(tmp_path):
    """--out scores.parquet is Parquet (it was CSV text under a .parquet name), read back by pandas and by the
    app's reader with the CSV's customers and values; a name that says no format is refused before any work."""
    from clv.export import read_scored
    base = ["score", "--model", "bgnbd", "--churn-model", "palive", "--orders", ORDERS]
    assert clv(*base, "--out", str(tmp_path / "s.parquet")).returncode == 0
    assert clv(*base, "--out", str(tmp_path / "s.csv")).returncode == 0
    parquet, csv = pd.read_parquet(tmp_path / "s.parquet"), pd.read_csv(tmp_path / "s.csv")
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv) > 4000
    assert (parquet["clv"].round(2) - csv["clv"]).abs().max() < 1e-9
    assert read_scored(tmp_path / "s.parquet")["customer_id"].is_monotonic_increasing
    r = clv(*base, "--out", str(tmp_path / "s.xlsx"))
    assert r.returncode == 2 and "does not say which format" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s.xlsx").exists()


def test_disk_and_path_errors_are_one_line_with_exit_2(tmp_path):
    r = clv("summary", "--orders", ORDERS, "--out", str(tmp_path / "no" / "such" / "folder" / "c.csv"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: No such file or directory")


def test_a_run_killed_while_writing_leaves_the_previous_file(tmp_path):
    """score/summary --out: a run killed with SIGKILL before its file is complete leaves the previous file as it was
    (the table goes to a hidden temporary name, renamed when complete). The run kills itself at the rename, its table
    written whole under the temporary name — deterministic, where killing it from outside raced the writer (the
    write of 100,000 customers sometimes finished between two looks)."""
    import signal
    out = tmp_path / "customers.csv"
    out.write_text("the previous table\n")
    driver = (  # python -c: the working folder (the project) is on sys.path, as for python -m clv
        "import os, signal, sys\n"
        "real = os.replace\n"
        "def replace(src, dst, *a, **k):\n"
        "    if '.partial-' in str(src):\n"
        "        assert os.path.getsize(src) > 1000  # the table was written, under its temporary name\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(src, dst, *a, **k)\n"
        "os.replace = replace\n"
        "from clv.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    spill = tmp_path / "tmp"  # a killed run cannot remove DuckDB's spill folder: it is left here, not in /tmp
    spill.mkdir()
    for cmd in ("summary", "score"):
        r = subprocess.run([sys.executable, "-c", driver, cmd, "--orders", ORDERS, "--out", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, env={**os.environ, "TMPDIR": str(spill)})
        assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
        assert out.read_text() == "the previous table\n", cmd
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".customers.csv.partial-")], cmd
    r = clv("summary", "--orders", ORDERS, "--out", str(out))  # not killed: the new table replaces the old
    assert r.returncode == 0 and out.read_text().startswith("customer_id,"), r.stderr


def test_a_stopped_run_removes_its_spill_folder_and_says_so(tmp_path):
    """SIGTERM (a scheduler's time limit, ``kill``) stops python -m clv as Ctrl-C does: one line on stderr, exit code
    128 + 15, no output file, and DuckDB's spill folder gone from the temp folder (Python's default left it: at 100M
    orders tens of GB of /tmp). The run sends itself the signal once its orders are loaded — deterministic; a stop in
    the middle of a DuckDB query (its "Query interrupted" error) was checked by hand at 10M orders (issue 28's note)."""
    import signal
    driver = (  # python -c: the working folder (the project) is on sys.path
        "import os, runpy, signal, sys\n"
        "from clv.store import Shop\n"
        "real = Shop.load_orders\n"
        "def load(self, *a, **k):\n"
        "    out = real(self, *a, **k)\n"
        "    assert os.listdir(os.environ['TMPDIR'])  # the spill folder exists\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return out\n"
        "Shop.load_orders = load\n"
        "sys.argv = ['clv', *sys.argv[1:]]\n"
        "runpy.run_module('clv', run_name='__main__')\n")
    spill = tmp_path / "tmp"
    spill.mkdir()
    out = tmp_path / "scores.csv"
    r = subprocess.run([sys.executable, "-c", driver, "score", "--orders", ORDERS, "--out", str(out)], cwd=ROOT,
                       env={**os.environ, "TMPDIR": str(spill)}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr[-2000:]
    assert "stopped before the end" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not [p.name for p in spill.iterdir() if p.name.startswith("clv-duckdb-")]


def test_only_the_streamed_score_holds_duckdbs_memory(tmp_path, monkeypatch):
    """score in slices (its default) lets DuckDB keep the memory it is allowed for the run (clv.store.Shop's
    one_run); scoring everyone at once does not — it moves DuckDB's tables out of memory to make room for pandas."""
    from clv.store import Shop
    held = []
    monkeypatch.setattr(Shop, "_hold_memory", lambda self, limit: held.append(limit))
    for extra, expected in (((), ["1GB"]), (("--batch-customers", "0"), [])):
        held.clear()
        r = clv("score", "--orders", ORDERS, "--model", "bgnbd", "--out", str(tmp_path / "s.csv"), *extra)
        assert r.returncode == 0 and held == expected, (extra, held, r.stderr[-1000:])


def test_score_says_how_sure_and_leaves_unsupported_projections_empty(tmp_path):
    """stdout: the shop's totals with 80/95 % intervals; a history the rules reject (37 days) gets its projection
    columns left empty, the reason on stderr and in the JSON — its historic columns still there."""
    from test_app_readiness import orders
    r = clv("score", "--model", "bgnbd", "--churn-model", "palive", "--orders", ORDERS, "--out", str(tmp_path / "s.csv"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    value = summary["totals"]["value"]
    assert summary["projections_supported"] and value["low_95"] < value["low_80"] < value["expected"] < value["high_80"]
    assert "80 % interval" in r.stderr
    s = pd.read_csv(tmp_path / "s.csv")
    assert abs(s["clv"].sum() - value["expected"]) < 0.01 * value["expected"]
    assert (s["clv_low"] <= s["clv_high"]).all() and (s["clv_low_95"] <= s["clv_low"]).all()
    short = tmp_path / "short.csv"  # 37 days: the model cannot even be fitted — a refusal in words
    short.write_bytes(orders("short"))
    r = clv("score", "--model", "bgnbd", "--orders", str(short), "--out", str(tmp_path / "x.csv"))
    assert r.returncode != 0 and "the history covers 37 days" in r.stderr and "Traceback" not in r.stderr
    small = tmp_path / "small.csv"  # 130 customers, 67 repeat: the model fits, the rules say it is not enough
    small.write_bytes(orders("gap", customers=130))
    r = clv("score", "--model", "bgnbd", "--churn-model", "palive", "--orders", str(small), "--out",
            str(tmp_path / "small_scores.csv"))
    assert r.returncode == 0, r.stderr
    assert "PROJECTIONS LEFT EMPTY" in r.stderr and "67 customers bought more than once" in r.stderr
    assert "Gamma-Gamma spend model could not be used" in r.stderr  # the spend fallback is said, too
    summary = json.loads(r.stdout)
    assert not summary["projections_supported"] and "totals" not in summary
    assert summary["months_without_orders"] == [["2025-08-01", "2025-10-01"]]
    s = pd.read_csv(tmp_path / "small_scores.csv")
    assert s["clv"].isna().all() and s["churn_risk"].isna().all() and s["revenue"].notna().all()
