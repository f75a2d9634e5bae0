"""Interactions: web/app events, e-mail engagement (Klaviyo metric names, generic activity columns), GA4 exports,
tickets, reviews, returns."""
from __future__ import annotations

import duckdb

from ..errors import DataError
from .dates import DATE_HELP, choose_date_format, date_sql
from .dialect import diagnose, is_ragged, source
from .fields import REQUIRED_INTERACTION_FIELDS, Mapping, is_email_column, norm, q
from .formats import FORMATS, GENERIC_COLUMNS, detect_format, detect_interaction_mapping
from .orders import check_mapping
from .report import LoadReport, examples
from .sniff import Sniff, open_inputs
from .values import install_macros
from .vocabulary import EVENT_ALIASES

__all__ = ["load_interactions"]


def load_interactions(con: duckdb.DuckDBPyConnection, paths, mapping: Mapping | None = None) -> LoadReport:
    """Read an events export into table ``interactions``: customer_id, event_ts, event_type, channel, value.

    Recognised event names are mapped to canonical types (``EVENT_ALIASES``); others are kept as they are
    (normalised) and counted in the report.
    """
    install_macros(con)
    with open_inputs(paths, con) as sn:
        if mapping is None:
            mapping = detect_interaction_mapping(sn.columns)
        if not mapping.columns.get("event_type"):
            _refuse_orders(sn.columns)
        check_mapping(mapping, sn.columns, REQUIRED_INTERACTION_FIELDS, "interactions")
        for padded in (False, True):
            try:
                with source(con, sn, "_src_events", padded=padded):
                    report = _load_interactions(con, sn, mapping)
                if padded:
                    report.warnings.append("some rows have fewer fields than the header: read as empty")
                return report
            except duckdb.Error as exc:
                if padded or not is_ragged(exc):
                    raise diagnose(sn, exc, "interactions") from None
    raise AssertionError("unreachable")


def _refuse_orders(columns) -> None:
    """An orders export in the interactions slot is named as such (it would otherwise fail on 'event type')."""
    try:
        fmt = detect_format(columns)
    except DataError:
        return
    amount = {norm(c) for c in columns} & set(GENERIC_COLUMNS["amount"])
    if fmt.format != "generic" or (fmt.columns.get("order_ts") and amount):
        raise DataError(f"This looks like an orders export ({FORMATS[fmt.format].label}): it has order amounts and "
                        "no event column.", expected="an events file in the interactions slot (customer, time, "
                                                     "event type); orders go in the orders slot.")


