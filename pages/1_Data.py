"""Your data: upload exports, check what was understood, fix the mapping, download the customer table."""
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from clv.errors import DataError
from clv.formatting import SYMBOLS
from clv.ingest.costs import read_product_costs
from clv.ingest import (AMOUNT_BASES, DATE_ORDERS, DECIMALS, FIELD_LABELS, FORMATS, INTERACTION_FIELDS, ORDER_FIELDS, REQUIRED_INTERACTION_FIELDS,
                        REQUIRED_ORDER_FIELDS, detect_format, detect_interaction_mapping, sniff)
from ui.common import (count, download_csv, keep_widgets, load_shop, memo, page_setup, plain, refuse_upload, reopen,
                       show_sample, shop as current_shop, unknown_statuses_banner, upload_dir)
from ui.model import customers_table
from ui.workspace import WIDGET_PREFIXES, remember, workspace

settings = page_setup("Your data")
# the mapping, format, date-order and decimal choices outlive a visit to another page
keep_widgets("data", WIDGET_PREFIXES)
st.title("Your data")
st.write("Drop the orders export you already have — Shopify, WooCommerce, BigCommerce, Squarespace, Etsy, Wix, "
         "Magento, PrestaShop, Shopware, OpenCart, Amazon (Fulfilled Shipments), Stripe, Square, PayPal, Recurly, "
         "Chargebee, Paddle, Lemon Squeezy, Gumroad, an invoice-line file like UCI *Online Retail*, or any table "
         "with a customer, a date and an amount (CSV, Excel, Parquet; an export in several parts as one .zip). "
         "Interactions (site events, email opens, support tickets, reviews) are optional and sharpen the churn model.")

NONE = "— none —"
STATUS_KEY = "status_"  # + a status as the file writes it: the founder's choice for it ("purchase"/"not_purchase")


def _save(uploads: list, slot: str) -> str | tuple:
    """Store this slot's upload(s); the path(s) to read. A new orders upload waits in the session's folder until it
    loads, and only then becomes a data set of the visitor's workspace (``keep_as_dataset``): a file that is refused
    is never kept. Interactions join the current data set; next to the sample shop (or an upload not loaded yet)
    they wait in the session's folder too."""
    ds = st.session_state.get("dataset") if slot != "orders" and not st.session_state["orders_src"].get("fresh") \
        else None
    if ds:
        paths = [str(p) for p in workspace().add_files(ds, "orders" if slot == "orders" else "events",
                                                       [(up.name, up.getvalue()) for up in uploads])]
    else:
        for old in upload_dir().glob(f"{slot}-*"):
            old.unlink()  # the previous upload of this slot is no longer needed
        paths = []
        for up in uploads:
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", up.name)[-80:] or "upload.csv"
            target = upload_dir() / f"{slot}-{up.file_id}-{safe}"
            target.write_bytes(up.getbuffer())
            paths.append(str(target))
    return paths[0] if len(paths) == 1 else tuple(paths)


def your_data_sets(box) -> None:
    """The workspace's data sets, with open and delete (drawn into ``box``, once this run's upload is stored)."""
    sets = workspace().datasets()
    current = st.session_state.get("dataset")
    with box.expander(f"Your data sets ({len(sets)})", expanded=bool(sets) and current is None):
        if not sets:
            st.caption("Files you upload are kept here on the server, so a reload or a later visit opens them again. "
                       "Nothing uploaded yet.")
        for d in sets:
            c1, c2, c3 = st.columns([5, 1, 1])
            opened = str(d["opened"] or "")[:16].replace("T", " ")
            c1.markdown(f"**{plain(d['name'])}** · "
                        + ("damaged: its description cannot be read; delete it and upload the file again"
                           if d["damaged"] else f"last opened {plain(opened)} UTC")
                        + (" · *open now*" if d["id"] == current else ""))
            if c2.button("Open", key=f"ds_open_{d['id']}", disabled=d["id"] == current or d["damaged"]):
                st.session_state.pop("reopen_error", None)
                reopen(d["id"])
                st.rerun()
            if c3.button("Delete", key=f"ds_delete_{d['id']}",
                         help="Removes the data set and every file of it from the server."):
                workspace().delete(d["id"])
                if d["id"] == current:
                    show_sample()
                st.rerun()
        if current is not None and st.button("Show the sample shop instead", key="ds_sample"):
            workspace().forget_last()
            show_sample()
            st.rerun()


