"""Send files: the treatment group only, in the formats the tools import, e-mails normalised and hashed as the
platforms specify (checked against a published example: TikTok's and Meta's "janedoe@gmail.com")."""
import io

import pandas as pd
import pytest

from clv.send import SEND_FORMATS, normalise_email, send_file, sha256_hex

#: the hashed example of the platforms' customer-file guides (ads.tiktok.com "List of supported IDs and formats for
#: a customer file": normalised "janedoe@gmail.com")
JANEDOE = "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"

LIST = pd.DataFrame({
    "email": [" JaneDoe@Gmail.com ", "c2@example.com", None, "=HYPERLINK(\"x\")@evil.example", "jane.doe@gmail.com"],
    "customer_id": ["c1", "c2", "c3", "c4", "c5"], "segment": ["Champions"] * 5,
    "clv": [300.954451, 20.1, 5.0, 1.0, 2.0], "churn_risk": [0.508168, 0.9, 0.2, 0.3, 0.4],
    "expected_gain": [10.0, 2.0, 1.0, 0.5, 0.1], "reason": ["silent for 7"] * 5,
    "group": ["treatment", "control", "treatment", "treatment", "treatment"]})


def _read(f) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(f.content), dtype=str, keep_default_na=False)


def test_normalisation_and_hash_match_the_published_example():
    assert sha256_hex(normalise_email("  JaneDoe@Gmail.com ")) == JANEDOE
    # Google also drops the dots before @gmail.com / @googlemail.com, nowhere else
    assert normalise_email("Jane.Doe@gmail.com", google=True) == "janedoe@gmail.com"
    assert normalise_email("jane.doe@example.com", google=True) == "jane.doe@example.com"
    assert sha256_hex(normalise_email(" Jane.Doe@GoogleMail.com", google=True)) == \
        sha256_hex("janedoe@googlemail.com")


@pytest.mark.parametrize("fmt", list(SEND_FORMATS))
def test_no_control_customer_is_ever_in_a_send_file(fmt):
    f = send_file(LIST, fmt, "winback", "winback-20261206-s0", "Win-back offer")
    assert f.held_out == 1
    text = f.content.decode()
    assert "c2@example.com" not in text and sha256_hex("c2@example.com") not in text and ",c2," not in text


def test_each_format_has_the_headers_its_tool_imports():
    plain = _read(send_file(LIST, "plain", "winback", "w1", "Win-back offer", "EUR"))
    assert list(plain.columns[:5]) == ["Customer", "Email", "Segment", "Projected value (EUR)",
                                       "Chance of no purchase soon"]
    assert plain.loc[0, "Projected value (EUR)"] == "300.95" and plain.loc[0, "Chance of no purchase soon"] == "51%"
    assert len(plain) == 4  # every treated customer, with or without an address
    klaviyo = send_file(LIST, "klaviyo", "winback", "w1", "Win-back offer")
    k = _read(klaviyo)
    assert k.columns[0] == "Email" and {"Predicted value", "Churn risk", "Segment", "Tactic", "Campaign ID"} <= set(k)
    assert klaviyo.without_email == 1 and k.loc[0, "Email"] == "janedoe@gmail.com"
    # a cell a spreadsheet would run as a formula is neutralised, as in every download
    assert any(v.startswith("'=") for v in k["Email"])
    m = _read(send_file(LIST, "mailchimp", "winback", "w1"))
    assert list(m.columns) == ["Email Address", "Tags"] and m.loc[0, "Tags"] == "clv,winback,w1"
    meta = _read(send_file(LIST, "meta", "winback", "w1"))
    assert list(meta.columns) == ["email"] and meta.loc[0, "email"] == JANEDOE
    google = _read(send_file(LIST, "google", "winback", "w1"))
    assert list(google.columns) == ["Email"] and list(google["Email"]).count(JANEDOE) == 2  # jane.doe@gmail.com too
    assert all(len(h) == 64 and h == h.lower() for h in google["Email"])


def test_ids_that_are_addresses_are_used_when_there_is_no_email_column():
    lst = LIST.drop(columns=["email"]).assign(customer_id=["a@x.example", "b@x.example", "c", "d@x.example",
                                                           "e@x.example"])
    f = send_file(lst, "klaviyo", "winback", "w1")
    assert f.rows == 3 and f.without_email == 1
