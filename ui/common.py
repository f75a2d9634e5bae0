"""What every page shares: the session's shop, per-session memoisation, the sidebar controls, formatting.

Per-user data lives in ``st.session_state``, in a session-scoped cache (``resources()``: the Shop with its own DuckDB
database, derived results, uploads; released when the tab disconnects) and in the visitor's workspace on disk
(ui/workspace.py); nothing here uses a global ``st.cache_resource`` or module-level state, which every user of the
server would share.
"""
from __future__ import annotations

import ctypes
import gc
import os
import re
import tempfile
import uuid
from pathlib import Path

import streamlit as st

from clv import formatting
from clv.errors import DataError
from clv.ingest import Mapping
from clv.margins import MIN_ORDERS_WITH_COST, shop_margin
from clv.pipeline import Settings
from clv.store import SAMPLE_INTERACTIONS, SAMPLE_ORDERS, Shop
from ui.auth import gate, mode, secret_section, sign_out
from ui.pages import PAGES
from ui.workspace import restore, workspace

ICON = Path(__file__).resolve().parent / "icon.png"


def page_setup(title: str) -> "Settings":
    """Call first on every page: page config, the shop, the shared sidebar. Returns the current settings."""
    # the icon is a file served by this server: a Material icon name made every visitor's browser fetch it from a
    # font CDN (found by the browser test that watches for requests leaving the page)
    st.set_page_config(page_title=f"{title} · clv", page_icon=str(ICON), layout="wide")
    who = gate()  # stops here until the visitor is signed in (when sign-in is set up)
    if who and mode() == "oidc" and "signed_in_owner" not in st.session_state:
        from clv.workspace import oidc_owner
        try:  # the workspace follows the person (the provider's stable subject), not the browser
            st.session_state["signed_in_owner"] = oidc_owner(st.user)
        except ValueError as exc:
            st.error(plain(str(exc)), icon="⚠️")
            st.stop()
        st.session_state["signed_in_email"] = st.user.get("email")
    shop()
    _sample_banner()
    if title != "Your data":  # that page says it after loading what was just uploaded
        unknown_statuses_banner()
    return sidebar(who, page=title)


def _sample_banner() -> None:
    """Never show the sample shop in place of the user's own data without saying so — the first line of every page."""
    refused = st.session_state.get("refused_upload")
    if refused:
        shown = st.session_state.get("shown") or {}
        what = ("the bundled **sample shop**, not your customers" if shown.get("sample", True)
                else f"your data set “{plain(shown.get('name', '?'))}”, not this upload")
        st.error(f"**Your upload “{plain(refused['name'])}” is not loaded.** {plain(refused['why'])} Every number on "
                 f"this page is from {what}."
                 + (" Fix the column mapping on *Your data*, or upload another file." if refused.get("fixable")
                    else " Upload the right export on *Your data*."), icon="⚠️")
    elif st.session_state.get("reopen_error"):
        st.warning(plain(st.session_state["reopen_error"]) + " You are looking at the **sample shop**; your data "
                   "sets are on *Your data*.", icon="⚠️")
    elif st.session_state.get("dataset") is None and workspace().datasets():
        st.info("You are looking at the bundled **sample shop**, not your data: open one of your data sets on "
                "*Your data*.", icon="ℹ️")


def unknown_statuses_banner(on_data_page: bool = False) -> None:
    """While statuses clv does not know count as purchases, say so in one line with the way to fix it."""
    report = resources().shop.orders_report if resources().shop is not None else None
    if report is not None and report.unrecognised_statuses:
        n = sum(report.unrecognised_statuses.values())
        shown = ", ".join(f"“{s}”" for s in list(report.unrecognised_statuses)[:3])
        said = plain(f"{count(n)} order{'' if n == 1 else 's'} ha{'s' if n == 1 else 've'} a status clv does not "
                     f"know ({shown}{', …' if len(report.unrecognised_statuses) > 3 else ''}) and "
                     f"{'is' if n == 1 else 'are'} counted as purchases.")
        if on_data_page:
            st.warning(said + " Say how each counts under *Order statuses* below.", icon="⚠️")
            return
        box = st.container(border=True)
        box.warning(said + " Say how each counts under *Order statuses* on Your data.", icon="⚠️")
        token = st.session_state.get("ws_token")
        box.page_link("pages/1_Data.py", label="Fix the order statuses", icon=":material/arrow_forward:",
                      query_params={"ws": token} if token else None)