def _set_mapping_widgets(columns, fmt) -> None:
    mapping = detect_format(columns, None if fmt == "auto" else fmt)
    st.session_state["detected_format"] = mapping.format
    for f in ORDER_FIELDS:
        st.session_state[f"map_{f}"] = mapping.columns.get(f) or NONE


#: counts with thousands separators, as every other number on the page
COUNT = st.column_config.NumberColumn(format="localized")
sets_box = st.container()
now_open = st.container()  # the file the pages show (an uploader forgets its file when another page is visited)
c1, c2 = st.columns(2)
FILE_TYPES = ["csv", "gz", "txt", "tsv", "parquet", "xlsx", "xls", "zip"]
orders_up = c1.file_uploader("Orders export (CSV, Excel, Parquet; an export in several parts: all of them, or a .zip)",
                             type=FILE_TYPES, key="orders", accept_multiple_files=True)
events_up = c2.file_uploader("Interactions export (optional)", type=FILE_TYPES, key="interactions")

src = st.session_state["orders_src"]
orders_ids = tuple(up.file_id for up in orders_up or [])
# an upload is read once: the uploader keeps showing it after a data set is reopened, which must not re-read it
if orders_ids and st.session_state.get("orders_upload_ids") != orders_ids:
    st.session_state["orders_upload_ids"] = orders_ids
    names = ", ".join(up.name for up in orders_up)
    with st.status(f"Reading {plain(names)}…", expanded=False) as status:
        path = _save(orders_up, "orders")
        st.session_state["orders_src"] = src = {"path": path, "name": names, "file_id": orders_ids, "fresh": True,
                                                "names": [up.name for up in orders_up]}
        if events_up is None:
            st.session_state["events_src"] = None  # the sample's events do not belong to this shop
        st.session_state["fmt_choice"] = "auto"
        st.session_state["date_order"] = st.session_state["decimal"] = "auto"
        for k in [k for k in st.session_state if isinstance(k, str) and k.startswith("status_")]:
            st.session_state[k] = None  # another shop's status choices do not apply to this one
        st.session_state["accept_exclusions"] = False
        st.session_state["product_costs"] = None  # another export's costs are uploaded again with it
        st.session_state.pop("mapping_columns", None)
        status.update(label=f"Read {plain(names)}", state="complete")
if events_up is not None and st.session_state.get("events_upload_id") != events_up.file_id:
    st.session_state["events_upload_id"] = events_up.file_id
    st.session_state["events_src"] = {"path": _save([events_up], "events"), "name": events_up.name,
                                      "file_id": events_up.file_id}

your_data_sets(sets_box)
now_open.caption(f"Now open: **{plain(src['name'])}**"
                 + (f" + {plain(st.session_state['events_src']['name'])}" if st.session_state.get("events_src") else "")
                 + (" — kept on the server: a reload or a later visit opens it again." if st.session_state.get("dataset")
                    else "."))


def refuse(source: dict, exc: DataError) -> None:
    """A new orders upload that is no readable orders export: said on every page (ui.common.refuse_upload), the
    session back to what the pages show; any other unreadable file stops this page with why."""
    if source.get("fresh"):
        refuse_upload(str(exc), fixable=False)
        st.rerun()
    st.error(plain(str(exc)), icon="⚠️")
    st.stop()


def columns_of(source: dict, what: str) -> tuple:
    """The file's column names (sniffed once per file); a file that cannot be read is refused with why."""
    try:
        return memo(f"{what}_columns", (source["path"],), lambda: sniff(source["path"]).columns)
    except DataError as exc:
        refuse(source, exc)


