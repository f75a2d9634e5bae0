"""Direct push: a target list's treatment group into the founder's Klaviyo list or Mailchimp audience — never the
control group (the same rows as the send file, clv.send.send_frame).

Klaviyo (developers.klaviyo.com, "Bulk Import Profiles", revision ``KLAVIYO_REVISION``): the list is found by name
or created (``POST /api/lists``); the profiles are upserted with bulk profile import jobs
(``POST /api/profile-bulk-import-jobs``, at most 10,000 profiles and 5 MB per request) that add them to the list;
each job is then polled and its import errors fetched, so a partial failure is counted and shown with an example.

Mailchimp (mailchimp.com/developer, Marketing API 3.0): customers go into the audience under a tag named after the
campaign (a tag is a static segment: found by name or created). Members already in the audience are tagged in
batches of 500 (``POST /lists/{id}/segments/{tag}``, ``members_to_add``), which leaves their subscription status as
it is — an upsert that sets a status would resubscribe people who unsubscribed. Customers not in the audience are
added only if the founder chose a status for new contacts (``new_status``: subscribed, pending or transactional),
with batch member upserts of 500 (``POST /lists/{id}``, ``update_existing`` false, so nobody's status changes);
otherwise they are counted as not pushed.

Both honour 429s (waiting ``Retry-After`` seconds, or backing off) and retry 5xx a few times; an API's refusal (a
bad key, a missing list) is raised as PushError in words.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pandas as pd

from .send import send_frame

__all__ = ["PushError", "PushResult", "push_klaviyo", "push_mailchimp", "KLAVIYO_REVISION", "KLAVIYO_MAX_PROFILES",
           "KLAVIYO_MAX_BYTES", "MAILCHIMP_BATCH"]

KLAVIYO_REVISION = "2026-10-15"
KLAVIYO_MAX_PROFILES = 10_000
KLAVIYO_MAX_BYTES = 5_000_000
MAILCHIMP_BATCH = 500
MAILCHIMP_NEW_STATUSES = ("subscribed", "pending", "transactional")


class PushError(Exception):
    """A push that could not be done, in words for the page."""


@dataclass
class PushResult:
    tool: str                 # "Klaviyo" or "Mailchimp"
    destination: str          # the list or audience tag, in words
    sent: int                 # customers accepted
    failed: int               # customers the tool rejected
    not_pushed: int           # customers deliberately not pushed (Mailchimp: not in the audience, no status chosen)
    held_out: int             # control customers never sent
    without_email: int        # treatment customers without an e-mail address
    at: str                   # when (UTC, ISO)
    requests: int
    retries: int
    examples: list = field(default_factory=list)   # a few rejection reasons
    pending: int = 0          # Klaviyo: profiles still being imported when polling stopped

    def in_words(self) -> str:
        parts = [f"{self.sent:,} customers sent to {self.tool} {self.destination} at {self.at[:16].replace('T', ' ')} UTC"]
        if self.pending:
            parts.append(f"{self.pending:,} still being imported by {self.tool}")
        if self.failed:
            parts.append(f"{self.failed:,} rejected by {self.tool}"
                         + (f" (e.g. {self.examples[0]})" if self.examples else ""))
        if self.not_pushed:
            parts.append(f"{self.not_pushed:,} not in your audience and not added (choose a status for new contacts "
                         "to add them)")
        if self.without_email:
            parts.append(f"{self.without_email:,} without an e-mail address left out")
        parts.append(f"the {self.held_out:,} control customers were not sent")
        return "; ".join(parts) + "."


class _Http:
    """JSON over HTTPS with the retries both APIs ask for: a 429 waits Retry-After seconds (or backs off), a 5xx
    or a dropped connection is retried, anything else is returned."""

    def __init__(self, base: str, headers: dict, sleep=time.sleep, max_retries: int = 5, timeout: float = 60):
        self.base, self.headers, self.sleep = base.rstrip("/"), headers, sleep
        self.max_retries, self.timeout = max_retries, timeout
        self.requests = self.retries = 0

    def __call__(self, method: str, path: str, body=None, query: dict | None = None) -> tuple[int, dict]:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            req = urllib.request.Request(url, data=data, method=method, headers=self.headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    raw = r.read()
                    try:
                        return r.status, json.loads(raw) if raw else {}
                    except ValueError as exc:  # a proxy's or a login page's HTML: said, not a traceback
                        raise PushError(f"{self.base} answered {r.status} with something that is not the API's "
                                        f"JSON ({raw[:80]!r}); check the address and the key.") from exc
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                status, wait = exc.code, exc.headers.get("Retry-After")
                if (status == 429 or status >= 500) and attempt < self.max_retries:
                    self.retries += 1
                    self.sleep(float(wait) if wait and wait.replace(".", "", 1).isdigit() else 2.0 ** attempt)
                    continue
                try:
                    return status, json.loads(raw) if raw else {}
                except ValueError:
                    return status, {"detail": raw[:200].decode(errors="replace")}
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt < self.max_retries:
                    self.retries += 1
                    self.sleep(2.0 ** attempt)
                    continue
                raise PushError(f"Could not reach {self.base}: {getattr(exc, 'reason', exc)}.") from exc
        raise PushError(f"{self.base} kept answering 'too many requests' or failing after {self.max_retries} retries; "
                        "try again in a few minutes.")


def _field(body: dict, *path, what: str):
    """``body[path…]``, or a PushError saying what the answer lacked."""
    for key in path:
        if not isinstance(body, dict) or key not in body:
            raise PushError(f"The answer did not carry {what}; nothing more was sent.")
        body = body[key]
    return body


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _klaviyo_error(tool_status: int, body: dict, what: str) -> PushError:
    errors = body.get("errors") or [{}]
    detail = errors[0].get("detail") or errors[0].get("title") or body.get("detail") or ""
    if tool_status in (401, 403):
        return PushError(f"Klaviyo refused the API key while {what} ({detail}). Use a private key with the "
                         "profiles:write and lists:write scopes.")
    return PushError(f"Klaviyo answered {tool_status} while {what}: {detail}")


def push_klaviyo(lst: pd.DataFrame, api_key: str, tactic: str, campaign_id: str, tactic_name: str | None = None,
                 list_id: str | None = None, list_name: str | None = None, base_url: str = "https://a.klaviyo.com",
                 sleep=time.sleep, polls: int = 15) -> PushResult:
    """Upsert the treatment group's profiles (e-mail plus the send file's properties) into a Klaviyo list: ``list_id``,
    or the list called ``list_name`` (created when missing; default "clv · <tactic> · <campaign>")."""
    rows, held_out, without = send_frame(lst, "klaviyo", tactic, campaign_id, tactic_name)
    http = _Http(base_url, {"Authorization": f"Klaviyo-API-Key {api_key}", "revision": KLAVIYO_REVISION,
                            "accept": "application/vnd.api+json", "content-type": "application/vnd.api+json"},
                 sleep=sleep)
    name = (list_name or f"clv · {tactic_name or tactic} · {campaign_id}").replace('"', "'")  # filter quotes
    if not list_id:
        status, body = http("GET", "/api/lists", query={"filter": f'equals(name,"{name}")'})
        if status != 200:
            raise _klaviyo_error(status, body, "looking for the list")
        found = [d for d in body.get("data", []) if d.get("attributes", {}).get("name") == name]
        if found:
            list_id = found[0]["id"]
        else:
            status, body = http("POST", "/api/lists", {"data": {"type": "list", "attributes": {"name": name}}})
            if status not in (200, 201):
                raise _klaviyo_error(status, body, "creating the list")
            list_id = _field(body, "data", "id", what="the new list's id")
    profiles = []
    for rec in rows.to_dict("records"):
        props = {k: v for k, v in rec.items() if k != "Email" and v is not None and v == v}
        profiles.append({"type": "profile", "attributes": {"email": rec["Email"], "properties": props}})
    jobs, chunk, size = [], [], 0
    overhead = len(json.dumps(_klaviyo_job([], list_id)).encode())

    def flush():
        status, body = http("POST", "/api/profile-bulk-import-jobs", _klaviyo_job(chunk, list_id))
        if status not in (200, 202):
            raise _klaviyo_error(status, body, f"importing {len(chunk):,} profiles")
        jobs.append((_field(body, "data", "id", what="the import job's id"), len(chunk)))
    for p in profiles:
        n = len(json.dumps(p).encode()) + 2  # and the ", " before it
        if chunk and (len(chunk) == KLAVIYO_MAX_PROFILES or overhead + size + n > KLAVIYO_MAX_BYTES):
            flush()
            chunk, size = [], 0
        chunk.append(p)
        size += n
    if chunk:
        flush()
    sent = failed = pending = 0
    examples = []
    for job_id, count in jobs:
        attrs = {}
        for i in range(polls):
            status, body = http("GET", f"/api/profile-bulk-import-jobs/{job_id}")
            attrs = body.get("data", {}).get("attributes", {}) if status == 200 else {}
            if attrs.get("status") in ("complete", "cancelled"):
                break
            sleep(min(2.0 * (i + 1), 10.0))
        if attrs.get("status") not in ("complete", "cancelled"):
            pending += count
            continue
        done, bad = int(attrs.get("completed_count") or 0), int(attrs.get("failed_count") or 0)
        sent, failed = sent + done, failed + bad
        if bad and len(examples) < 3:
            status, body = http("GET", f"/api/profile-bulk-import-jobs/{job_id}/import-errors")
            for err in body.get("data", [])[:3 - len(examples)]:
                a = err.get("attributes", {})
                examples.append(f"{a.get('original_payload', {}).get('email', '?')}: {a.get('detail') or a.get('title')}")
    return PushResult("Klaviyo", f"list '{name}' ({list_id})", sent, failed, 0, held_out, without, _now(),
                      http.requests, http.retries, examples, pending)


def _klaviyo_job(profiles: list, list_id: str) -> dict:
    return {"data": {"type": "profile-bulk-import-job",
                     "attributes": {"profiles": {"data": profiles}},
                     "relationships": {"lists": {"data": [{"type": "list", "id": list_id}]}}}}


def _mailchimp_error(status: int, body: dict, what: str) -> PushError:
    detail = body.get("detail") or body.get("title") or ""
    if status in (401, 403):
        return PushError(f"Mailchimp refused the API key while {what} ({detail}).")
    return PushError(f"Mailchimp answered {status} while {what}: {detail}")


def push_mailchimp(lst: pd.DataFrame, api_key: str, audience_id: str, tactic: str, campaign_id: str,
                   new_status: str | None = None, base_url: str | None = None, sleep=time.sleep) -> PushResult:
    """Tag the treatment group in a Mailchimp audience with the campaign's tag ("clv <campaign id>"); with
    ``new_status``, customers not yet in the audience are added with that status and the tag."""
    if new_status and new_status not in MAILCHIMP_NEW_STATUSES:
        raise PushError(f"Mailchimp's status for new contacts must be one of {', '.join(MAILCHIMP_NEW_STATUSES)}, "
                        f"not {new_status!r}.")
    if base_url is None:
        if "-" not in api_key:
            raise PushError("A Mailchimp API key ends with its data centre, such as '-us6'; this one does not.")
        base_url = f"https://{api_key.rsplit('-', 1)[1]}.api.mailchimp.com/3.0"
    rows, held_out, without = send_frame(lst, "mailchimp", tactic, campaign_id)
    emails = list(dict.fromkeys(rows["Email Address"]))
    http = _Http(base_url, {"Authorization": "Basic " + base64.b64encode(f"clv:{api_key}".encode()).decode(),
                            "content-type": "application/json"}, sleep=sleep)
    tag = f"clv {campaign_id}"
    status, body = http("GET", f"/lists/{audience_id}/segments", query={"type": "static", "count": 1000})
    if status != 200:
        raise _mailchimp_error(status, body, "reading the audience's tags")
    found = [s for s in body.get("segments", []) if s.get("name") == tag]
    if found:
        seg = found[0]["id"]
    else:
        status, body = http("POST", f"/lists/{audience_id}/segments", {"name": tag, "static_segment": []})
        if status != 200:
            raise _mailchimp_error(status, body, f"creating the tag '{tag}'")
        seg = _field(body, "id", what="the new tag's id")
    sent = failed = 0
    examples, outside = [], []
    for i in range(0, len(emails), MAILCHIMP_BATCH):
        batch = emails[i:i + MAILCHIMP_BATCH]
        status, body = http("POST", f"/lists/{audience_id}/segments/{seg}", {"members_to_add": batch})
        if status != 200:
            raise _mailchimp_error(status, body, f"tagging {len(batch):,} members")
        sent += int(body.get("total_added", len(body.get("members_added", []))))
        for err in body.get("errors", []):
            outside += err.get("email_addresses", [])
    not_pushed = len(outside)
    if new_status and outside:
        for i in range(0, len(outside), MAILCHIMP_BATCH):
            batch = outside[i:i + MAILCHIMP_BATCH]
            status, body = http("POST", f"/lists/{audience_id}", {
                "members": [{"email_address": e, "status": new_status, "tags": [tag]} for e in batch],
                "update_existing": False})
            if status != 200:
                raise _mailchimp_error(status, body, f"adding {len(batch):,} new contacts")
            sent += int(body.get("total_created", len(body.get("new_members", []))))
            for err in body.get("errors", []):
                failed += 1
                if len(examples) < 3:
                    examples.append(f"{err.get('email_address', '?')}: {err.get('error', err.get('error_code', ''))}")
        not_pushed = 0
    return PushResult("Mailchimp", f"audience {audience_id}, tag '{tag}'", sent, failed, not_pushed, held_out, without,
                      _now(), http.requests, http.retries, examples)
