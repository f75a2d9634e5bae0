"""Send files: the treatment group of a target list, in the formats founders' tools import — never the control group.

A target list (clv.tactics.target_list) holds both groups; sending it as it is would mail the controls and void the
measurement. ``send_file`` keeps the treatment only; the campaign file (clv.campaigns.campaign_file), with both
groups, stays with the data set to measure the campaign later.

Formats (``SEND_FORMATS``):
- ``plain``: human headers, money rounded, probabilities as percentages;
- ``klaviyo``: Klaviyo's list import — the first column "Email", the others become profile properties
  (help.klaviyo.com, "How to create and add subscribers to a new list");
- ``mailchimp``: Mailchimp's audience import — "Email Address" and "Tags";
- ``meta``: a Meta Custom Audience customer file — "email" normalised as Meta asks (leading and trailing spaces
  removed, lower case) and SHA-256 hex;
- ``google``: Google Customer Match — "Email" normalised as Google asks (as Meta, and the dots before the @ of
  gmail.com and googlemail.com addresses removed) and SHA-256 hex.
Customers without an e-mail address cannot be matched by any of the tools that need one: they are left out of those
files and counted (``SendFile.without_email``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .export import to_safe_csv

__all__ = ["SEND_FORMATS", "SendFile", "send_file", "send_frame", "normalise_email", "sha256_hex"]

SEND_FORMATS = {"plain": "Plain CSV (readable headers)", "klaviyo": "Klaviyo list import",
                "mailchimp": "Mailchimp audience import", "meta": "Meta Custom Audience (hashed)",
                "google": "Google Customer Match (hashed)"}


def normalise_email(email: str, google: bool = False) -> str:
    """Trimmed and lower-cased; for Google, also without the dots before the @ of gmail.com / googlemail.com."""
    e = str(email).strip().lower()
    if google and "@" in e:
        local, domain = e.rsplit("@", 1)
        if domain in ("gmail.com", "googlemail.com"):
            e = local.replace(".", "") + "@" + domain
    return e


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SendFile:
    content: bytes        # the CSV
    rows: int             # customers in it (treatment only)
    held_out: int         # control customers left out
    without_email: int    # treatment customers left out because they have no e-mail address (e-mail tools only)
    filename: str


def _emails(lst: pd.DataFrame) -> pd.Series:
    """Each customer's e-mail: the ``email`` column, else the customer id where it is an address."""
    import pandas as pd
    email = lst["email"] if "email" in lst else pd.Series(None, index=lst.index, dtype=object)
    ids = lst["customer_id"].astype(str)
    email = email.where(email.notna() & (email.astype(str).str.strip() != ""), ids.where(ids.str.contains("@")))
    return email.where(email.astype(str).str.contains("@", na=False))


def send_file(lst: pd.DataFrame, fmt: str, tactic: str, campaign_id: str, tactic_name: str | None = None,
              currency: str | None = None) -> SendFile:
    """The file to send for one tactic's target list in ``fmt`` (a SEND_FORMATS key): treatment rows only."""
    out, held_out, missing = send_frame(lst, fmt, tactic, campaign_id, tactic_name, currency)
    return SendFile(to_safe_csv(out), len(out), held_out, missing, f"send_{fmt}_{campaign_id}.csv")


def send_frame(lst: pd.DataFrame, fmt: str, tactic: str, campaign_id: str, tactic_name: str | None = None,
               currency: str | None = None) -> tuple[pd.DataFrame, int, int]:
    """The rows of ``send_file`` as a table (what clv.push sends): (rows, control customers left out, treatment
    customers left out for want of an e-mail address)."""
    import pandas as pd  # (here, not with the module: the command line's parser reads SEND_FORMATS)
    if fmt not in SEND_FORMATS:
        raise ValueError(f"unknown send format {fmt!r}; one of {', '.join(SEND_FORMATS)}")
    treat = lst[lst["group"] == "treatment"] if "group" in lst else lst
    held_out = len(lst) - len(treat)
    email = _emails(treat)
    money = f" ({currency})" if currency else ""
    value = treat["clv"].round(2) if "clv" in treat else None
    risk = (treat["churn_risk"] * 100).round(0).astype("Int64").astype(str) + "%" if "churn_risk" in treat else None
    if fmt == "plain":
        out = pd.DataFrame({"Customer": treat["customer_id"].astype(str), "Email": email,
                            "Segment": treat.get("segment"), f"Projected value{money}": value,
                            "Chance of no purchase soon": risk,
                            f"Expected gain from this message{money}": treat.get("expected_gain"),
                            "Why": treat.get("reason"), "Tactic": tactic_name or tactic, "Campaign": campaign_id})
        missing = 0
    else:
        has = email.notna()
        missing = int((~has).sum())
        treat, email = treat[has], email[has]
        if fmt == "klaviyo":
            out = pd.DataFrame({"Email": email.map(normalise_email), "Predicted value": treat["clv"].round(2),
                                "Churn risk": risk[has] if risk is not None else None,
                                "Segment": treat.get("segment"), "Tactic": tactic_name or tactic,
                                "Campaign ID": campaign_id})
        elif fmt == "mailchimp":
            out = pd.DataFrame({"Email Address": email.map(normalise_email),
                                "Tags": f"clv,{tactic},{campaign_id}"})
        elif fmt == "meta":
            out = pd.DataFrame({"email": email.map(lambda e: sha256_hex(normalise_email(e)))})
        else:
            out = pd.DataFrame({"Email": email.map(lambda e: sha256_hex(normalise_email(e, google=True)))})
    return out, held_out, missing
