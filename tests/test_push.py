"""Direct push to Klaviyo and Mailchimp against local fake servers (tests/fake_push.py) that answer as the documented
APIs do: the treatment group only, never the control; Klaviyo's 10,000-profile and 5 MB limits, Mailchimp's 500;
429s waited out for the time Retry-After says, a 5xx retried; partial failures counted with an example; nobody's
Mailchimp subscription status changed; a refused key said in words."""
import numpy as np
import pandas as pd
import pytest

from clv.push import PushError, push_klaviyo, push_mailchimp
from fake_push import Fake, klaviyo, mailchimp


def _list(n: int, control_every: int = 10, bad_every: int = 0) -> pd.DataFrame:
    i = np.arange(n)
    email = np.char.add(np.char.add("c", i.astype(str)), "@shop.example")
    if bad_every:
        email = np.where(i % bad_every == 1, np.char.add(np.char.add("invalid", i.astype(str)), "@nowhere"), email)
    return pd.DataFrame({"customer_id": i.astype(str), "email": email,
                         "group": np.where(i % control_every == 0, "control", "treatment"),
                         "clv": 100.0 + i % 7, "churn_risk": 0.5, "segment": "At risk", "expected_gain": 3.0})


@pytest.fixture
def fake_klaviyo():
    f = Fake(klaviyo)
    yield f
    f.close()


@pytest.fixture
def fake_mailchimp():
    f = Fake(mailchimp)
    yield f
    f.close()


def test_klaviyo_sends_the_treatment_in_jobs_within_the_limits(fake_klaviyo):
    lst = _list(23_000)
    lst.loc[lst.index % 997 == 5, "email"] = "invalid-address@nowhere"   # Klaviyo rejects these in the job
    fake_klaviyo.script.append(("POST", "/api/profile-bulk-import-jobs", 429, {"Retry-After": "3"}))
    fake_klaviyo.script.append(("GET", "/api/profile-bulk-import-jobs/", 503, {}))
    waits = []
    r = push_klaviyo(lst, "pk_test", "winback", "winback-20261201-s1", "Win back", base_url=fake_klaviyo.url,
                     sleep=waits.append)
    jobs = [q for q in fake_klaviyo.requests if q["path"] == "/api/profile-bulk-import-jobs"
            and q["method"] == "POST" and q["body"]]
    sizes = [len(q["body"]["data"]["attributes"]["profiles"]["data"]) for q in jobs]
    assert max(sizes) <= 10_000 and all(q["bytes"] <= 5_000_000 for q in jobs)
    treat = lst[lst["group"] == "treatment"]
    control = set(lst.loc[lst["group"] == "control", "email"]) - {"invalid-address@nowhere"}  # in both groups
    assert fake_klaviyo.sent_emails().isdisjoint(control)
    assert fake_klaviyo.sent_emails() == set(treat["email"].str.lower())
    assert 3.0 in waits and r.retries == 2                     # the 429's Retry-After, then the 503
    bad = int(treat["email"].eq("invalid-address@nowhere").sum())
    assert r.failed == bad and r.sent == len(treat) - bad and r.pending == 0
    assert "invalid-address" in r.examples[0] and r.held_out == len(lst) - len(treat)
    props = fake_klaviyo.state["k"]["profiles"]["c1@shop.example"]["properties"]
    assert props["Tactic"] == "Win back" and props["Campaign ID"] == "winback-20261201-s1" and props["Churn risk"] == "50%"
    assert "Win back" in r.destination and "control customers were not sent" in r.in_words()
    # the list was created once, by name; a second push finds it
    push_klaviyo(lst.head(50), "pk_test", "winback", "winback-20261201-s1", "Win back", base_url=fake_klaviyo.url,
                 sleep=waits.append)
    assert len(fake_klaviyo.state["k"]["lists"]) == 1
    assert {j["list"] for j in fake_klaviyo.state["k"]["jobs"].values()} == {"L1"}


def test_klaviyo_splits_by_bytes_before_ten_thousand(fake_klaviyo):
    lst = _list(6_000, control_every=1_000_000).assign(segment="x" * 1_000)  # ~1.1 KB a profile
    push_klaviyo(lst, "pk_test", "vip", "vip-1", base_url=fake_klaviyo.url, sleep=lambda s: None)
    jobs = [q for q in fake_klaviyo.requests if q["path"] == "/api/profile-bulk-import-jobs" and q["body"]]
    assert len(jobs) == 2 and all(q["bytes"] <= 5_000_000 for q in jobs)


def test_klaviyo_refuses_a_bad_key_in_words(fake_klaviyo):
    with pytest.raises(PushError, match="private key with the profiles:write"):
        push_klaviyo(_list(10), "wrong", "vip", "vip-1", base_url=fake_klaviyo.url, sleep=lambda s: None)


def test_mailchimp_tags_members_in_batches_and_changes_no_status(fake_mailchimp):
    lst = _list(1_800, bad_every=0)
    members = fake_mailchimp.state.setdefault("m", {"members": {}, "segments": {}, "tagged": {}})["members"]
    treat = lst[lst["group"] == "treatment"]
    for e in treat["email"].iloc[:1_200]:
        members[e] = "unsubscribed" if e.endswith("7@shop.example") else "subscribed"
    before = dict(members)
    fake_mailchimp.script.append(("POST", "/lists/aud1/segments/", 429, {}))
    waits = []
    r = push_mailchimp(lst, "key-us6", "aud1", "winback", "winback-1", base_url=fake_mailchimp.url,
                       sleep=waits.append)
    calls = [q for q in fake_mailchimp.requests if q["body"] and "members_to_add" in q["body"]]
    assert max(len(q["body"]["members_to_add"]) for q in calls) <= 500 and waits == [1.0]
    assert r.sent == 1_200 and r.not_pushed == len(treat) - 1_200 and r.failed == 0
    assert members == before                                   # nobody subscribed or resubscribed
    assert fake_mailchimp.state["m"]["tagged"][100] == set(treat["email"].iloc[:1_200])
    assert fake_mailchimp.sent_emails().isdisjoint(set(lst.loc[lst["group"] == "control", "email"]))
    assert "not in your audience and not added" in r.in_words()


def test_mailchimp_adds_new_contacts_only_with_a_chosen_status(fake_mailchimp):
    lst = _list(1_200, bad_every=50)
    r = push_mailchimp(lst, "key-us6", "aud1", "vip", "vip-1", new_status="transactional",
                       base_url=fake_mailchimp.url, sleep=lambda s: None)
    batches = [q for q in fake_mailchimp.requests if q["body"] and "members" in q["body"]]
    assert all(len(q["body"]["members"]) <= 500 and q["body"]["update_existing"] is False for q in batches)
    assert all(m["tags"] == ["clv vip-1"] and m["status"] == "transactional" for q in batches for m in q["body"]["members"])
    treat = lst[lst["group"] == "treatment"]
    bad = int(treat["email"].str.startswith("invalid").sum())
    assert r.sent == len(treat) - bad and r.failed == bad and "looks fake" in r.examples[0]
    with pytest.raises(PushError, match="must be one of"):
        push_mailchimp(lst, "key-us6", "aud1", "vip", "vip-1", new_status="yes", base_url=fake_mailchimp.url)
    with pytest.raises(PushError, match="refused the API key"):
        push_mailchimp(lst, "key-us1", "aud1", "vip", "vip-1", base_url=fake_mailchimp.url, sleep=lambda s: None)
