"""The analyst's command line: the same code path as the app, results as CSV/JSON, the report on stderr.

    python -m clv summary --orders orders.csv [--interactions events.csv] --out customers.csv
    python -m clv --help                      # every command: summary, segments, fit, backtest, score, tactics, report
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys

from . import defaults
from .errors import DataError, ModelError
from .ingest import FORMATS, INTERACTION_FIELDS, ORDER_FIELDS, detect_format, detect_interaction_mapping, sniff
from .store import Shop

__all__ = ["main"]


def _add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--orders", required=True, nargs="+", metavar="FILE",
                   help="orders export, or several parts of one (orders_export_1.csv orders_export_2.csv): CSV (any "
                        "common delimiter or aligned columns; UTF-8, UTF-8 with BOM, UTF-16, Latin-1 or cp1252), "
                        ".csv.gz, .zip, Excel (.xlsx/.xls) or Parquet")
    p.add_argument("--interactions", metavar="FILE",
                   help="optional events export: customer id or email, timestamp, event type, [channel], [value]")
    p.add_argument("--format", choices=list(FORMATS), help="force the orders format instead of detecting it")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help=f"map a canonical field to a column of the orders file (repeatable); fields: "
                        f"{', '.join(ORDER_FIELDS)}; an empty COLUMN unmaps the field")
    p.add_argument("--map-interactions", action="append", default=[], metavar="FIELD=COLUMN",
                   help=f"map a field to a column of the interactions file (repeatable); fields: "
                        f"{', '.join(INTERACTION_FIELDS)}")
    p.add_argument("--date-format", choices=["auto", "mdy", "dmy"], default="auto",
                   help="how dates like 03/04/2024 are read: mdy (month first), dmy (day first) or auto (from the "
                        "data and the platform; the report says when it is ambiguous)")
    p.add_argument("--decimal", choices=["auto", "dot", "comma"], default="auto",
                   help="decimal mark of amounts: dot (1,234.50), comma (1.234,50) or auto (from the whole column)")
    p.add_argument("--currency", help="analyse orders in this currency when the file has several")
    p.add_argument("--status", action="append", default=[], metavar="VALUE=purchase|not_purchase",
                   help="how orders with this status are counted (repeatable), e.g. --status past_due=not_purchase; "
                        "statuses clv does not know are counted as purchases and listed first in the output")
    p.add_argument("--amount-basis", choices=["goods", "paid"], default="goods",
                   help="revenue as what customers paid for goods, without tax and shipping where the export "
                        "separates them (goods, the default: margin applies to goods), or everything they paid "
                        "(paid); the report says which columns were used")
    p.add_argument("--fx", metavar="RATES.csv",
                   help="exchange rates to analyse every order in one currency: a CSV with columns currency,rate "
                        "(what 1 unit of that currency is worth in the analysed one, e.g. EUR,1.08 for USD)")
    p.add_argument("--product-costs", metavar="FILE",
                   help="a products file with a cost per unit per SKU (Shopify's products export: 'Variant SKU', "
                        "'Cost per item'; or any file with a SKU or product name and a cost): each order's margin is "
                        "then its own, and the measured margin is the default --margin")
    p.add_argument("--accept-exclusions", action="store_true",
                   help="go on when values that could not be read (dates, amounts) exclude more than 20%% of the "
                        "orders (by default that stops the run: the numbers from the rest would be wrong)")
    p.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="observation date (default: the last date in the file, returns included)")


def _overrides(items: list[str], fields: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or field not in fields:
            raise DataError(f"{flag} {item!r} is not FIELD=COLUMN.", expected=f"FIELD one of {', '.join(fields)}.")
        out[field] = column
    return out


def _statuses(items: list[str]) -> tuple:
    out = []
    for item in items:
        value, sep, how = item.rpartition("=")
        if not sep or not value.strip() or how not in ("purchase", "not_purchase"):
            raise DataError(f"--status {item!r} is not VALUE=purchase or VALUE=not_purchase.",
                            expected="e.g. --status past_due=not_purchase or --status 'En cours'=purchase.")
        out.append((value.strip(), how))
    return tuple(out)


def read_rates(path) -> tuple:
    """(currency, rate) pairs from a CSV of currency,rate (a header row is optional)."""
    import csv
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except OSError as exc:
        raise DataError(f"The rates file {path} cannot be read ({exc.strerror}).",
                        expected="a CSV with columns currency,rate.") from None
    out = []
    for i, row in enumerate(rows, 1):
        if len(row) < 2:
            raise DataError(f"Line {i} of the rates file has no rate.", example={"line": ",".join(row)},
                            expected="currency,rate — e.g. EUR,1.08")
        try:
            rate = float(row[1])
        except ValueError:
            if i == 1:
                continue  # a header
            raise DataError(f"Line {i} of the rates file has a rate that is not a number.", column="rate",
                            example={"currency": row[0], "rate": row[1]}, expected="a number like 1.08") from None
        out.append((row[0].strip().upper(), rate))
    return tuple(out)


def unknown_statuses_line(report) -> str:
    shown = ", ".join(f"{s!r} ({n:,} order{'' if n == 1 else 's'})" for s, n in report.unrecognised_statuses.items())
    first = next(iter(report.unrecognised_statuses))
    return (f"STATUSES NOT RECOGNISED, counted as purchases: {shown}. If one is not a paid order, say so: "
            f"--status {first!r}=not_purchase (or =purchase to confirm).")


def _load(args, one_run: bool = False) -> Shop:
    """The shop of the command's files; ``one_run``: DuckDB keeps the memory it is allowed (Shop's ``one_run``)."""
    shop = Shop(memory_limit=getattr(args, "memory_limit", None), one_run=one_run)
    orders = args.orders if len(args.orders) > 1 else args.orders[0]
    mapping = None
    costs = None
    if getattr(args, "product_costs", None):
        from .ingest.costs import read_product_costs
        costs = read_product_costs(args.product_costs, shop.con)
        print("\n".join(costs.lines()), file=sys.stderr)
    if args.map or args.date_format != "auto" or args.decimal != "auto" or args.status or args.accept_exclusions \
            or args.amount_basis != "goods" or args.fx or costs:
        mapping = detect_format(sniff(orders, shop.con).columns, args.format)
        mapping = mapping.with_columns(**_overrides(args.map, ORDER_FIELDS, "--map"))
        mapping = mapping.with_options(date_order=args.date_format, decimal=args.decimal,
                                       statuses=_statuses(args.status), accept_exclusions=args.accept_exclusions,
                                       amount_basis=args.amount_basis,
                                       fx_rates=read_rates(args.fx) if args.fx else (),
                                       product_costs=costs.costs if costs else ())
    report = shop.load_orders(orders, fmt=args.format, mapping=mapping, currency=args.currency)
    if report.unrecognised_statuses:
        print(unknown_statuses_line(report), file=sys.stderr)
    print(report, file=sys.stderr)
    if args.interactions:
        events_mapping = None
        if args.map_interactions:
            events_mapping = detect_interaction_mapping(sniff(args.interactions, shop.con).columns).with_columns(
                **_overrides(args.map_interactions, INTERACTION_FIELDS, "--map-interactions"))
        print(shop.load_interactions(args.interactions, mapping=events_mapping), file=sys.stderr)
    if hasattr(args, "margin"):  # the measured margin when the orders carry product costs, else --margin's default
        from .margins import shop_margin
        given = defaults.MARGIN if args.margin is None else args.margin
        margin = shop_margin(shop, given, use_costs=args.margin is None, as_of=_as_of_date(args))
        args.margin = margin.rate
        print(margin.words(), file=sys.stderr)
    return shop


def _as_of_date(args):
    import datetime as dt
    return dt.date.fromisoformat(str(args.as_of)[:10]) if getattr(args, "as_of", None) else None


def cmd_summary(args) -> None:
    shop = _load(args)
    from .export import write_table
    write_table(shop.con, shop.customers_relation(as_of=args.as_of), args.out, raw=args.raw)
    print(f"wrote {args.out}", file=sys.stderr)


def cmd_segments(args) -> None:
    from .export import write_table
    from .segments import fit_clusters, segment_table
    shop = _load(args)
    customers = shop.customers(as_of=args.as_of)
    table = segment_table(customers, fit_clusters(customers, k=args.k))
    write_table(shop.con, table, args.out, raw=args.raw)
    print(f"wrote {args.out} ({len(table):,} customers)", file=sys.stderr)


def _finite(obj):
    """NaN and infinities become null: JSON has no NaN, and a reader must not take one for a number."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return _finite(obj.item())
    return obj


