"""The weekly digest (clv.digest, `python -m clv digest`): its figures are the pages' figures — the Overview's period
KPIs for the same days, the Churn page's customers worth saving, the Playbook's first tactic — on the sample shop,
back-dated and as of its last day; e-mail-ready HTML (inline styles, no script); the cron line works as written."""
import datetime as dt
import json


from clv.cli import main
from clv.formatting import count, money
from clv.store import SAMPLE_INTERACTIONS, SAMPLE_ORDERS
from conftest import metric, open_app


def _digest(tmp_path, capsys, *extra):
    out = tmp_path / "digest.html"
    assert main(["digest", "--orders", str(SAMPLE_ORDERS), "--interactions", str(SAMPLE_INTERACTIONS),
                 "--out", str(out), *extra]) == 0
    return json.loads(capsys.readouterr().out), out.read_text(encoding="utf-8")


def test_back_dated_digest_equals_the_overview_for_the_same_days(tmp_path, capsys):
    figures, html = _digest(tmp_path, capsys, "--as-of", "2026-09-30", "--days", "30")
    assert figures["start"] == "2026-09-01" and figures["end"] == "2026-09-30"
    at = open_app()
    at.selectbox(key="period_kind").set_value("custom").run()
    at.date_input(key="period_custom").set_value((dt.date(2026, 9, 1), dt.date(2026, 9, 30))).run()
    assert not at.exception
    f = figures["figures"]
    assert metric(at, "Customers who bought") == count(f["Customers who bought"]["now"])
    assert metric(at, "New customers") == count(f["New customers"]["now"])
    assert metric(at, "Returning customers") == count(f["Returning customers"]["now"])
    assert metric(at, "Purchases") == count(f["Purchases"]["now"])
    assert metric(at, "Revenue") == money(f["Revenue"]["now"], "USD")
    deltas = {m.label: m.proto.delta for m in at.metric if m.proto.delta}
    assert deltas["Revenue"] == f"{f['Revenue']['change']:+.0%}"
    assert money(f["Revenue"]["now"], "USD") in html and "<script" not in html and "<style" not in html


def test_digest_as_of_the_last_day_equals_the_churn_page_and_the_overview(tmp_path, capsys):
    figures, html = _digest(tmp_path, capsys)
    churn = open_app("pages/4_Churn_risk.py")
    assert metric(churn, "Customers worth saving") == count(figures["worth_saving"])
    assert metric(churn, "Their value at stake") == money(figures["worth_saving_value_at_stake"], "USD")
    overview = churn.switch_page("app.py").run()  # the same session: its fits are the Churn page's
    assert not overview.exception
    # "Do these first": the playbook's ranking, best first
    cards = [b.value for b in overview.markdown if b.value.startswith("**")]
    assert cards[0] == f"**{figures['best_tactic']['name']}**"
    assert f"{count(figures['worth_saving'])} customers are worth a win-back message" in html


def test_a_digest_says_why_without_projections_and_compares_only_with_data(tmp_path, capsys):
    """A 20-customer shop a week old: the period is there, no comparison before its first day, no projections —
    the readiness words instead."""
    path = tmp_path / "tiny.csv"
    rows = ["customer_id,order_date,amount"] + [f"c{i},2026-03-{1 + i % 7:02d},{10 + i}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "d.html"
    assert main(["digest", "--orders", str(path), "--out", str(out)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["projections"] is False and figures["worth_saving"] is None and figures["why_not"]
    assert "your data starts on" in figures["comparison_note"]
    assert figures["figures"]["Revenue"]["change"] is None
    assert "Projections" in out.read_text(encoding="utf-8")


def test_the_overviews_digest_button_reuses_the_pages_fits(monkeypatch):
    """Preparing the digest on the Overview fits nothing again: it reads the session's pipeline (the models the
    pages already fitted), and offers the page for download."""
    import clv.value
    fits = []
    real = clv.value.fit_value_model
    monkeypatch.setattr(clv.value, "fit_value_model", lambda *a, **k: fits.append(1) or real(*a, **k))
    at = open_app()
    assert not at.exception and len(fits) == 1
    at.button(key="prepare_digest").click().run()
    assert not at.exception and b"<html" in at.session_state["digest_html"][:200].lower()
    assert len(fits) == 1  # a digest with a pipeline of its own fitted the purchase and spend models again
