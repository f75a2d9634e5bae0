"""Workspaces only for their owner: browser tokens the server issued (signed), OIDC users by their stable subject."""
import pytest
from streamlit.testing.v1 import AppTest

from conftest import APP_TIMEOUT, ROOT, metric
from clv.workspace import Workspace, new_token, oidc_owner, valid_token

CSV = b"customer_id,order_date,amount\na,2024-01-01,10\na,2024-03-01,20\nb,2024-01-05,7\n"


def _session(token=None):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if token:
        at.query_params["ws"] = token
    at.switch_page("pages/1_Data.py")
    at.run()
    return at


def test_only_tokens_this_server_issued_are_valid(monkeypatch):
    token = new_token()
    assert valid_token(token) and len(token) == 38
    assert not valid_token(token[:-1] + ("A" if token[-1] != "A" else "B"))   # a changed signature
    assert not valid_token("attacker-chosen-token-0001") and not valid_token("A" * 38)
    monkeypatch.setenv("CLV_SECRET", "another server's key")
    assert not valid_token(token)  # signed by another key


def test_a_chosen_token_opens_a_fresh_workspace_not_the_attackers():
    """Token fixation: a victim who opens /Data?ws=<attacker's choice> and uploads hands the attacker nothing."""
    chosen = "attacker-chosen-token-0001"
    victim = _session(chosen)
    issued = victim.query_params["ws"]
    assert issued != chosen and valid_token(issued)
    victim.file_uploader(key="orders").set_value(("mine.csv", CSV, "text/csv")).run()
    assert metric(victim, "Customers") == "2"
    attacker = _session(chosen)
    assert attacker.query_params["ws"] not in (chosen, issued)
    assert attacker.session_state["workspace"].datasets() == []
    assert Workspace(f"browser:{chosen}").datasets() == []


def test_oidc_users_are_told_apart_by_their_subject_not_their_name(tmp_path):
    sam1 = {"iss": "https://id.example", "sub": "1", "name": "Sam Smith"}
    sam2 = {"iss": "https://id.example", "sub": "2", "name": "Sam Smith"}
    other_provider = {"iss": "https://other.example", "sub": "1", "name": "Sam Smith"}
    owners = {oidc_owner(u) for u in (sam1, sam2, other_provider)}
    assert len(owners) == 3
    assert oidc_owner({**sam1, "email": "Alice@Corp.example"}) == oidc_owner({**sam1, "email": "alice@corp.example"})
    with pytest.raises(ValueError, match="stable way"):
        oidc_owner({"name": "No Subject", "email": "x@example.com"})


def test_an_e_mail_keyed_workspace_is_adopted_once(tmp_path):
    old = Workspace("user:sam@example.com", root=tmp_path)
    ds = old.create("orders.csv")
    new = Workspace(oidc_owner({"iss": "https://id.example", "sub": "42"}), root=tmp_path)
    assert new.adopt(old) and [d["id"] for d in new.datasets()] == [ds] and not old.dir.exists()
    assert not new.adopt(old)  # once


def test_a_damaged_data_set_is_listed_as_damaged_and_can_be_deleted():
    at = _session()
    at.file_uploader(key="orders").set_value(("mine.csv", CSV, "text/csv")).run()
    ws, ds = at.session_state["workspace"], at.session_state["dataset"]
    (ws.dir / ds / "meta.json").write_text("{not json", encoding="utf-8")
    again = _session(at.query_params["ws"])  # a reload: the last data set cannot be reopened
    assert not again.exception
    assert any("damaged" in m.value for m in again.markdown)
    again.button(key=f"ds_delete_{ds}").click().run()
    assert not again.exception and not (ws.dir / ds).exists()


def test_error_messages_quoting_the_file_are_shown_as_text():
    """A value or a file name that is Markdown (an image: a tracking pixel) is escaped in every message."""
    hostile = "![x](http://tracker.example/p.png)"
    csv = f"customer_id,order_date,amount\na,{hostile},10\nb,{hostile},12\n".encode()
    at = _session()
    at.file_uploader(key="orders").set_value((f"{hostile}.csv", csv, "text/csv")).run()
    assert not at.exception
    texts = [e.value for kind in ("error", "warning", "info", "caption", "markdown") for e in getattr(at, kind)]
    assert any("tracker" in t for t in texts)  # the message does quote the file
    assert not any("](http" in t for t in texts), [t for t in texts if "tracker" in t]


def test_an_upload_is_whole_or_absent(tmp_path, monkeypatch):
    """A write that fails midway (disk full) leaves the slot as it was; a refused file is not kept as a data set."""
    from pathlib import Path
    ws = Workspace("browser:whole", root=tmp_path)
    ds = ws.create("orders.csv")
    ws.add_files(ds, "orders", [("orders.csv", CSV)])
    real = Path.write_bytes

    def disk_full(self, data):
        if self.name.startswith("01-"):
            raise OSError(28, "No space left on device")
        return real(self, data)
    monkeypatch.setattr(Path, "write_bytes", disk_full)
    with pytest.raises(OSError):
        ws.add_files(ds, "orders", [("part1.csv", b"x"), ("part2.csv", b"y")])
    monkeypatch.undo()
    assert [p.read_bytes() for p in ws.files(ds, "orders")] == [CSV]
    assert sorted(p.name for p in (ws.dir / ds).iterdir()) == ["meta.json", "orders"]
    at = _session()
    at.file_uploader(key="orders").set_value(("broken.csv", b"\x00\x01\x02 not a table", "text/csv")).run()
    assert not at.exception and at.error
    assert at.session_state["workspace"].datasets() == []


def test_chart_labels_from_files_are_text_not_html():
    """Plotly renders HTML in labels: a country '<a href=…>' was a live link in the LTV-by-country chart."""
    import numpy as np
    import pandas as pd

    from clv import charts
    hostile = '<a href="http://evil.example">Germany</a><img src=x>'
    groups = pd.DataFrame({"group": [hostile, "France"], "revenue_per_customer": [10.0, 12.0],
                           "revenue_ci_low": [8.0, 9.0], "revenue_ci_high": [12.0, 15.0], "customers": [40, 50],
                           "repeat_rate": [0.2, 0.3], "small": [False, False]})
    campaigns = pd.DataFrame({"campaign_id": [hostile], "uplift": [0.02], "uplift_low": [-0.01], "uplift_high": [0.05]})
    scatter = pd.DataFrame({"days_since_last": [3.0], "revenue_plot": [10.0], "cluster_name": ["Best"],
                            "customer_id": [hostile], "orders": [2]})
    for fig in (charts.ltv_by_group(groups, "country"), charts.campaign_uplifts(campaigns),
                charts.cluster_scatter(scatter, ["Best"])):
        text = fig.to_json()
        assert "<a " not in text and "<img" not in text and "&lt;a href" in text
    assert np.array_equal(charts.as_text(["a<b & c"]), ["a&lt;b &amp; c"])