def _json(obj) -> None:
    print(json.dumps(_finite(obj), indent=2, default=str, allow_nan=False))


def cmd_cuts(args) -> None:
    from .cuts import CUTS, cohort_ltv, ltv_by, require_field
    from .export import write_table
    shop = _load(args)
    if args.by == "cohort":
        table = cohort_ltv(shop, args.margin, args.as_of)
    else:
        require_field(shop, args.by)  # before any model is fitted: the missing column is said at once
        scored = None
        if args.projected:
            from .scoring import score_table
            scored = score_table(shop, args.as_of, args.horizon_months, args.discount_rate, args.margin,
                                 churn="palive", model=_purchase_model(args, shop))
        table = ltv_by(shop, args.by, scored, args.as_of, args.top, args.min_customers)
        print(f"note: {table.attrs['note']}", file=sys.stderr)
    write_table(shop.con, table, args.out, raw=args.raw)
    what = "cohort curves" if args.by == "cohort" else f"LTV by {CUTS[args.by].label}"
    print(f"wrote {args.out} ({what}, {len(table):,} rows)", file=sys.stderr)


def cmd_fit(args) -> None:
    from .value import fit_value_model
    shop = _load(args)
    customers = shop.customers(as_of=args.as_of, calibration_end=args.calibration_end)
    vm = fit_value_model(customers, model=_purchase_model(args, shop))
    for w in vm.spend.warnings_:
        print(f"warning: {w}", file=sys.stderr)
    _json({"customers": len(customers), "time_unit": "days",
           "purchase_model": vm.purchases.label,
           "purchases": {k: float(v) for k, v in vm.purchases.params_.items()},
           "purchases_std_errors": vm.purchases.summary["std_error"].to_dict(),
           "spend_model": vm.spend.label, "spend": {k: float(v) for k, v in vm.spend.params_.items()},
           "spend_std_errors": vm.spend.summary["std_error"].to_dict(),
           "log_likelihood": vm.purchases.log_likelihood_,
           "frequency_monetary_correlation": vm.spend.frequency_monetary_correlation_})


