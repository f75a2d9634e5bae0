"""Overview and Playbook pages: the top three tactics, and editing an assumption re-ranks the tactics."""
import pytest
from conftest import amount, open_app


@pytest.fixture(scope="module")
def app():
    return open_app()


def test_overview_shows_kpis_cohorts_and_top_three_tactics(app):
    at = app
    labels = [m.label for m in at.metric]
    for label in ("Customers", "Purchases", "Revenue", "Average order value", "Repeat-customer rate",
                  "Repeaters' revenue", "Average historic value (margin)", "CLV : CAC (new customer)"):
        assert label in labels
    gains = [m.value for m in at.metric if m.label == "Expected net gain"]
    assert len(gains) == 3
    values = [amount(g) for g in gains]
    assert values == sorted(values, reverse=True) and values[0] > 0
    assert len(at.get("plotly_chart")) == 2          # revenue by month, cohort heatmap
    assert len(at.get("page_link")) >= 3 + 6          # a link per tactic card, plus the navigation


def test_editing_an_assumption_reranks_the_tactics(app):
    at = app
    at.switch_page("pages/5_Playbook.py").run()
    assert not at.exception
    ranking = at.dataframe[0].value
    first, last = ranking["name"].iloc[0], ranking["name"].iloc[-1]
    cat = at.session_state["catalogue"]
    row = int(cat.index[cat["name"] == last][0])
    # the founder raises the uplift of the last tactic and makes it free to run
    at.session_state["assumptions"] = {"edited_rows": {row: {"uplift": 0.9, "cost_per_customer": 0.0}},
                                       "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    reranked = at.dataframe[0].value
    assert reranked["name"].iloc[0] == last != first
    assert at.metric[0].value == last
    # the overview's top three follow the edited assumptions
    at.switch_page("app.py").run()
    cards = [b for b in at.markdown if b.value.startswith("**")]
    assert cards[0].value == f"**{last}**"


def test_control_share_changes_the_list(app):
    at = app
    at.switch_page("pages/5_Playbook.py").run()
    lst = at.dataframe[-1].value
    at.slider(key="control_pct").set_value(50).run()
    lst50 = at.dataframe[-1].value
    assert (lst50["group"] == "control").mean() > (lst["group"] == "control").mean() + 0.2


def test_report_is_built_with_interactive_charts(app):
    at = app
    at.switch_page("app.py").run()
    at.button(key="prepare_report").click().run()
    assert not at.exception
    html = at.session_state["report_html"].decode()
    assert html.count("Plotly.newPlot") == 6 and "What should I do first?" in html and "<table" in html
    assert "Revenue: what customers paid for goods, after discounts and refunds, without tax and shipping" in html
    # the report's KPIs are the Overview's, written the same way (the sample shop sells in USD)
    for label in ("Customers", "Purchases", "Revenue", "Repeat-customer rate"):
        shown = next(m.value for m in at.metric if m.label == label)
        assert f'<div class="kpi">{label}<b>{shown}</b></div>' in html, label
    # Streamlit's placeholder colours (#000001…) would draw every bar and legend entry near-black in the file
    import re
    assert not re.search(r'"#0000(0[1-9]|1[0-9])"', html)


def test_the_plan_is_prepared_as_one_zip_of_send_and_campaign_files(app):
    import io
    import zipfile
    at = app
    at.switch_page("pages/5_Playbook.py").run()
    at.button(key="prepare_plan").click().run()
    assert not at.exception
    button = [b for b in at.get("download_button") if b.label == "Download the plan's files (zip)"]
    assert len(button) == 1
    names = zipfile.ZipFile(io.BytesIO(at.session_state["plan_zip"][1])).namelist()
    assert "plan.campaign.csv" in names and sum(n.endswith(".send.csv") for n in names) == \
        sum(n.endswith(".campaign.csv") for n in names) - 1


def test_a_list_is_pushed_to_mailchimp_and_the_page_says_what_was_sent():
    """With a [mailchimp] section in the secrets (pointed at the local fake server), one click tags the treatment group
    in the audience; the page says how many, where and when, keeps the campaign, and never sends a control customer."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_push import Fake, mailchimp
    fake = Fake(mailchimp)
    try:
        at = open_app()
        at.secrets["mailchimp"] = {"api_key": "key-us6", "audience_id": "aud1", "base_url": fake.url,
                                   "new_contacts": "transactional"}
        at.switch_page("pages/5_Playbook.py").run()
        push = [b for b in at.button if b.key == "push_Mailchimp"]
        assert len(push) == 1 and "audience aud1" in push[0].label
        push[0].click().run()
        assert not at.exception
        said = " ".join(s.value for s in at.success)
        assert "customers sent to Mailchimp audience aud1" in said and "control customers were not sent" in said
        log = at.session_state["push_log"]
        assert len(log) == 1 and log[0]["customers sent"] > 0 and log[0]["campaign"] in at.session_state["campaigns"]
        members = fake.state["m"]["members"]
        assert len(members) == log[0]["customers sent"]
        record = at.session_state["campaigns"][log[0]["campaign"]]
        treated = set(record.loc[record["group"] == "treatment", "customer_id"].str.lower())
        control = set(record.loc[record["group"] == "control", "customer_id"].str.lower())
        assert fake.sent_emails() == set(members) and set(members) <= treated and not set(members) & control
    finally:
        fake.close()