def keep_as_dataset() -> None:
    """An upload that loaded becomes a data set of the workspace (kept on the server until deleted): its files move
    from the session's folder into it, with interactions uploaded beside it."""
    src = st.session_state["orders_src"]
    if not src.get("fresh"):
        return
    ws = workspace()
    ds = ws.create(src["name"])
    paths = src["path"] if isinstance(src["path"], tuple) else (src["path"],)
    kept = [str(p) for p in ws.add_files(ds, "orders", [(n, Path(p).read_bytes()) for n, p in zip(src["names"], paths)])]
    new_src = {"path": kept[0] if len(kept) == 1 else tuple(kept), "name": src["name"], "file_id": ("workspace", ds)}
    events = st.session_state.get("events_src")
    if events and Path(events["path"]).parent == upload_dir():
        moved = ws.add_files(ds, "events", [(events["name"], Path(events["path"]).read_bytes())])
        events = st.session_state["events_src"] = {**events, "path": str(moved[0]), "file_id": ("workspace", ds)}
    key = st.session_state["loaded_key"]
    st.session_state["loaded_key"] = (new_src["path"], key[1], key[2], (events or {}).get("path"), key[4])
    st.session_state["orders_src"] = new_src
    st.session_state["dataset"] = ds
    if (st.session_state.get("shown") or {}).get("was_sample"):
        st.session_state["campaigns"] = {}  # the sample shop's campaigns do not belong to this one
    st.session_state["shown"] = {**st.session_state["shown"], "orders_src": new_src, "events_src": events,
                                 "dataset": ds, "loaded_key": st.session_state["loaded_key"]}
    for p in paths:
        Path(p).unlink(missing_ok=True)


columns = columns_of(src, "orders")
if st.session_state.get("fmt_choice", "auto") == "auto":
    try:  # a customer list, a products export, a payouts report or an events file in the orders slot: refused
        detect_format(columns)
    except DataError as exc:
        refuse(src, exc)
if st.session_state.get("mapping_columns") != columns:
    st.session_state["mapping_columns"] = columns
    _set_mapping_widgets(columns, st.session_state.get("fmt_choice", "auto"))
# kept now, not only at the next run's start: a visitor who leaves right after an upload (or a first visit) comes back
# to this mapping — Streamlit drops the widgets' values when another page runs
keep_widgets("data", WIDGET_PREFIXES)

st.subheader("How the orders file was understood")
fc1, fc2 = st.columns([1, 2])
fc1.selectbox("Format", ["auto", *FORMATS], key="fmt_choice",
              format_func=lambda f: "detect automatically" if f == "auto" else FORMATS[f].label,
              help="The platform the export comes from. Detected from the column names; pick another if it is wrong.",
              on_change=lambda: _set_mapping_widgets(st.session_state["mapping_columns"], st.session_state["fmt_choice"]))
fc1.selectbox("Dates like 03/04/2024", list(DATE_ORDERS), key="date_order", format_func=DATE_ORDERS.get,
              help="Month first (US) or day first (most of Europe). Decided from the data when a day is past the "
                   "12th, or from the platform; the report below says which was used and why.")
fc1.selectbox("Decimal mark of amounts", list(DECIMALS), key="decimal", format_func=DECIMALS.get,
              help="1,234.50 or 1.234,50 — decided from every amount in the file unless you choose.")
fc1.selectbox("Revenue is", list(AMOUNT_BASES), key="amount_basis", format_func=AMOUNT_BASES.get,
              help="Lifetime value is worth what you keep: the margin applies to goods, and tax is not yours. So "
                   "revenue is what customers paid for goods after discounts and refunds, without the tax and "
                   "shipping that the export writes in columns of their own. Choose 'everything' to include them.")
fc2.info(f"Detected: **{FORMATS[st.session_state['detected_format']].label}** in {plain(src['name'])}. "
         "Check the column for each field below; change any that is wrong.")
with st.expander("Column mapping", expanded=st.session_state.get("load_error") is not None):
    cols = st.columns(4)
    for i, f in enumerate(ORDER_FIELDS):
        req = " (required)" if f in REQUIRED_ORDER_FIELDS else ""
        cols[i % 4].selectbox(f"{FIELD_LABELS[f]}{req}", [NONE, *columns], key=f"map_{f}")