def cmd_backtest(args) -> None:
    from .value import backtest
    shop = _load(args)
    end = args.holdout_end or shop.purchase_span()[1]
    calibration = shop.customers(calibration_end=args.calibration_end)
    bt = backtest(calibration, shop.holdout(args.calibration_end, end), args.calibration_end, end,
                  model=_purchase_model(args, shop))
    print(bt.in_words(), file=sys.stderr)
    from .value import baseline_predictions, holdout_metrics
    actual = bt.per_customer["actual_purchases"].to_numpy()
    rules = baseline_predictions(calibration, bt.holdout_days)
    baselines = {k: {"in_words": words, **holdout_metrics(pred, actual)} for k, (words, pred) in rules.items()}
    _json({"purchase_model": bt.model.purchases.label, "calibration_end": str(bt.calibration_end),
           "holdout_end": str(bt.holdout_end),
           "holdout_days": bt.holdout_days, **bt.totals,
           "interval_80": [bt.interval.low[0.8], bt.interval.high[0.8]],
           "interval_95": [bt.interval.low[0.95], bt.interval.high[0.95]],
           "missed_beyond_its_interval": bt.missed_beyond_interval, "baselines": baselines,
           "by_frequency": bt.by_frequency.reset_index().to_dict(orient="records")})


def cmd_score(args) -> None:
    if args.engine == "spark":
        return _score_on_spark(args)
    if args.batch_customers < 0:
        raise DataError(f"--batch-customers {args.batch_customers} is not a number of customers.",
                        expected="a positive number of customers per slice, or 0 to score everyone at once.")
    churn_model = args.churn_model == "model" or (args.churn_model == "auto" and bool(args.interactions))
    # scored in slices unless the interaction-aware churn model is wanted; the slices never move DuckDB's tables out
    # of memory to make room for pandas, so DuckDB may keep the memory it is allowed (Shop's one_run)
    streamed = bool(args.batch_customers) and not churn_model
    shop = _load(args, one_run=streamed)
    try:  # --model auto: the backtest's choice, its words among the notes and its miss widening the intervals
        if streamed:
            return _score_streamed(shop, args, args.model)
        from .scoring import score_table
        details: dict = {}
        table = score_table(shop, args.as_of, args.horizon_months, args.discount_rate, args.margin,
                            args.churn_model, offload=True, model=args.model, details=details)
    except ModelError as exc:
        _say_what_the_data_lacks(shop, args, exc)
    if "churn_model_why" in table.attrs:
        print(table.attrs["churn_model_why"], file=sys.stderr)
    summary = _score_summary(len(table), details, args)
    if not details["readiness"].ok:
        from .scoring import PROJECTION_COLUMNS
        for col in PROJECTION_COLUMNS:
            if col in table:
                table[col] = None
    else:
        _say_total(summary, details["shop_intervals"], float(table["clv"].sum()), args)
    from .export import write_table
    from .store import release_memory
    release_memory()  # what the models held: a few hundred MB at 3.3M customers, before the CSV writer needs its own
    write_table(shop.con, table, args.out, raw=args.raw)
    print(f"wrote {args.out} ({len(table):,} customers)", file=sys.stderr)
    _json(summary)