# --- the session's data ---------------------------------------------------------------------------------

class _SessionResources:
    """What one browser session holds on the server beyond its widget values: the Shop (DuckDB tables), the
    derived results (memo) and the folder of uploads kept only for the session.

    Released as soon as the tab disconnects — Streamlit's session-scoped cache calls ``release`` then — not when
    the next visitor happens to connect: the uploaded files are deleted and the memory goes back. A tab that comes
    back (a reload, a network blip) rebuilds its Shop from the files it was using (``shop()``)."""

    def __init__(self, memo: dict):
        self.shop: Shop | None = None
        self.memo = memo  # the session state's own dict: emptied on release, kept for the session's next run
        self._uploads: tempfile.TemporaryDirectory | None = None

    def upload_dir(self) -> Path:
        if self._uploads is None:
            self._uploads = tempfile.TemporaryDirectory(prefix="clv-upload-")
        return Path(self._uploads.name)

    def release(self) -> None:
        if self._uploads is not None:
            self._uploads.cleanup()
        if self.shop is not None:
            self.shop.close()  # its DuckDB memory and spill files go now, not when the server stops
        self.shop = None
        self.memo.clear()
        gc.collect()
        _return_memory()


def _return_memory() -> None:
    """Hand freed memory back to the system (glibc keeps freed blocks of big frames otherwise, and Arrow's pool
    the buffers of the tables that streamed out of DuckDB)."""
    try:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@st.cache_resource(scope="session", max_entries=1, on_release=_SessionResources.release, show_spinner=False)
def _resources(state_token: str, _memo: dict) -> _SessionResources:
    return _SessionResources(_memo)


def resources() -> _SessionResources:
    """This session's server-side resources (see _SessionResources), tied to this session state by a token (a
    test harness that reuses a session id with a fresh state gets fresh resources, the old ones released)."""
    token = st.session_state.setdefault("_resources_token", uuid.uuid4().hex)
    return _resources(token, st.session_state.setdefault("_memo", {}))


def shop() -> Shop:
    """This browser session's Shop; the bundled sample shop until the user uploads their own export."""
    res = resources()
    if res.shop is None and "orders_src" in st.session_state:
        # the session had data, released while the tab was away: build it again from the same files and choices
        _, mapping, currency, _, events_mapping = st.session_state["loaded_key"]
        with st.spinner("Opening your data again…"):
            if load_shop(mapping=mapping, currency=currency, events_mapping=events_mapping):
                return res.shop
    if res.shop is None:
        last = workspace().last()
        if last is not None:
            with st.spinner("Opening your last data set…"):
                if reopen(last):
                    return res.shop
            st.session_state.pop("dataset", None)
        show_sample()
    if res.shop is None:  # not even the sample shop loads (e.g. a memory budget too small for it)
        st.error(plain(st.session_state.get("load_error") or "No data could be loaded."), icon="⚠️")
        st.stop()
    return res.shop


def reopen(ds: str) -> bool:
    """Load data set ``ds`` of the workspace into the session (files, mapping, choices, campaigns)."""
    args = restore(ds)
    if args is None:
        return False
    ok = load_shop(**args)
    if not ok:
        st.session_state["reopen_error"] = (f"Your data set “{st.session_state['dataset_name']}” could not be loaded "
                                            f"again: {st.session_state.get('load_error')}")
    return ok


