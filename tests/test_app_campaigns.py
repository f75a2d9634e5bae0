"""Campaigns page: a campaign kept from the playbook is measured against its control group, the measured uplift
is blended into the playbook's assumption (and the founder can switch back), and the power table is there before any
campaign exists."""
import datetime as dt

import pytest
from conftest import open_app

from clv.campaigns import campaign_file


@pytest.fixture(scope="module")
def app():
    return open_app("pages/6_Campaigns.py")


def test_without_campaigns_the_page_explains_and_shows_power(app):
    at = app
    assert any("No campaign to measure yet" in i.value for i in at.info)
    power = at.dataframe[-1].value
    assert len(power) >= 8 and {"customers", "buy anyway", "smallest uplift it can show"} <= set(power.columns)
    assert power["customers"].sum() > 0


def test_a_kept_campaign_is_measured_and_feeds_the_playbook(app):
    at = app
    at.switch_page("pages/5_Playbook.py").run()
    lst = at.dataframe[-1].value
    assumed = at.dataframe[0].value.set_index("name")
    tactic = at.session_state["list_tactic"]
    record = campaign_file(lst, tactic, dt.date(2026, 8, 31), 0, 0.1)
    at.session_state["campaigns"] = {record["campaign_id"].iloc[0]: record}
    # a kept campaign (as a reopened data set brings back) counts in the playbook before any visit to Campaigns
    at.run()
    early = at.dataframe[0].value
    assert (early["uplift_from"].str.startswith("blend")).sum() == 1
    at.switch_page("pages/6_Campaigns.py").run()
    assert not at.exception
    assert [m.label for m in at.metric][:4] == ["Bought, contacted", "Bought, control", "Extra buyers", "Net return"]
    verdicts = [a.value for a in at.success] + [a.value for a in at.info] + [a.value for a in at.error]
    assert any(v.startswith(("It worked", "Can't tell", "It backfired")) for v in verdicts)
    fb = at.session_state["measured_uplifts"]
    assert list(fb["tactic"]) == [tactic] and "measured on" in fb["source"].iloc[0]
    # the playbook now ranks with the measured uplift, and says so
    at.switch_page("pages/5_Playbook.py").run()
    row = at.dataframe[0].value
    used = row.loc[row["uplift_from"].str.startswith("blend"), "uplift"]
    assumption = assumed.loc[row.loc[row["uplift_from"].str.startswith("blend"), "name"].iloc[0], "uplift"]
    from clv.campaigns import blend
    expected = blend(assumption, fb["uplift"].iloc[0], fb["low"].iloc[0], fb["high"].iloc[0])[0]
    assert len(used) == 1 and used.iloc[0] == pytest.approx(expected)
    # the blend sits between the assumption and the measurement
    assert min(assumption, fb["uplift"].iloc[0]) <= used.iloc[0] <= max(assumption, fb["uplift"].iloc[0])
    assert any("Measured on your own campaigns" in i.value for i in at.info)
    # ... until the founder switches back to the assumptions
    at.switch_page("pages/6_Campaigns.py").run()
    at.toggle(key="use_measured").set_value(False).run()
    at.switch_page("pages/5_Playbook.py").run()
    row = at.dataframe[0].value
    assert (row["uplift_from"] == "assumption").all()
    assert row.set_index("name")["uplift"].to_dict() == assumed["uplift"].to_dict()


def test_the_loop_replays_a_past_date_and_reads_a_kept_file_once():
    """The campaign date is chosen with the list (a past date replays it on the shop's own history), a kept campaign
    uploaded again is read once (no "repeated rows"), and a campaign after the last order says so in words."""
    from clv.export import to_safe_csv
    at = open_app("pages/5_Playbook.py")
    at.date_input(key="campaign_date").set_value(dt.date(2026, 8, 31)).run()
    assert not at.exception
    lst, tactic = at.dataframe[-1].value, at.session_state["list_tactic"]
    past = campaign_file(lst, tactic, dt.date(2026, 8, 31), 0, 0.1)
    late = campaign_file(lst, tactic, dt.date(2026, 12, 1), 0, 0.1)  # after the sample's last order (30 Oct)
    at.session_state["campaigns"] = {past["campaign_id"].iloc[0]: past, late["campaign_id"].iloc[0]: late}
    at.switch_page("pages/6_Campaigns.py").run()
    at.file_uploader(key="campaign_files").set_value(
        [(f"{past['campaign_id'].iloc[0]}.campaign.csv", to_safe_csv(past), "text/csv")]).run()
    assert not at.exception
    assert not any("repeated rows" in w.value for w in at.warning)
    assert any("also uploaded: read once" in c.value for c in at.caption)
    text = " ".join(m.value for m in at.markdown)
    assert "not measured yet: your orders end before it was sent" in text and "-" + "37 days" not in text
    assert any("days measured" in m.value and "20260831" in m.value for m in at.markdown)


def test_a_list_too_small_says_how_many_customers_would_do():
    from clv.campaigns import customers_for, power
    n = customers_for(0.05, 0.15, 0.10)
    assert power(n, 0.10, 0.15) <= 0.05 < power(int(n * 0.97), 0.10, 0.15)
    assert customers_for(0.05, 0.15, 0.0) is None
    at = open_app("pages/6_Campaigns.py")
    at.number_input(key="campaign_target_uplift").set_value(0.5).run()
    table = at.dataframe[-1].value
    needed = table[table.columns[-1]]
    assert needed.str.contains("a list of about").any() and not needed.str.fullmatch("more customers needed").any()
