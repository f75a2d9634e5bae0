"""The analyst's command line: the same code path as the app, results as CSV/JSON, the report on stderr.

    python -m clv summary --orders orders.csv [--interactions events.csv] --out customers.csv
"""
from __future__ import annotations

import argparse
import sys

from .errors import DataError
from .ingest import FORMATS, ORDER_FIELDS, detect_format, sniff
from .store import Shop

__all__ = ["main"]


def _add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--orders", required=True, metavar="FILE",
                   help="orders export: CSV (any common delimiter; UTF-8, UTF-8 with BOM or Latin-1/cp1252), "
                        ".csv.gz or Parquet")
    p.add_argument("--interactions", metavar="FILE",
                   help="optional events export: customer id or email, timestamp, event type, [channel], [value]")
    p.add_argument("--format", choices=list(FORMATS), help="force the orders format instead of detecting it")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help=f"map a canonical field to a column of the orders file (repeatable); fields: "
                        f"{', '.join(ORDER_FIELDS)}; an empty COLUMN unmaps the field")
    p.add_argument("--currency", help="analyse orders in this currency when the file has several")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="observation date (default: the last order's date)")


def _load(args) -> Shop:
    shop = Shop(memory_limit=getattr(args, "memory_limit", None))
    mapping = None
    if args.map:
        mapping = detect_format(sniff(args.orders, shop.con).columns, args.format)
        overrides = {}
        for item in args.map:
            field, sep, column = item.partition("=")
            if not sep or field not in ORDER_FIELDS:
                raise DataError(f"--map {item!r} is not FIELD=COLUMN.", expected=f"FIELD one of {', '.join(ORDER_FIELDS)}.")
            overrides[field] = column
        mapping = mapping.with_columns(**overrides)
    report = shop.load_orders(args.orders, fmt=args.format, mapping=mapping, currency=args.currency)
    print(report, file=sys.stderr)
    if args.interactions:
        print(shop.load_interactions(args.interactions), file=sys.stderr)
    return shop


def cmd_summary(args) -> None:
    shop = _load(args)
    shop.customers_relation(as_of=args.as_of).write_csv(args.out)
    print(f"wrote {args.out}", file=sys.stderr)


def _segment_table(shop: Shop, args):
    from .segments import fit_clusters, segment_table
    customers = shop.customers(as_of=args.as_of)
    return customers, segment_table(customers, fit_clusters(customers, k=args.k))


def cmd_segments(args) -> None:
    _, table = _segment_table(_load(args), args)
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out} ({len(table):,} customers)", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m clv", description="Customer lifetime value and retention, "
                                 "from an orders export (Shopify, WooCommerce, Online Retail or any CSV).")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="write the customer table (one row per customer) as CSV",
                       description="Write the customer table: customer_id, first_order, last_order, orders, revenue, "
                                   "aov, frequency, recency_days, T_days, monetary_value, discount_share, refund_total "
                                   "and interaction features. The validation report goes to stderr.")
    _add_input_args(p)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write customers.csv")
    p.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit; larger work spills to disk")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("segments", help="write RFM scores and segments, clusters and behavioural segments",
                       description="One row per customer: customer_id, r_score, f_score, m_score, rfm_segment, "
                                   "cluster, cluster_name and a 0/1 column per behavioural segment (first_time, "
                                   "repeat, big_spender, high_aov, full_price, discount_shopper, cart_abandoner, vip).")
    _add_input_args(p)
    p.add_argument("--k", type=int, help="number of clusters (default: chosen by silhouette among 2..8)")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write segments.csv")
    p.set_defaults(func=cmd_segments)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