with st.expander("Product costs (optional): each order's own margin",
                 expanded=bool(st.session_state.get("product_costs") or st.session_state.get("costs_error"))):
    st.caption("Your products export with what each item costs you — in Shopify: Products › Export ('Variant SKU', "
               "'Cost per item'); BigCommerce: 'Cost Price'; Square: 'Default Unit Cost'; or any file with a SKU or "
               "product name and a cost. Each order's margin is then its sales minus its costs (quantity × cost "
               "per SKU), and the margin measured from them replaces the slider. A cost column in the orders "
               "file itself (mapped above) works too.")
    costs_up = st.file_uploader("Products file with costs", type=FILE_TYPES, key="costs_upload")
    if costs_up is not None and st.session_state.get("costs_upload_id") != costs_up.file_id:
        st.session_state["costs_upload_id"] = costs_up.file_id
        try:
            pc = read_product_costs(_save([costs_up], "costs"))
            st.session_state["product_costs"] = {"name": costs_up.name, "costs": [list(c) for c in pc.costs],
                                                 "lines": pc.lines()}
            st.session_state.pop("costs_error", None)
        except DataError as exc:
            st.session_state["costs_error"] = str(exc)
    if st.session_state.get("costs_error"):
        st.error(plain(st.session_state["costs_error"]), icon="⚠️")
    if st.session_state.get("product_costs"):
        st.code("\n".join(st.session_state["product_costs"]["lines"]), language=None)
        st.button("Stop using these costs", key="costs_forget",
                  on_click=lambda: st.session_state.update(product_costs=None, costs_error=None))

base = detect_format(columns, st.session_state["detected_format"])
mapping = base.with_columns(**{f: (None if st.session_state[f"map_{f}"] == NONE else st.session_state[f"map_{f}"])
                               for f in ORDER_FIELDS}).with_options(
    date_order=st.session_state["date_order"], decimal=st.session_state["decimal"],
    amount_basis=st.session_state["amount_basis"],
    fx_rates=tuple(sorted((k[3:], float(v)) for k, v in st.session_state.items()
                          if isinstance(k, str) and k.startswith("fx_") and v)),
    statuses=tuple(sorted((k[len(STATUS_KEY):], v) for k, v in st.session_state.items()
                          if isinstance(k, str) and k.startswith(STATUS_KEY) and v in ("purchase", "not_purchase"))),
    accept_exclusions=bool(st.session_state.get("accept_exclusions")),
    product_costs=tuple(tuple(c) for c in (st.session_state.get("product_costs") or {}).get("costs", ())))

events = st.session_state.get("events_src")
events_mapping = None
if events:
    ev_columns = columns_of(events, "events")
    if st.session_state.get("events_mapping_columns") != ev_columns:
        st.session_state["events_mapping_columns"] = ev_columns
        for f, c in detect_interaction_mapping(ev_columns).columns.items():
            st.session_state[f"evmap_{f}"] = c or NONE
        keep_widgets("data", WIDGET_PREFIXES)
    with st.expander(f"Interactions column mapping ({plain(events['name'])})"):
        cols = st.columns(len(INTERACTION_FIELDS))
        for col, f in zip(cols, INTERACTION_FIELDS):
            req = " (required)" if f in REQUIRED_INTERACTION_FIELDS else ""
            col.selectbox(f"{FIELD_LABELS[f]}{req}", [NONE, *ev_columns], key=f"evmap_{f}")
    events_mapping = detect_interaction_mapping(ev_columns).with_columns(
        **{f: (None if st.session_state[f"evmap_{f}"] == NONE else st.session_state[f"evmap_{f}"])
           for f in INTERACTION_FIELDS})

currency = st.session_state.get("currency_choice")
load_key = (src["path"], mapping, currency, (events or {}).get("path"), events_mapping)
if st.session_state.get("loaded_key") != load_key:
    before = st.session_state.get("loaded_key")
    with st.spinner("Building the customer table…"):
        if load_shop(mapping=mapping, currency=currency, events_mapping=events_mapping):
            keep_as_dataset()
            remember(mapping, currency, events_mapping)
            # drawn again with the new data set listed and no banner of a refused upload, or with the sidebar's
            # margin measured from the product costs just added (the sidebar was drawn before they loaded)
            if src.get("fresh") or (before and before[1].product_costs != mapping.product_costs):
                st.rerun()
        elif src.get("fresh"):
            refuse_upload(st.session_state["load_error"], fixable=True)