def refuse_upload(why: str, fixable: bool) -> None:
    """A new orders upload that did not load: said on every page until one does. ``fixable`` (a column mapping to
    fix on Your data) keeps it as the file the Data page works on; otherwise the session goes back to what the pages
    show. Its files were never made a data set (``keep_as_dataset`` does that once an upload loads)."""
    src = st.session_state["orders_src"]
    st.session_state["refused_upload"] = {"name": src["name"], "why": why, "fixable": fixable}
    shown = st.session_state.get("shown")
    if not fixable and shown:
        for k in ("orders_src", "events_src", "dataset", "loaded_key"):
            st.session_state[k] = shown[k]


def show_sample() -> None:
    """Load the bundled sample shop into the session."""
    st.session_state.pop("refused_upload", None)
    st.session_state["dataset"] = None
    st.session_state["campaigns"] = {}
    st.session_state["orders_src"] = {"path": str(SAMPLE_ORDERS), "name": "sample shop orders"}
    st.session_state["events_src"] = {"path": str(SAMPLE_INTERACTIONS), "name": "sample shop interactions"}
    with st.spinner("Loading the sample shop…"):
        load_shop()


def load_shop(mapping: Mapping | None = None, currency: str | None = None,
              events_mapping: Mapping | None = None) -> bool:
    """(Re)build this session's Shop from the current sources; on bad input keep the old one and say why."""
    orders, events = st.session_state["orders_src"], st.session_state.get("events_src")
    budget = memory_budget()
    # what this shop was built from; the Data page rebuilds it when any of this changes
    st.session_state["loaded_key"] = (orders["path"], mapping, currency, (events or {}).get("path"), events_mapping)
    template = _sample_template() if _is_plain_sample(orders, events, currency, budget) else None
    if template is not None and mapping in (None, template.orders_report.mapping) and events_mapping in (
            None, template.interactions_report.mapping):
        new = template.copy()  # the bundled sample as read once by this server: no need to read its files again
        report, ev_mapping = new.orders_report, new.interactions_report.mapping
    else:
        new = None
    try:
        if new is None:
            new = Shop(memory_limit=budget)
            report = new.load_orders(orders["path"], mapping=mapping, currency=currency)
            ev_mapping = new.load_interactions(events["path"], mapping=events_mapping).mapping if events else None
        st.session_state["loaded_key"] = (orders["path"], report.mapping, currency, (events or {}).get("path"),
                                          ev_mapping)
    except DataError as exc:
        message = str(exc)
        if budget and "Out of Memory" in message:
            message = (f"This data set needs more memory than this server allows one session: memory_budget = "
                       f"{budget} (set in .streamlit/secrets.toml under [clv], or CLV_MEMORY_BUDGET). Ask whoever "
                       "runs the server to raise it, or upload a shorter export (fewer months). DuckDB said: "
                       + message)
        st.session_state["load_error"] = message
        return False
    resources().shop = new
    st.session_state["data_version"] = st.session_state.get("data_version", 0) + 1  # invalidates memo()
    st.session_state["load_error"] = None
    sample = orders["path"] == str(SAMPLE_ORDERS)
    # what every page is showing now: where a refused upload sends the session back to, and what its banner names
    before = st.session_state.get("shown") or {}
    st.session_state["shown"] = {"orders_src": orders, "events_src": events, "dataset": st.session_state.get("dataset"),
                                 "loaded_key": st.session_state["loaded_key"], "sample": sample,
                                 "name": orders["name"], "was_sample": before.get("sample", False)}
    if not sample:
        st.session_state.pop("refused_upload", None)
    st.session_state["source"] = orders["name"] + (f" + {events['name']}" if events else "")
    return True


def memory_budget() -> str | None:
    """The most memory one session's DuckDB may use (e.g. "2GB"; beyond it work spills to disk, and what still does
    not fit is refused with a message naming the budget): ``[clv] memory_budget`` in the secrets, else the
    CLV_MEMORY_BUDGET environment variable, else DuckDB's default (80 % of the machine)."""
    return secret_section("clv").get("memory_budget") or os.environ.get("CLV_MEMORY_BUDGET") or None


def _is_plain_sample(orders: dict, events: dict | None, currency: str | None, budget: str | None) -> bool:
    return (str(orders["path"]) == str(SAMPLE_ORDERS) and events is not None
            and str(events["path"]) == str(SAMPLE_INTERACTIONS) and currency is None and budget is None)