def _load_interactions(con, sn: Sniff, mapping: Mapping) -> LoadReport:
    aliases = {a: canon for canon, names in EVENT_ALIASES.items() for a in names}
    m = mapping.columns
    choice = choose_date_format(con, "_src_events", q(m["event_ts"]), label=" in the events file")
    ts_sql, params = date_sql(choice, "ts_raw")
    # an event repeated exactly is an export artefact (one event, not two): removed and counted
    row_hash = "hash(" + ", ".join(q(c) for c in sn.columns) + ")"
    rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT {row_hash}) FROM _src_events").fetchall()[0]
    src, duplicates = "_src_events", 0
    if rows != distinct:
        src = "(SELECT DISTINCT * FROM _src_events)"
        duplicates = rows - con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0]
    # a column used as an e-mail is compared without case (as the orders' customer column)
    cust = "lower(clv_id(cust_raw))" if is_email_column(m.get("customer_id")) else "clv_id(cust_raw)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _events_stage AS
        WITH ev AS (
            SELECT {_col(mapping, 'customer_id')} AS cust_raw, {_col(mapping, 'event_ts')} AS ts_raw,
                   {_col(mapping, 'event_type')} AS type_raw, {_col(mapping, 'channel')} AS channel_raw,
                   {_col(mapping, 'value')} AS value_raw
            FROM {src}),
        parsed AS (SELECT *, {cust} AS customer_id, {ts_sql} AS event_ts FROM ev)
        SELECT customer_id, event_ts,
               regexp_replace(lower(trim(type_raw)), '[^a-z0-9]', '', 'g') AS type_key,
               lower(trim(type_raw)) AS type_raw,
               nullif(lower(trim(channel_raw)), '') AS channel, clv_amount(value_raw, 'dot') AS value,
               cust_raw, ts_raw,
               CASE WHEN customer_id IS NULL THEN 'no customer id'
                    WHEN event_ts IS NULL THEN 'time could not be read'
                    WHEN nullif(trim(type_raw), '') IS NULL THEN 'no event type' END AS excluded_reason
        FROM parsed""", params)
    report = LoadReport("interactions", sn.description, "events", "Interaction events", mapping,
                        date_why=choice.why, date_ambiguous=choice.ambiguous)
    if choice.ambiguous:
        report.warnings.append(f"event dates are ambiguous: {choice.why}")
    report.rows_read, report.duplicates_removed = rows, duplicates
    report.excluded = examples(con, "_events_stage", "excluded_reason",
                               {"cust_raw": m["customer_id"], "ts_raw": m["event_ts"], "type_raw": m["event_type"]})
    labels = {"no customer id": m["customer_id"], "time could not be read": m["event_ts"], "no event type": m["event_type"]}
    report.excluded = {f"{r} (column '{labels[r]}')": v for r, v in report.excluded.items()}
    con.execute("""
        CREATE OR REPLACE TABLE interactions AS
        SELECT customer_id, event_ts,
               coalesce($canon[list_position($alias, type_key)],
                        regexp_replace(type_raw, '[^a-z0-9]+', '_', 'g')) AS event_type,
               list_contains($alias, type_key) AS known_type, channel, value
        FROM _events_stage WHERE excluded_reason IS NULL""", {"alias": list(aliases), "canon": list(aliases.values())})
    con.execute("DROP TABLE _events_stage")
    report.records_built = report.kept = con.execute("SELECT count(*) FROM interactions").fetchall()[0][0]
    _join_customers(con, report)
    if report.kept == 0:
        reason, info = max(report.excluded.items(), key=lambda kv: kv[1]["count"])
        raise DataError(f"No usable event in the interactions file: every row was excluded, mostly for '{reason}'.",
                        example=(info["examples"] or [None])[0],
                        expected=f"a customer id, a time ({DATE_HELP}) and an event type on each row.")
    report.customers, report.date_min, report.date_max = con.execute(
        "SELECT count(DISTINCT customer_id), min(event_ts), max(event_ts) FROM interactions").fetchall()[0]
    report.event_types = dict(con.execute(
        "SELECT event_type, count(*) FROM interactions GROUP BY ALL ORDER BY 2 DESC").fetchall())
    report.unknown_event_types = dict(con.execute(
        "SELECT event_type, count(*) FROM interactions WHERE NOT known_type GROUP BY ALL ORDER BY 2 DESC").fetchall())
    return report


#: below this share of events from customers in the orders, the join is said to be probably wrong
MIN_MATCHED = 0.5


def _join_customers(con, report: LoadReport) -> None:
    """Events keyed by e-mail join orders keyed by id through the orders' e-mail column (``customer_emails``);
    the report says how many events belong to a customer in the orders, and warns below MIN_MATCHED."""
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                                       "SELECT view_name FROM duckdb_views()").fetchall()}
    if "orders" not in names:
        return
    by_email = 0
    if "customer_emails" in names:
        by_email = con.execute("""
            SELECT count(*) FROM interactions i JOIN customer_emails e ON i.customer_id = e.email
            WHERE i.customer_id NOT IN (SELECT customer_id FROM orders)""").fetchall()[0][0]
        if by_email:
            con.execute("""
                UPDATE interactions SET customer_id = e.customer_id FROM customer_emails e
                WHERE interactions.customer_id = e.email
                  AND interactions.customer_id NOT IN (SELECT customer_id FROM orders)""")
    matched = con.execute("SELECT count(*) FROM interactions WHERE customer_id IN (SELECT customer_id FROM orders)"
                          ).fetchall()[0][0]
    report.matched = (int(matched), int(report.kept), int(by_email))
    share = matched / report.kept if report.kept else 0
    if by_email:
        report.notes.append(f"{by_email:,} events keyed by e-mail joined their customer through the orders' "
                            "e-mail column")
    if share < MIN_MATCHED:
        report.warnings.append(
            f"only {matched:,} of {report.kept:,} events ({share:.0%}) belong to a customer in the orders file: "
            "the two files probably name customers differently (an id in one, an e-mail in the other, or another "
            "system's ids). Map the events' customer column to the same key as the orders, or export the events "
            "with it; events of unknown customers are kept but feed no one's churn features.")


def _col(mapping: Mapping, f: str) -> str:
    c = mapping.columns.get(f)
    return q(c) if c else "NULL::VARCHAR"