if st.session_state.get("load_error"):
    st.error(plain(st.session_state["load_error"]), icon="⚠️")
    if "accept-exclusions" in st.session_state["load_error"]:
        st.checkbox("Leave them out and go on", key="accept_exclusions",
                    help="Every number will come from the other orders only, and this page will say so. Better: fix "
                         "the date format or decimal mark above, or export the file again.")
    st.caption("The dashboard still shows the last data that loaded. Fix the mapping above or upload another file.")
    st.stop()

shop = current_shop()
rep = shop.orders_report
m1, m2, m3, m4 = st.columns(4)
m1.metric("Rows read", count(rep.rows_read))
m2.metric("Orders kept", count(rep.kept))
buyers = len(customers_table(settings))
m3.metric("Customers", count(rep.customers),
          help=f"Everyone with an order kept from the file. {count(buyers)} of them bought at least once: the customer "
               "table below and the other pages count those (a customer whose orders were all cancelled, unpaid or "
               "refunded has no purchase).")
m4.metric("Excluded orders", count(sum(i["count"] for i in rep.excluded.values())))
st.caption(f"{count(rep.rows_read)} rows became {count(rep.records_built)} orders; "
           f"{count(rep.kept)} orders from {count(rep.customers)} customers are used, "
           f"dated {rep.date_min:%d %b %Y} to {rep.date_max:%d %b %Y}.")
st.caption(plain(f"Dates: {rep.date_why}. Amounts: {rep.decimal_why}." if rep.date_why else f"Amounts: {rep.decimal_why}."))
st.caption(plain(f"Revenue: {rep.amount_basis}."))
if rep.costs:
    words = rep.costs_words()
    st.caption(plain(words[0].upper() + words[1:] + " (in the sidebar)."))
for n in rep.notes:
    st.caption(plain(n[0].upper() + n[1:] + "."))
for w in rep.warnings:
    st.warning(plain(w))
for w in (shop.interactions_report.warnings if shop.interactions_report else []):
    st.warning(plain(f"Interactions: {w}"))
if st.session_state.get("accept_exclusions"):
    st.checkbox("Leave orders with unreadable values out and go on", key="accept_exclusions")


def status_choices(report) -> None:
    """Every status of the file with its orders and how it counts; the founder changes any (kept with the data set)."""
    st.subheader("Order statuses")
    unknown = report.unrecognised_statuses
    st.caption("How each status in the file counts. A status clv does not know is counted as a purchase until you "
               "say otherwise" + (f" — {len(unknown)} here." if unknown else "; every status here is known."))
    with st.expander("Change how a status counts", expanded=bool(unknown)):
        for status, n, reason, how in sorted(report.statuses, key=lambda r: (r[3] != "not recognised", -r[1]))[:60]:
            # None: no choice of yours (clv's vocabulary decides; an unknown status counts as a purchase)
            default = ("not decided: counted as a purchase" if how == "not recognised" else
                       f"as clv reads it: {'a purchase' if reason is None else 'not a purchase (' + reason + ')'}")
            labels = {None: default, "purchase": "a purchase", "not_purchase": "not a purchase"}
            st.selectbox(plain(f"“{status}” — {count(n)} order{'' if n == 1 else 's'}"), [None, "purchase", "not_purchase"],
                         key=STATUS_KEY + status, format_func=labels.get)
    st.dataframe(pd.DataFrame([{"status": s, "orders": n, "counts as": "a purchase" if r is None else f"not a purchase: {r}",
                                "decided by": {"known": "clv's vocabulary", "your choice": "you",
                                               "not recognised": "nobody yet: counted as a purchase"}[h]}
                               for s, n, r, h in report.statuses]), hide_index=True, width="stretch",
                 column_config={"orders": COUNT})


unknown_statuses_banner(on_data_page=True)
if rep.statuses:
    status_choices(rep)