@st.cache_resource(show_spinner=False)
def _sample_template() -> Shop:
    """The bundled sample shop, read once per server process and only ever copied (Shop.copy): it is the same for
    every visitor, and reading its files costs each new session more than a second. Never handed to a session."""
    return Shop.sample()


def upload_dir() -> Path:
    """A temporary folder for this session's uploads, removed when the session ends (see _SessionResources)."""
    return resources().upload_dir()


def data_span() -> tuple:
    """(first purchase day, last day in the orders) of the loaded shop: asked on every run of every page (the
    sidebar's as-of bounds, the periods), read once per data set."""
    return memo("data_span", (), lambda: (shop().purchase_span()[0], shop().last_date()))


def memo(name: str, key: tuple, compute):
    """Per-session memo of one derived result: recomputed only when ``key`` changes (keeps the latest only)."""
    store = resources().memo
    full_key = (st.session_state.get("data_version", 0),) + tuple(key)
    hit = store.get(name)
    if hit is not None and hit[0] == full_key:
        return hit[1]
    value = compute()
    store[name] = (full_key, value)
    return value


def keep_widgets(page: str, prefixes: tuple) -> None:
    """Widget values of one page that survive a visit to another page.

    Streamlit forgets the state of widgets that a run did not draw, so leaving the Data page would reset its
    mapping selectboxes (and load the file with no columns mapped). Call once before the page's widgets are drawn:
    it puts back what was kept, then keeps what the user sets from now on (read again on the next run)."""
    kept = st.session_state.setdefault(f"_kept_{page}", {})
    for key, value in kept.items():
        if key not in st.session_state:
            st.session_state[key] = value
    kept.update({k: v for k, v in st.session_state.items() if isinstance(k, str) and k.startswith(prefixes)})


def show_data_error(exc: DataError) -> None:
    st.error(plain(str(exc)), icon="⚠️")


# --- shared sidebar controls ----------------------------------------------------------------------------

def _cut_text(cuts: tuple) -> str:
    return ", ".join(f"{c:g}" for c in cuts)


_S = Settings()  # the library's defaults (clv/defaults.py), as the sidebar's widgets hold them
DEFAULTS = dict(horizon_months=_S.horizon_months, margin_pct=round(100 * _S.margin),
                discount_rate_pct=round(100 * _S.discount_rate), cac=_S.cac, churn_window_days=_S.churn_window_days,
                rfm_method=_S.rfm_method, recency_cuts=_cut_text(_S.recency_cuts),
                frequency_cuts=_cut_text(_S.frequency_cuts), monetary_cuts=_cut_text(_S.monetary_cuts),
                k_auto=_S.k is None, k=4, cluster_features="R, F, M", first_time_days=_S.first_time_days,
                big_spender_top_pct=_S.big_spender_top_pct, high_aov_pct=_S.high_aov_pct,
                discount_share_min=round(100 * _S.discount_share_min), cart_days=_S.cart_days,
                vip_tenure_months=_S.vip_tenure_months, purchase_model=_S.purchase_model, margin_from_costs=True)


def _valid_settings(saved: dict) -> dict:
    """Saved settings that the controls can show: known keys with a value of the default's type (a damaged or older
    file falls back to the defaults for what does not fit)."""
    out = {}
    for k, v in saved.items():
        default = DEFAULTS.get(k)
        if default is None or isinstance(v, bool) != isinstance(default, bool):
            continue
        if isinstance(default, (int, float)) and not isinstance(default, bool) and isinstance(v, (int, float)):
            out[k] = type(default)(v) if k != "cac" else float(v)
        elif isinstance(v, type(default)):
            out[k] = v
    return out


_CUT_LABELS = {"recency_cuts": "Recency cut-offs", "frequency_cuts": "Frequency cut-offs",
               "monetary_cuts": "Monetary cut-offs"}


