"""Workspaces: an uploaded shop (files, mapping, choices, campaigns) is kept on the server per owner, reopened on
reload, listed with open and delete; deleting removes every file; the sample is never shown in place of the user's
data without a banner."""
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import APP_TIMEOUT, ROOT, metric
from clv.export import to_safe_csv
from clv.workspace import Workspace, valid_token

CSV = b"customer_id,order_date,amount,discount\na,2024-01-01,10,1\na,2024-03-01,20,0\nb,2024-01-05,7,0\nc,2024-02-01,5,0\n"


def test_workspace_files_and_deletion(tmp_path):
    ws = Workspace("browser:abc", root=tmp_path)
    other = Workspace("user:someone@example.com", root=tmp_path)
    assert ws.dir != other.dir and "example" not in str(other.dir)        # no identity in paths
    ds = ws.create("orders.csv")
    ws.add_files(ds, "orders", [("orders.csv", b"x"), ("../../evil name.csv", b"y")])
    assert [p.name for p in ws.files(ds, "orders")] == ["00-orders.csv", "01-_.._evil_name.csv"]
    assert all(p.parent == ws.dir / ds / "orders" for p in ws.files(ds, "orders"))
    ws.add_files(ds, "orders", [("new.csv", b"z")])                       # a slot's upload replaces the old one
    assert [p.name for p in ws.files(ds, "orders")] == ["00-new.csv"]
    ws.add_files(ds, "ad_spend", [("meta ads.csv", b"date,spend"), ("google.csv", b"g")])   # kept with the data set
    assert ws.kept_files(ds, "ad_spend") == [("meta_ads.csv", b"date,spend"), ("google.csv", b"g")]
    ws.remove_files(ds, "ad_spend")
    assert ws.kept_files(ds, "ad_spend") == [] and ws.kept_files(ds, "orders") == [("new.csv", b"z")]
    ws.save_campaign(ds, "winback-20260101-s0", b"campaign_id\n")
    seed = ws.plan_seed(ds)                                              # the shared hold-out's, drawn once
    ws.save_state(ds, {"currency": "EUR"})
    ws.open(ds)
    assert ws.last() == ds and ws.meta(ds)["state"] == {"currency": "EUR"}
    assert Workspace("browser:abc", root=tmp_path).plan_seed(ds) == seed   # kept with the data set
    assert other.plan_seed(other.create("another shop")) != seed                # each shop its own (1 in 2**31)
    other.delete(other.datasets()[0]["id"])
    assert [d["id"] for d in ws.datasets()] == [ds] and other.datasets() == []
    ws.delete(ds)
    assert not (ws.dir / ds).exists() and ws.last() is None and ws.datasets() == []
    with pytest.raises(ValueError):
        ws.delete("../other")
    assert not valid_token("A" * 22) and not valid_token("../x") and not valid_token(None)


