"""Campaigns page: a campaign kept from the playbook is measured against its control group, the measured uplift
replaces the playbook's assumption (and the founder can switch back), and the power table is there before any
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
    assert (early["uplift_from"].str.startswith("measured on")).sum() == 1
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
    used = row.loc[row["uplift_from"].str.startswith("measured on"), "uplift"]
    assert len(used) == 1 and used.iloc[0] == pytest.approx(fb["uplift"].iloc[0])
    assert any("Measured on your own campaigns" in i.value for i in at.info)
    # ... until the founder switches back to the assumptions
    at.switch_page("pages/6_Campaigns.py").run()
    at.toggle(key="use_measured").set_value(False).run()
    at.switch_page("pages/5_Playbook.py").run()
    row = at.dataframe[0].value
    assert (row["uplift_from"] == "assumption").all()
    assert row.set_index("name")["uplift"].to_dict() == assumed["uplift"].to_dict()