def _cuts(text: str, name: str) -> tuple:
    """Four cut-offs from the sidebar text; anything else is said next to the box and the defaults are used."""
    try:
        values = tuple(sorted(float(v) for v in str(text).replace(";", ",").split(",") if v.strip()))
        problem = None if len(values) == 4 else f"{len(values)} number{'s' if len(values) != 1 else ''}"
    except ValueError:
        problem = "text that is not a number"
    if problem:
        st.sidebar.error(f"{_CUT_LABELS[name]}: “{plain(text)}” has {problem}; write four numbers separated by "
                         f"commas, e.g. {DEFAULTS[name]}. Using {DEFAULTS[name]} until then.")
        values = tuple(float(v) for v in DEFAULTS[name].split(","))
    return values


def sidebar(who: str | None = None, page: str | None = None) -> Settings:
    """The one set of controls every page shows; values persist across pages in session state. ``who``: the
    signed-in user, shown with a sign-out button; ``page``: the page's title."""
    saved = st.session_state.get("_saved_settings")
    if saved is None:  # a new session (a reload, a bookmark, a second tab): the workspace's settings as last changed
        saved = st.session_state["_saved_settings"] = _valid_settings(workspace().settings())
    moved = st.session_state.get("_sidebar_page") != page
    st.session_state["_sidebar_page"] = page
    for k, v in DEFAULTS.items():
        # re-assigning keeps a widget's value when the user moves to a page where it is rendered anew. Only then:
        # a value assigned in code is sent to the browser with the run, and on every rerun it overwrote a slider
        # the founder had moved meanwhile (arrow keys pressed while the page reran lost steps)
        if moved or k not in st.session_state:
            st.session_state[k] = st.session_state.get(k, saved.get(k, v))
    sb = st.sidebar
    # every link carries the workspace token (without sign-in), so a reload on any page opens the same data set
    token = st.session_state.get("ws_token")
    for p in PAGES:  # Streamlit's own list is hidden in .streamlit/config.toml so the labels read as questions
        sb.page_link(p.script, label=p.label, icon=p.icon, query_params={"ws": token} if token else None)
    sb.divider()
    if who:
        sb.caption(f"Signed in as {plain(who)}")
        sb.button("Sign out", on_click=sign_out, key="sign_out")
    sb.caption(f"Data: {plain(st.session_state.get('source', 'the sample shop'))}")
    with sb.expander("Value & churn assumptions", expanded=True):
        st.selectbox("Projection horizon (months)", [12, 24], key="horizon_months",
                     help="How far ahead customer lifetime value (CLTV) is projected.")
        # orders with product costs (Your data): each past order's margin is its own, and the measured margin is
        # the default for the rest and for projections (clv.margins)
        with_cost = memo("orders_with_cost", (), lambda: shop_margin(shop(), 0.0).with_cost)
        measured = with_cost >= MIN_ORDERS_WITH_COST
        if measured:
            st.checkbox("Margin measured from my product costs", key="margin_from_costs",
                        help="Your orders carry product costs: past orders with a cost count their own margin "
                             "(net − cost). Untick to set the margin for projections and for orders without a cost "
                             "yourself.")
        if not (measured and st.session_state["margin_from_costs"]):  # (a greyed-out figure beside it would mislead)
            st.slider("Gross margin %", 0, 100, key="margin_pct",
                      help="Share of revenue you keep after product and fulfilment costs."
                           + (" Used for orders without a product cost and for projections." if measured else ""))
        margin_note = st.container()
        st.slider("Yearly discount rate %", 0, 50, key="discount_rate_pct",
                  help="Money next year is worth less than money today; future revenue is discounted monthly.")
        st.number_input("Cost to acquire a customer (CAC)", min_value=0.0, step=5.0, key="cac",
                        help="What you spend on marketing per new customer; compared with what a new customer brings.")
        st.slider("Churn window (days without a purchase)", 30, 365, step=15, key="churn_window_days",
                  help="A customer who does not buy within this many days counts as lost; churn risk is the chance "
                       "of that.")
        st.selectbox("Purchase model", ["auto", "bgnbd", "mbgnbd", "pareto_nbd"], key="purchase_model",
                     format_func={"auto": "choose by backtest", "bgnbd": "BG/NBD",
                                  "mbgnbd": "MBG/NBD (one-time buyers can be gone)",
                                  "pareto_nbd": "Pareto/NBD (customers can leave at any time)"}.get,
                     help="How future purchases are projected. 'Choose by backtest' fits each model on your older "
                          "orders and keeps the one that predicted the rest best (see What is each worth?).")
        first, last = data_span()
        kept = st.session_state.get("as_of")
        # a day of another data set (or past this one's end) goes back to "the last day in the data"
        st.session_state["as_of"] = kept if kept is not None and first <= kept <= last else None
        st.date_input("As of (empty: the last day in your data)", value=None, min_value=first, max_value=last,
                      key="as_of", format="YYYY-MM-DD",
                      help="See the dashboard as it was on a past day: customers, scores, projections, periods, "
                           "the monthly charts and the backtest that chooses the purchase model are computed from "
                           "the orders up to it, as if the export had been taken then.")
        use_costs = measured and st.session_state["margin_from_costs"]
        as_of = st.session_state.get("as_of")
        margin = memo("margin", (st.session_state["margin_pct"], use_costs, as_of),
                      lambda: shop_margin(shop(), st.session_state["margin_pct"] / 100, use_costs, as_of))
        if with_cost:
            margin_note.caption(plain(margin.words()))
    with sb.expander("RFM & clusters"):
        st.radio("RFM scoring", ["quantiles", "thresholds"], key="rfm_method", horizontal=True,
                 help="Quintiles of your own customers, or fixed cut-offs you choose below.")
        st.text_input("Recency cut-offs (days)", key="recency_cuts",
                      help="Four numbers: days since the last order that separate scores 5|4|3|2|1 (used with "
                           "'thresholds').")
        st.text_input("Frequency cut-offs (orders)", key="frequency_cuts",
                      help="Four numbers of orders separating scores 1|2|3|4|5 (used with 'thresholds').")
        st.text_input("Monetary cut-offs (revenue)", key="monetary_cuts",
                      help="Four amounts of revenue separating scores 1|2|3|4|5 (used with 'thresholds').")
        st.checkbox("Choose number of clusters automatically", key="k_auto",
                    help="Tries 2 to 8 groups and keeps the number whose groups are most clearly apart.")
        st.slider("Number of clusters (k)", 2, 8, key="k", disabled=st.session_state["k_auto"],
                  help="How many groups of similar customers to form.")
        st.radio("Cluster on", ["R, F, M", "R, F, M + behaviour"], key="cluster_features",
                 help="Group customers by recency, frequency and spend only, or also by discounts, carts, e-mail "
                      "and support behaviour.")
    with sb.expander("Behavioural segments"):
        st.slider("First-time buyer: first order within (days)", 7, 365, key="first_time_days",
                  help="One order so far, placed in this many last days.")
        st.slider("Big spender: top % by revenue", 1, 50, key="big_spender_top_pct",
                  help="The customers who spent most: this top share of all customers.")
        st.slider("High AOV: above percentile", 50, 99, key="high_aov_pct",
                  help="Average order value higher than this share of customers' (80: the top 20 %).")
        st.slider("Discount shopper: % of orders discounted ≥", 10, 100, step=5, key="discount_share_min",
                  help="At least this share of the customer's orders had a discount.")
        st.slider("Cart abandoner: abandoned within (days)", 1, 180, key="cart_days",
                  help="Abandoned a cart (no purchase within 24 hours) in this many last days and has not ordered "
                       "since (needs interactions).")
        st.slider("VIP: customer for at least (months)", 1, 36, key="vip_tenure_months",
                  help="VIP/loyal: Champions or Loyal in RFM and a customer at least this long.")
    s = st.session_state
    current = {k: s[k] for k in DEFAULTS}
    if current != saved:
        workspace().save_settings(current)
        st.session_state["_saved_settings"] = current
    return Settings(
        horizon_months=int(s["horizon_months"]), margin=margin.rate, discount_rate=s["discount_rate_pct"] / 100,
        cac=float(s["cac"]), churn_window_days=int(s["churn_window_days"]), rfm_method=s["rfm_method"],
        recency_cuts=_cuts(s["recency_cuts"], "recency_cuts"), frequency_cuts=_cuts(s["frequency_cuts"], "frequency_cuts"),
        monetary_cuts=_cuts(s["monetary_cuts"], "monetary_cuts"), k=None if s["k_auto"] else int(s["k"]),
        cluster_features="rfm" if s["cluster_features"] == "R, F, M" else "rfm+behaviour",
        first_time_days=int(s["first_time_days"]), big_spender_top_pct=float(s["big_spender_top_pct"]),
        high_aov_pct=float(s["high_aov_pct"]), discount_share_min=s["discount_share_min"] / 100,
        cart_days=int(s["cart_days"]), vip_tenure_months=int(s["vip_tenure_months"]),
        purchase_model=s["purchase_model"], as_of=s["as_of"].isoformat() if s.get("as_of") else None,
        churn_model="model")  # the app always tries the interaction-aware model (orders-only shops too) and says why