def _score_streamed(shop, args, model: str) -> None:
    """score without the interaction-aware churn model: slice by slice (clv.streamed), in memory bounded by
    --batch-customers and --memory-limit rather than by the number of customers; the same table as in memory."""
    from .streamed import score_streamed, write_streamed
    run = score_streamed(shop, args.as_of, args.horizon_months, args.discount_rate, args.margin, model,
                         batch_rows=args.batch_customers)
    details = {"readiness": run.readiness, "notes": run.notes}
    summary = _score_summary(run.customers, details, args)
    written, clv_total = write_streamed(shop.con, run, args.out, raw=args.raw, projections=run.readiness.ok)
    if run.readiness.ok:
        _say_total(summary, run.shop_intervals, clv_total, args)
    print("stages: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.stages.items()), file=sys.stderr)
    print(f"wrote {args.out} ({written:,} customers, scored in slices of {run.slice_customers:,})", file=sys.stderr)
    _json(summary)


def _say_what_the_data_lacks(shop, args, exc: ModelError):
    """A purchase model that cannot be fitted: say first what the data lacks, in the words the pages use; the
    model's own after."""
    from .readiness import assess
    ready = assess(shop.customers(as_of=args.as_of), shop.purchase_months(args.as_of), model_problem=str(exc))
    raise ModelError(f"{ready.in_words().split(' What your data')[0]} (The purchase model said: {exc})") from exc


def _score_summary(customers: int, details: dict, args) -> dict:
    """What ``score`` says beside its table (stderr in words, stdout as JSON): whether the data supports the
    projections — when it does not, their columns are left empty — and every fallback the models took."""
    ready, notes = details["readiness"], details["notes"]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    out = {"customers": customers, "horizon_months": args.horizon_months, "projections_supported": ready.ok,
           "history_days": ready.history_days, "repeat_customers": ready.repeat_customers,
           "months_without_orders": [[str(a), str(b)] for a, b in ready.gaps], "notes": notes}
    if ready.gaps:
        print(f"note: {ready.gaps_in_words()}", file=sys.stderr)
    if not ready.ok:
        print(f"PROJECTIONS LEFT EMPTY: {ready.in_words().split(' What your data')[0]}", file=sys.stderr)
        out["why_not"] = ready.reasons
    return out


def _say_total(out: dict, intervals: dict, clv_total: float, args) -> None:
    """The shop's projected value with its 80/95 % intervals: into the summary and, in words, to stderr."""
    value = intervals["revenue"].scaled("value", clv_total)
    out["totals"] = {k: v.as_dict() for k, v in {**intervals, "value": value}.items()}
    print(f"Projected value of all customers over {args.horizon_months} months: {value.expected:,.2f} "
          f"(80 % interval {value.low[0.8]:,.2f} to {value.high[0.8]:,.2f}; 95 % {value.low[0.95]:,.2f} to "
          f"{value.high[0.95]:,.2f}).", file=sys.stderr)


def _score_on_spark(args) -> None:
    """score --engine spark: the same table from Spark (clv.spark), written as a Parquet folder."""
    if args.date_format != "auto" or args.decimal == "comma" or args.map_interactions:
        raise DataError("--engine spark reads ISO times, decimal points and the events file's own column names.",
                        expected="no --date-format, --decimal comma or --map-interactions with --engine spark.")
    if args.churn_model == "model":
        raise DataError("--engine spark scores churn risk from the purchase model only.",
                        expected="--churn-model palive (or auto) with --engine spark.")
    options = dict(statuses=_statuses(args.status), amount_basis=args.amount_basis,
                   fx_rates=read_rates(args.fx) if args.fx else ())
    if args.product_costs:  # a products file: small, read on the driver, matched by SKU or name on the executors
        from .ingest.costs import read_product_costs
        costs = read_product_costs(args.product_costs)
        print("\n".join(costs.lines()), file=sys.stderr)
        options["product_costs"] = costs.costs
    model = "bgnbd" if args.model == "auto" else args.model
    if args.model == "auto":
        print("purchase model: BG/NBD (--engine spark does not run the backtest comparison; choose one with "
              "--model)", file=sys.stderr)
    from .spark import score_files, session
    spark = session(args.master)
    try:
        done = score_files(spark, args.orders, args.out, args.interactions, args.format,
                           _overrides(args.map, ORDER_FIELDS, "--map"), args.currency, args.as_of,
                           args.horizon_months, args.discount_rate, args.margin, model, options=options)
    finally:
        spark.stop()
    print(done["margin"].words(), file=sys.stderr)
    for w in done["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    print(f"fitted on {done['rows_fitted']:,} distinct (frequency, recency, T) rows and {done['pairs_fitted']:,} "
          f"distinct (frequency, monetary value) pairs; as of {done['as_of']}", file=sys.stderr)
    print("stages: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in done["stages"].items()),
          file=sys.stderr)
    print(f"wrote {args.out} ({done['customers']:,} customers, Parquet)", file=sys.stderr)


def cmd_tactics(args) -> None:
    from pathlib import Path

    from .export import to_safe_csv, write_table
    from .scoring import score_table
    from .tactics import CATALOGUE, rank_tactics, tactic_features, target_list
    shop = _load(args)
    features = tactic_features(score_table(shop, args.as_of, args.horizon_months, args.discount_rate, args.margin,
                                           model=_purchase_model(args, shop)))
    ranked = rank_tactics(features, args.margin)
    cols = ["tactic", "customers", "value_at_stake", "expected_gain", "cost", "roi", "gross_gain", "name", "kind",
            "channel", "uplift", "cost_per_customer"]
    write_table(shop.con, ranked[cols], args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    if args.lists:
        from .campaigns import campaign_file, campaign_id_of
        out = Path(args.lists)
        out.mkdir(parents=True, exist_ok=True)
        created = dt.date.fromisoformat(args.campaign_date) if args.campaign_date else dt.date.today()
        from .send import send_file
        for row in CATALOGUE.itertuples(index=False):
            lst = target_list(features, row.tactic, args.margin, control_share=args.control_share, seed=args.seed)
            record = campaign_file(lst, row.tactic, created, args.seed, args.control_share)
            send = send_file(lst, args.send_format, row.tactic, campaign_id_of(row.tactic, created, args.seed), row.name)
            (out / f"{row.tactic}.send.csv").write_bytes(send.content)
            (out / f"{row.tactic}.campaign.csv").write_bytes(to_safe_csv(record))
        print(f"wrote {len(CATALOGUE)} send files to {out}/ (<tactic>.send.csv: the treatment group only, "
              f"{args.send_format} format) with a campaign file each (<tactic>.campaign.csv: both groups): send the "
              "first, keep the second and measure the campaign later with `python -m clv measure`", file=sys.stderr)


def cmd_measure(args) -> None:
    from pathlib import Path

    from .campaigns import measure_on, read_campaigns
    from .export import write_table
    from .tactics import CATALOGUE
    rows, notes = read_campaigns([Path(p).read_bytes() for p in args.campaign])
    shop = _load(args)
    costs = CATALOGUE.set_index("tactic")["cost_per_customer"].to_dict()
    if args.cost_per_customer is not None:
        costs = args.cost_per_customer
    m = measure_on(shop, rows, notes, args.margin, costs, args.window_days)
    for note in m.notes:
        print(f"note: {note}", file=sys.stderr)
    write_table(shop.con, m.results, args.out)
    summary = {"campaigns": [{k: _finite(v) for k, v in r.items()} for r in m.results.to_dict("records")],
               "notes": m.notes}
    print(json.dumps(summary, default=str, indent=1))


def cmd_report(args) -> None:
    from pathlib import Path

    from .report import build_report, data_notes, projection_notes
    from .scoring import score_table
    from .tactics import rank_tactics, tactic_features
    shop = _load(args)
    model = _purchase_model(args, shop)
    details: dict = {}
    scored = score_table(shop, args.as_of, args.horizon_months, args.discount_rate, args.margin, model=model,
                         details=details)
    ready, intervals, notes = details["readiness"], details["shop_intervals"], tuple(details["notes"])
    if getattr(args, "comparison_why", None):
        notes = (args.comparison_why,) + notes
    ranked = rank_tactics(tactic_features(scored), args.margin) if ready.ok else None
    how_sure = projection_notes(ready, intervals, float(scored["clv"].sum()), args.horizon_months,
                                shop.orders_report.currency, notes)
    comparison = getattr(args, "comparison_table", None)
    Path(args.out).write_text(build_report(shop.monthly(args.as_of), shop.cohorts(args.as_of), scored, ranked,
                                           args.horizon_months,
                                           args.margin, args.discount_rate, source=", ".join(args.orders),
                                           currency=shop.orders_report.currency,
                                           data_notes=data_notes(shop.orders_report), how_sure=how_sure,
                                           comparison=comparison, supported=ready.ok), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


def cmd_digest(args) -> None:
    from pathlib import Path

    from .campaigns import read_campaigns
    from .digest import build_digest, render
    from .export import read_scored
    shop = _load(args)
    previous = read_scored(args.previous) if args.previous else None
    campaigns = read_campaigns([Path(p).read_bytes() for p in args.campaign]) if args.campaign else None
    d = build_digest(shop, args.days, args.as_of, args.margin, args.horizon_months, args.discount_rate, args.model,
                     previous=previous, campaigns=campaigns, source=", ".join(Path(o).name for o in args.orders))
    Path(args.out).write_text(render(d), encoding="utf-8")
    print(json.dumps({"start": d.start, "end": d.end,
                      "figures": {k: {"now": _finite(a), "before": _finite(b), "change": _finite(c)}
                                  for k, (a, b, c) in d.figures.items()},
                      "comparison_note": d.comparison_note, "projections": d.ready, "why_not": d.why_not,
                      "worth_saving": d.worth_saving, "worth_saving_value_at_stake": _finite(d.worth_value),
                      "newly_worth_saving": d.newly_worth_saving, "best_tactic": d.best_tactic,
                      "campaigns": [{"campaign_id": c, "verdict": v} for c, v in d.campaigns]},
                     default=str, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)


def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=["auto", *defaults.PURCHASE_MODEL_NAMES], default="auto",
                   help="purchase model: bgnbd (BG/NBD), mbgnbd (MBG/NBD: one-time buyers can be gone), pareto_nbd "
                        "(Pareto/NBD: customers can leave at any time) or auto "
                        "(the one with the lower backtest error per customer on your own history, as in the app)")


def _purchase_model(args, shop) -> str:
    """The --model asked for, or (auto) the backtest's choice, said on stderr."""
    if args.model != "auto":
        return args.model
    from .value import COMPARE_MAX_CUSTOMERS, compare_purchase_models
    as_of = getattr(args, "as_of", None)  # nothing after the as-of date chooses the model
    cal, end = shop.default_calibration_end(as_of=as_of), shop.purchase_span(as_of)[1]
    try:  # as the app's pipeline (clv.pipeline._comparison)
        calibration, holdout, weekly, population = shop.backtest_tables(cal, end, COMPARE_MAX_CUSTOMERS)
        comparison = compare_purchase_models(calibration, holdout, cal, end, weekly=weekly, population=population)
    except ModelError:
        return "bgnbd"  # the fit itself then says why
    print(comparison.why, file=sys.stderr)
    args.comparison_why, args.comparison_table = comparison.why, comparison.table  # for the report and the JSON
    return comparison.best


def _add_value_args(p: argparse.ArgumentParser) -> None:
    _add_model_arg(p)
    p.add_argument("--horizon-months", type=int, default=defaults.HORIZON_MONTHS, choices=range(1, 25), metavar="1..24")
    p.add_argument("--discount-rate", type=float, default=defaults.DISCOUNT_RATE,
                   help=f"yearly, e.g. 0.1 for 10 %% (default {defaults.DISCOUNT_RATE})")
    p.add_argument("--margin", type=float, default=None,
                   help=f"gross margin as a share of revenue for projections and orders without a product cost "
                        f"(default: measured from the orders' product costs, else {defaults.MARGIN}, as in the app)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m clv", description="Customer lifetime value and retention, "
                                 "from an orders export (Shopify, WooCommerce, BigCommerce, Squarespace, Etsy, Wix, Magento, PrestaShop, Stripe, "
                                 "Square, Gumroad, UCI Online Retail or any table with a customer, a date and an amount).")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="write the customer table (one row per customer) as CSV",
                       description="Write the customer table: customer_id, first_order, last_order, orders, revenue, "
                                   "aov, frequency, recency_days, T_days, monetary_value, discount_share, refund_total "
                                   "and interaction features. The validation report goes to stderr.")
    _add_input_args(p)
    p.add_argument("--out", required=True, metavar="FILE",
                   help="where to write customers.csv (or .csv.gz, .parquet: the name says the format)")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit; larger work spills to disk")
    p.add_argument("--raw", action="store_true",
                   help="write text cells exactly as in the data; by default a cell starting with = + - @ gets a "
                        "leading apostrophe so spreadsheets do not run it as a formula")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("segments", help="write RFM scores and segments, clusters and behavioural segments",
                       description="One row per customer: customer_id, r_score, f_score, m_score, rfm_segment, "
                                   "cluster, cluster_name and a 0/1 column per behavioural segment (first_time, "
                                   "repeat, big_spender, high_aov, full_price, discount_shopper, cart_abandoner, vip).")
    _add_input_args(p)
    p.add_argument("--k", type=int, help="number of clusters (default: chosen by silhouette among 2..8)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="where to write segments.csv (or .csv.gz, .parquet: the name says the format)")
    p.add_argument("--raw", action="store_true",
                   help="write text cells exactly as in the data; by default a cell starting with = + - @ gets a "
                        "leading apostrophe so spreadsheets do not run it as a formula")
    p.set_defaults(func=cmd_segments)

    p = sub.add_parser("cuts", help="LTV cuts: cumulative value by cohort, or value by first product, discount code, "
                                    "channel or country (CSV)",
                       description="--by cohort: cumulative revenue and margin per customer by acquisition month and "
                                   "months since the first order (cohort, months_since_first, customers, "
                                   "cumulative_revenue_per_customer, cumulative_margin_per_customer, complete). "
                                   "Any other --by: one row per group of the first purchase's trait (group, customers, "
                                   "share, revenue_per_customer, revenue_median, revenue_ci_low/high: 95 %% t-interval, "
                                   "repeat_rate, median_days_to_second_order, projected_clv_per_customer with "
                                   "--projected, scored_customers, small, folded_groups). Revenue counts returns as the "
                                   "customer table does.")
    _add_input_args(p)
    p.add_argument("--by", required=True,
                   choices=["first_product", "discount_code", "discounted", "channel", "country", "cohort"],
                   help="discounted: discounted vs full-price first order")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="where to write the table (.csv, .csv.gz or .parquet: the name says the format)")
    p.add_argument("--top", type=int, default=20, help="groups shown by name; the rest are folded into '(other)'")
    p.add_argument("--min-customers", type=int, default=30, help="groups with fewer customers are flagged small")
    p.add_argument("--projected", action="store_true",
                   help="also fit the value model and add each group's mean projected CLTV (slower)")
    _add_value_args(p)
    p.add_argument("--raw", action="store_true",
                   help="write text cells exactly as in the data; by default a cell starting with = + - @ gets a "
                        "leading apostrophe so spreadsheets do not run it as a formula")
    p.set_defaults(func=cmd_cuts)

    p = sub.add_parser("fit", help="fit BG/NBD and Gamma-Gamma; JSON parameters on stdout (time unit: days)")
    _add_input_args(p)
    p.add_argument("--calibration-end", metavar="YYYY-MM-DD", help="fit only on orders up to this date")
    _add_model_arg(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("backtest", help="fit up to a date, predict the rest; JSON comparison on stdout")
    _add_input_args(p)
    p.add_argument("--calibration-end", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--holdout-end", metavar="YYYY-MM-DD", help="default: the last order's date")
    _add_model_arg(p)
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("score", help="customer table + p_alive, churn_risk, expected_purchases, clv, segments")
    _add_input_args(p)
    _add_value_args(p)
    p.add_argument("--churn-model", choices=["auto", "palive", "model"], default="auto",
                   help="churn_risk from 1 - P(alive), from the interaction-aware model when it scores better "
                        "on the holdout, or auto (the model only when interactions are given)")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit; larger work spills to disk")
    p.add_argument("--batch-customers", type=int, default=defaults.BATCH_CUSTOMERS, metavar="N",
                   help=f"score the customers in slices of N (default {defaults.BATCH_CUSTOMERS:,}, "
                        f"{defaults.SCORE_WORKERS} slices at once): memory is bounded by N and --memory-limit, not by "
                        "the shop's size. 0 scores everyone at once. The interaction-aware churn model "
                        "(--churn-model model, or auto with --interactions) scores everyone at once")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                   help="duckdb (embedded, default; writes what --out names: .csv, .csv.gz or .parquet) or spark (pyspark; Parquet/CSV files or folders, "
                        "Delta with delta-spark; writes a Parquet folder; see README 'Running on Spark')")
    p.add_argument("--master", help="Spark master URL with --engine spark (default local[*])")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--raw", action="store_true",
                   help="write text cells exactly as in the data; by default a cell starting with = + - @ gets a "
                        "leading apostrophe so spreadsheets do not run it as a formula")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("tactics", help="rank retention tactics by expected gain; optional target lists per tactic",
                       description="Writes the ranking (tactic, customers, value_at_stake, expected_gain, cost, roi) "
                                   "and, with --lists, one CSV per tactic with a random control group.")
    _add_input_args(p)
    _add_value_args(p)
    p.add_argument("--out", required=True, metavar="FILE",
                   help="where to write tactics.csv (or .csv.gz, .parquet: the name says the format)")
    p.add_argument("--lists", metavar="DIR", help="also write one send file (treatment only) and one campaign file "
                                                  "(both groups) per tactic into DIR")
    from .send import SEND_FORMATS
    p.add_argument("--send-format", choices=list(SEND_FORMATS), default="plain",
                   help="the send files' format: plain CSV, Klaviyo or Mailchimp import, Meta Custom Audience or "
                        "Google Customer Match (e-mails normalised and SHA-256 hashed)")
    p.add_argument("--control-share", type=float, default=defaults.CONTROL_SHARE, help="share of each list held out as control")
    p.add_argument("--seed", type=int, default=0, help="seed of the control-group draw")
    p.add_argument("--campaign-date", metavar="YYYY-MM-DD", help="the day the lists are sent (default: today); "
                                                                 "measurement starts the day after")
    p.set_defaults(func=cmd_tactics)

    p = sub.add_parser("measure", help="measure campaigns sent to target lists against their control groups",
                       description="Reads campaign files (written next to each target list by `tactics --lists` or "
                                   "downloaded from the playbook) and an orders export newer than the campaigns; writes "
                                   "per campaign the groups' buyers, orders and margin, the uplift with 95 % intervals "
                                   "and a verdict (CSV), and the same as JSON on stdout.")
    p.add_argument("--campaign", required=True, nargs="+", metavar="FILE", help="campaign file(s)")
    _add_input_args(p)
    p.add_argument("--window-days", type=int, help="measure N days after each campaign's date (default: up to the "
                                                   "last date in the orders)")
    p.add_argument("--margin", type=float, default=None,
                   help=f"gross margin as a share of revenue for orders without a product cost (default: measured "
                        f"from the orders' product costs, else {defaults.MARGIN})")
    p.add_argument("--cost-per-customer", type=float,
                   help="what one contact cost (default: the tactic's cost in the playbook's catalogue)")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the results (.csv, .csv.gz or .parquet)")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("digest", help="write the weekly digest: one e-mail-ready HTML page of what changed in the "
                                      "last period (for a cron job); its figures as JSON on stdout")
    _add_input_args(p)
    _add_value_args(p)
    p.add_argument("--days", type=int, default=7,
                   help="the period: this many days up to --as-of, the period's last day (default 7)")
    p.add_argument("--previous", metavar="SCORED",
                   help="a scored table from an earlier `score` run (CSV or Parquet): the digest says who newly "
                        "became worth saving since")
    p.add_argument("--campaign", nargs="+", metavar="FILE", help="campaign files to measure up to the as-of date")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write digest.html")
    p.set_defaults(func=cmd_digest)
    p = sub.add_parser("report", help="write the one-file HTML report (interactive charts)")
    _add_input_args(p)
    _add_value_args(p)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write report.html")
    p.set_defaults(func=cmd_report)
    return ap


def _check_output(args) -> None:
    """An output whose name says no format we write is refused before any work (see clv.export.table_format)."""
    from .export import table_format
    if args.func in (cmd_report, cmd_digest) or not getattr(args, "out", None):
        return
    if getattr(args, "engine", None) == "spark":
        if table_format(args.out) != ".parquet":
            raise DataError("--engine spark writes a Parquet folder.", expected="--out ending in .parquet.")
        return
    table_format(args.out)


#: the signal that asked the run to stop (``stop``), 0 while none has
_stopped_by = [0]


def stop(signum, frame) -> None:
    """The handler of SIGTERM and SIGINT when clv runs as a program (clv/__main__.py): stop as Ctrl-C does, through
    every ``finally`` and the exit handlers — they remove DuckDB's spill folder (tens of GB at 100M orders) and the
    unfinished output file, which Python's default for SIGTERM (end on the spot) leaves behind. A DuckDB query
    running at that moment is interrupted and raises its own error; ``main`` says why in one line either way."""
    _stopped_by[0] = signum
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        try:
            _check_output(args)
            args.func(args)
        except Exception:
            if _stopped_by[0]:  # a query interrupted by the stop: its error is the stop's
                raise KeyboardInterrupt from None
            raise
    except KeyboardInterrupt:
        print("stopped before the end: a file it had not finished is not written (an --out file is as it was), and "
              "its temporary files are removed.", file=sys.stderr)
        return 128 + (_stopped_by[0] or 2)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that does not exist, no permission, a full disk: one line, not a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return 2
    return 0
