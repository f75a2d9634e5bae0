"""The session's workspace: uploaded shops kept on the server (clv.workspace), reopened on reload.

Whose workspace: the signed-in user's with OIDC sign-in (the provider's stable subject, iss + sub); otherwise this
browser's, keyed by a token the server issued and signed, kept in the address bar (``?ws=…``) — a reload keeps it; a
token the server did not issue opens a fresh workspace (a link with a token someone chose cannot collect what the
visitor uploads); whoever has the full address has the data sets, so share the address only with whom you would
share the data (or set up sign-in: README, Hosting).
"""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from clv.ingest import Mapping
from clv.workspace import Workspace, new_token, valid_token

__all__ = ["workspace", "keep_token", "restore", "remember", "keep_campaign", "ad_spend_files", "forget_ad_spend",
           "WIDGET_PREFIXES"]

#: Data-page choices that rebuild a data set (the same keys keep_widgets keeps across pages)
WIDGET_PREFIXES = ("map_", "evmap_", "fmt_choice", "date_order", "decimal", "currency_choice", "status_",
                   "accept_exclusions", "amount_basis", "fx_", "product_costs")
_COLUMN_KEYS = ("mapping_columns", "events_mapping_columns", "detected_format")


def workspace() -> Workspace:
    """This visitor's workspace (created on first use)."""
    if "workspace" not in st.session_state:
        owner = st.session_state.get("signed_in_owner")
        if owner:
            email = st.session_state.get("signed_in_email")
            if email:  # an earlier version kept the workspace under the e-mail: moved to the subject's once
                Workspace(owner).adopt(Workspace(f"user:{email}"))
        else:
            token = st.query_params.get("ws")
            if not valid_token(token):
                token = new_token()
            st.session_state["ws_token"] = token
            owner = f"browser:{token}"
        st.session_state["workspace"] = Workspace(owner)
    keep_token()
    return st.session_state["workspace"]


def keep_token() -> None:
    """Keep the browser token in the address bar on every page, so a reload finds the same workspace."""
    token = st.session_state.get("ws_token")
    if token and st.query_params.get("ws") != token:
        st.query_params["ws"] = token


def _mapping(d: dict | None) -> Mapping | None:
    if not d:
        return None
    return Mapping(**{**d, "flags": tuple(tuple(f) for f in d.get("flags", ())),
                      "guest_ids": tuple(d.get("guest_ids", ())),
                      "statuses": tuple(tuple(x) for x in d.get("statuses", ())),
                      "skips": tuple(tuple(x) for x in d.get("skips", ())),
                      "fx_rates": tuple(tuple(x) for x in d.get("fx_rates", ())),
                      "product_costs": tuple(tuple(x) for x in d.get("product_costs", ())),
                      **{k: tuple(d.get(k, ())) for k in ("amount_plus", "tax_columns", "shipping_columns",
                                                            "shipping_discount_columns")}})


def restore(ds: str) -> dict | None:
    """Put data set ``ds`` of the workspace into the session (files, choices, campaigns); the arguments that
    rebuild its shop (``ui.common.load_shop``), or None with the reason in ``reopen_error``."""
    ws = workspace()
    try:
        meta = ws.open(ds)
    except (OSError, ValueError) as exc:
        st.session_state["reopen_error"] = f"Your data set could not be opened ({exc})."
        return None
    orders, events = ws.files(ds, "orders"), ws.files(ds, "events")
    if not orders:
        st.session_state["reopen_error"] = f"The data set “{meta.get('name')}” has no orders file any more."
        return None
    state = meta.get("state", {})
    st.session_state["orders_src"] = {"path": str(orders[0]) if len(orders) == 1 else tuple(map(str, orders)),
                                      "name": meta.get("name", ds), "file_id": ("workspace", ds)}
    st.session_state["events_src"] = ({"path": str(events[0]), "name": state.get("events_name", events[0].name),
                                       "file_id": ("workspace", ds)} if events else None)
    widgets = state.get("widgets", {})
    for k, v in widgets.items():
        st.session_state[k] = tuple(v) if k in _COLUMN_KEYS[:2] and isinstance(v, list) else v
    st.session_state["_kept_data"] = {k: v for k, v in widgets.items() if k.startswith(WIDGET_PREFIXES)}
    st.session_state["dataset"] = ds
    st.session_state["dataset_name"] = meta.get("name", ds)
    st.session_state["campaigns"] = {cid: pd.read_csv(pd.io.common.BytesIO(data), dtype={"customer_id": str})
                                     for cid, data in ws.campaigns(ds).items()}
    return dict(mapping=_mapping(state.get("mapping")), currency=state.get("currency"),
                events_mapping=_mapping(state.get("events_mapping")))


def remember(mapping: Mapping | None, currency: str | None, events_mapping: Mapping | None) -> None:
    """After a successful load from the Data page: keep the choices that rebuild the current data set."""
    ds = st.session_state.get("dataset")
    if not ds:
        return
    st.session_state.pop("reopen_error", None)  # the user's own data is loaded now
    widgets = {k: (list(v) if isinstance(v, tuple) else v) for k, v in st.session_state.items()
               if isinstance(k, str) and (k.startswith(WIDGET_PREFIXES) or k in _COLUMN_KEYS)}
    events = st.session_state.get("events_src")
    workspace().open(ds)  # the one a reload reopens
    workspace().save_state(ds, {
        "mapping": dataclasses.asdict(mapping) if mapping else None, "currency": currency,
        "events_mapping": dataclasses.asdict(events_mapping) if events_mapping else None,
        "events_name": events["name"] if events else None, "widgets": widgets})


def plan_seed() -> int:
    """The shared hold-out's seed: the data set's own (kept with it, clv.workspace.Workspace.plan_seed), 0 for the
    sample shop."""
    ds = st.session_state.get("dataset")
    return workspace().plan_seed(ds) if ds else 0


def keep_campaign(campaign_id: str, frame: pd.DataFrame) -> None:
    """A campaign handed out from the playbook: kept in the session, and in the workspace with its data set."""
    from clv.export import to_safe_csv
    st.session_state.setdefault("campaigns", {})[campaign_id] = frame
    ds = st.session_state.get("dataset")
    if ds:
        workspace().save_campaign(ds, campaign_id, to_safe_csv(frame))


def ad_spend_files(uploaded) -> list[tuple[str, bytes]]:
    """The ad spend files in use: a new upload replaces them and is kept with the data set (the sample shop's stay in
    the session); without one, the files kept earlier — so a reload or another day still shows CAC per channel."""
    ds = st.session_state.get("dataset")
    kept = st.session_state.setdefault("ad_spend_kept", {})
    ids = tuple(f.file_id for f in uploaded or [])
    if ids and st.session_state.get("ad_spend_upload_ids") != (ds, ids):
        st.session_state["ad_spend_upload_ids"] = (ds, ids)
        files = [(f.name, f.getvalue()) for f in uploaded]
        if ds:
            workspace().add_files(ds, "ad_spend", files)
        kept[ds] = files
    if ds not in kept:
        kept[ds] = workspace().kept_files(ds, "ad_spend") if ds else []
    return kept[ds]


def forget_ad_spend() -> None:
    """Take the ad spend files back: out of the session and the data set."""
    ds = st.session_state.get("dataset")
    st.session_state.setdefault("ad_spend_kept", {})[ds] = []
    st.session_state["ad_spend_round"] = st.session_state.get("ad_spend_round", 0) + 1  # a new, empty uploader
    if ds:
        workspace().remove_files(ds, "ad_spend")