# --- formatting -----------------------------------------------------------------------------------------

def plain(text) -> str:
    """A value from the user's file, safe inside Markdown: every character Markdown or Streamlit could read as
    formatting, a link, an image or an emoji code is backslash-escaped, so an id like ![x](http://host/p.png)
    shows as text instead of fetching an image (a tracking pixel) or becoming a link."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:@=])", r"\\\1", str(text))


def currency() -> str | None:
    """The shop's currency: from the orders file, else the one chosen on the Data page, else none (plain numbers).
    Asked once per figure (1,500 times on the Churn page at 100k customers): remembered per data set and choice."""
    # the Data page's widget (its value outlives the page in keep_widgets' store)
    chosen = st.session_state.get("currency_choice_display") or st.session_state.get("_kept_data", {}).get(
        "currency_choice_display") or None
    key = (st.session_state.get("data_version", 0), chosen)
    hit = st.session_state.get("_currency")
    if hit is None or hit[0] != key:
        rep = shop().orders_report
        hit = st.session_state["_currency"] = (key, rep.currency if rep is not None and rep.currency else chosen)
    return hit[1]


def money(x: float) -> str:
    """Money in the shop's currency ("$1,234", "$36.20"): clv.formatting.money."""
    return formatting.money(x, currency())


def count(x: float) -> str:
    return formatting.count(x)