if len(rep.currencies) > 1 or rep.converted:
    st.selectbox("Currency to analyse", list(rep.currencies), key="currency_choice",
                 index=list(rep.currencies).index(rep.currency))
    with st.expander("Exchange rates: analyse every order in one currency", expanded=not rep.converted):
        st.caption(f"What one unit of each other currency is worth in {rep.currency}. With a rate, that currency's "
                   "customers are analysed too (their amounts converted); without one (0), their orders are left out.")
        rate_cols = st.columns(4)
        for i, cur in enumerate(c for c in rep.currencies if c != rep.currency):
            rate_cols[i % 4].number_input(f"1 {cur} in {rep.currency}", min_value=0.0, step=0.01, format="%.4f",
                                          key=f"fx_{cur}")
elif not rep.currencies:
    codes = ["", *SYMBOLS]
    st.selectbox("Currency of the amounts", codes, key="currency_choice_display",
                 format_func=lambda c: f"{c} ({SYMBOLS[c].strip()})" if c else "not said: plain numbers",
                 help="The file does not say its currency. Choose it to see money as money on every page.")


def report_table(report) -> pd.DataFrame:
    rows = [{"what": f"excluded: {reason}", "orders/events": info["count"],
             "example rows": " | ".join(", ".join(f"{k}={v!r}" for k, v in ex.items()) for ex in info["examples"])}
            for reason, info in report.excluded.items()]
    rows += [{"what": f"kept, not counted as a purchase: {r}", "orders/events": n, "example rows": ""}
             for r, n in report.not_purchases.items()]
    rows += [{"what": f"status not recognised, counted as a purchase: {s}", "orders/events": n, "example rows": ""}
             for s, n in report.unrecognised_statuses.items()]
    if report.refund_rows[0]:
        rows.append({"what": f"refund rows netted into the orders they refund (together {report.refund_rows[1]:,.2f})",
                     "orders/events": report.refund_rows[0], "example rows": ""})
    if report.identical_rows_kept:
        rows.append({"what": "identical rows kept as separate purchases (no order id)",
                     "orders/events": report.identical_rows_kept, "example rows": ""})
    if report.duplicates_removed:
        rows.append({"what": "exact duplicate rows removed", "orders/events": report.duplicates_removed,
                     "example rows": ""})
    if report.unknown_event_types:
        rows += [{"what": f"unrecognised event type (kept): {t}", "orders/events": n, "example rows": ""}
                 for t, n in report.unknown_event_types.items()]
    return pd.DataFrame(rows, columns=["what", "orders/events", "example rows"])


st.subheader("Validation report")
tab_o, tab_e = st.tabs(["Orders", "Interactions"])
with tab_o:
    table = report_table(rep)
    if table.empty:
        st.success("Every order was usable: nothing excluded.")
    else:
        st.dataframe(table, hide_index=True, width="stretch", column_config={"orders/events": COUNT})
with tab_e:
    er = shop.interactions_report
    if er is None:
        st.info("No interactions file loaded. Segments and CLTV work without one; the churn model and cart "
                "tactics need it.")
    else:
        st.caption(f"{count(er.rows_read)} rows read, {count(er.kept)} events kept from {count(er.customers)} "
                   f"customers ({er.date_min:%d %b %Y} to {er.date_max:%d %b %Y}).")
        if er.matched is not None:
            st.caption(f"{count(er.matched[0])} of {count(er.matched[1])} events "
                       f"({er.matched[0] / max(er.matched[1], 1):.0%}) belong to a customer in the orders file"
                       + (f"; {count(er.matched[2])} of them joined through the orders' e-mail column."
                          if er.matched[2] else "."))
        st.dataframe(pd.DataFrame({"event type": list(er.event_types), "events": list(er.event_types.values())}),
                     hide_index=True, column_config={"events": COUNT})
        table = report_table(er)
        if not table.empty:
            st.dataframe(table, hide_index=True, width="stretch", column_config={"orders/events": COUNT})

st.subheader("Orders preview")
preview = memo("orders_preview", (), lambda: shop.con.sql("SELECT * FROM orders ORDER BY order_ts LIMIT 200").df())
st.dataframe(preview, hide_index=True, height=240)

st.subheader("Customer table")
customers = customers_table(settings)
st.caption(f"One row per customer ({count(len(customers))}). *frequency* counts repeat purchase days, "
           "*recency_days* is the time between first and last purchase, *T_days* the customer's age in days.")
st.dataframe(customers, hide_index=True, height=320)
download_csv(customers, "customers.csv", "Download the customer table (CSV)")