def _session(token: str | None = None, page: str = "pages/1_Data.py") -> AppTest:
    """A new browser session (with the address's workspace token, if given) that opens ``page`` first (the Data
    page by default: the Overview would fit every model of the sample shop for nothing)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if token:
        at.query_params["ws"] = token
    at.switch_page(page)
    at.run()
    return at


def test_a_reload_reopens_the_last_data_set_with_its_mapping():
    at = _session()
    token = at.query_params["ws"]
    assert valid_token(token)
    at.switch_page("pages/1_Data.py").run()
    at.file_uploader(key="orders").set_value(("mine.csv", CSV, "text/csv")).run()
    at.selectbox(key="map_discount").set_value("— none —").run()
    assert metric(at, "Customers") == "3"
    assert at.query_params["ws"] == token                                # kept in the address on every page
    # a reload: a new session with the same address
    again = _session(token, page="app.py")
    assert not again.exception
    assert metric(again, "Customers") == "3"                                   # the user's shop, no sample banner:
    assert [i.value for i in again.info] == [again.info[0].value] and "Projected values are not shown" in \
        again.info[0].value  # only the three-customer shop's fallback says anything
    again.switch_page("pages/1_Data.py").run()
    assert again.selectbox(key="map_discount").value == "— none —"
    assert again.dataframe[-1].value["discount_share"].max() == 0        # the mapping came back too
    assert "mine.csv" in again.info[0].value.replace("\\", "")
    # another browser (no token) does not see it
    stranger = _session()
    assert stranger.query_params["ws"] != token and metric(stranger, "Customers") != "3"


def test_open_delete_and_the_sample_banner():
    at = _session()
    token = at.query_params["ws"]
    at.switch_page("pages/1_Data.py").run()
    at.file_uploader(key="orders").set_value(("first.csv", CSV, "text/csv")).run()
    at.file_uploader(key="orders").set_value(("second.csv", CSV.replace(b"c,2024", b"d,2024") + b"e,2024-02-02,9,0\n",
                                              "text/csv")).run()
    assert metric(at, "Customers") == "4"
    ws = at.session_state["workspace"]
    sets = ws.datasets()
    assert [d["name"] for d in sets] == ["second.csv", "first.csv"]
    first = sets[1]["id"]
    at.button(key=f"ds_open_{first}").click().run()
    assert metric(at, "Customers") == "3"
    # the user goes back to the sample: every page says it is the sample, not their data
    at.button(key="ds_sample").click().run()
    at.switch_page("app.py").run()
    assert any("sample shop" in i.value and "not your data" in i.value for i in at.info)
    reload = _session(token)
    assert reload.info and "sample shop" in reload.info[0].value and "not your data" in reload.info[0].value
    # deleting removes every file of the data set
    at.switch_page("pages/1_Data.py").run()
    folder = ws.dir / first
    assert any(folder.rglob("*.csv"))
    at.button(key=f"ds_delete_{first}").click().run()
    assert not folder.exists() and [d["name"] for d in ws.datasets()] == ["second.csv"]


def test_campaigns_are_kept_with_the_data_set():
    at = _session()
    token = at.query_params["ws"]
    at.switch_page("pages/1_Data.py").run()
    at.file_uploader(key="orders").set_value(("mine.csv", CSV, "text/csv")).run()
    record = pd.DataFrame({"campaign_id": "x-20260101-s0", "tactic": "winback", "created": "2026-01-01", "seed": 0,
                           "control_share": 0.5, "customer_id": ["a", "b"], "group": ["treatment", "control"],
                           "churn_risk": 0.5, "clv": 10.0, "expected_gain": 1.0})
    ws, ds = at.session_state["workspace"], at.session_state["dataset"]
    ws.save_campaign(ds, "x-20260101-s0", to_safe_csv(record))  # as ui.workspace.keep_campaign does
    again = _session(token)
    assert list(again.session_state["campaigns"]) == ["x-20260101-s0"]


def test_settings_and_every_link_keep_the_workspace():
    """Every sidebar link carries the workspace token (a reload on any page reopens the same data set), and the
    settings come back in a reload, a bookmark or a second tab with the same address."""
    at = _session()
    token = at.query_params["ws"]
    at.file_uploader(key="orders").set_value(("mine.csv", CSV, "text/csv")).run()
    at.slider(key="margin_pct").set_value(55).run()
    at.selectbox(key="horizon_months").set_value(24).run()
    at.switch_page("pages/2_Segments.py").run()
    links = [el.proto for el in at.get("page_link")]
    assert len(links) >= 8 and all(link.query_string == f"ws={token}" for link in links)
    for page in ("pages/2_Segments.py", "pages/1_Data.py"):  # F5 on a page, and a second tab with the address
        again = _session(token, page=page)
        assert not again.exception
        assert again.slider(key="margin_pct").value == 55 and again.selectbox(key="horizon_months").value == 24
        assert again.session_state["dataset"] == at.session_state["dataset"]
    assert _session().slider(key="margin_pct").value != 55  # another browser keeps its own