def pct(x: float) -> str:
    """A share or probability as a percentage ("49%"): one way on every page."""
    return formatting.percent(x)


def money_column(label: str | None = None, **kwargs):
    """A table column of money in the shop's currency."""
    return st.column_config.NumberColumn(label, format=formatting.money_format(currency()), **kwargs)


def percent_column(label: str | None = None, **kwargs):
    """A table column of shares written as ``pct`` writes them (a whole percent: "47%"); its values are the shares
    × 100 (Streamlit's "percent" format writes two decimals, 47.09 %, next to pages that write 47 %)."""
    return st.column_config.NumberColumn(label, format="%.0f%%", **kwargs)


#: tables longer than this become a CSV only when their download is clicked (Streamlit's deferred download)
DEFERRED_DOWNLOAD_ROWS = 200_000


def download_csv(df, filename: str, label: str = "Download CSV", key: str | None = None, on_click=None) -> None:
    # up to DEFERRED_DOWNLOAD_ROWS the bytes are made on every run (0.5 s for the 100k-customer value table): the
    # deferred download (a callable, run on click) once failed to start in a full browser-suite run when every
    # table over 2,000 rows used it. Beyond, the bytes would cost every rerun seconds (6 s for the value table of
    # 1M customers: most of a margin change in bench/interactive.py), so the click makes them.
    from clv.export import to_safe_csv
    data = (lambda: to_safe_csv(df)) if len(df) > DEFERRED_DOWNLOAD_ROWS else to_safe_csv(df)
    st.download_button(label, data, file_name=filename, mime="text/csv", key=key or f"dl-{filename}",
                       on_click=on_click)
