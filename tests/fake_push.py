"""Local fake Klaviyo and Mailchimp servers that follow the documented requests and responses of the endpoints clv.push
uses — including 429s with Retry-After, a 5xx, size limits and partial failures — so the push is tested without a
network. Every request is recorded (method, path, headers, JSON body)."""
from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Fake:
    def __init__(self, handler):
        self.requests, self.script = [], []   # script: (method, path prefix, status, headers) answered once
        self.state = {}
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _go(self, method):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urllib.parse.urlparse(self.path)
                rec = {"method": method, "path": url.path, "query": dict(urllib.parse.parse_qsl(url.query)),
                       "headers": dict(self.headers), "bytes": len(raw), "body": json.loads(raw) if raw else None}
                fake.requests.append(rec)
                for i, (m, prefix, status, headers) in enumerate(fake.script):
                    if m == method and url.path.startswith(prefix):
                        del fake.script[i]
                        return self._send(status, {"detail": "scripted"}, headers)
                status, body = handler(fake, rec)
                self._send(status, body)

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._go("GET")

            def do_POST(self):
                self._go("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def sent_emails(self) -> set:
        out = set()
        for r in self.requests:
            b = r["body"] or {}
            if "data" in b and b["data"].get("type") == "profile-bulk-import-job":
                out |= {p["attributes"]["email"] for p in b["data"]["attributes"]["profiles"]["data"]}
            out |= set(b.get("members_to_add", [])) | {m["email_address"] for m in b.get("members", [])}
        return out


def klaviyo(fake: Fake, r: dict):
    """POST/GET /api/lists, POST /api/profile-bulk-import-jobs, GET .../{id} and .../{id}/import-errors."""
    st = fake.state.setdefault("k", {"lists": {}, "jobs": {}, "profiles": {}})
    h = {k.lower(): v for k, v in r["headers"].items()}
    if h.get("authorization") != "Klaviyo-API-Key pk_test" or not h.get("revision"):
        return 401, {"errors": [{"status": 401, "title": "Incorrect authentication credentials.",
                                 "detail": "Missing or invalid private key."}]}
    p = r["path"]
    if p == "/api/lists" and r["method"] == "GET":
        name = r["query"].get("filter", "")[len('equals(name,"'):-2]
        return 200, {"data": [{"type": "list", "id": i, "attributes": {"name": n}} for i, n in st["lists"].items()
                              if n == name]}
    if p == "/api/lists":
        lid = f"L{len(st['lists']) + 1}"
        st["lists"][lid] = r["body"]["data"]["attributes"]["name"]
        return 201, {"data": {"type": "list", "id": lid, "attributes": {"name": st["lists"][lid]}}}
    if p == "/api/profile-bulk-import-jobs" and r["method"] == "POST":
        profiles = r["body"]["data"]["attributes"]["profiles"]["data"]
        if len(profiles) > 10_000 or r["bytes"] > 5_000_000:
            return 413, {"errors": [{"status": 413, "detail": "Payload too large"}]}
        bad = [x for x in profiles if "invalid" in x["attributes"]["email"]]
        jid = f"J{len(st['jobs']) + 1}"
        st["jobs"][jid] = {"total": len(profiles), "bad": bad, "polls": 0,
                           "list": r["body"]["data"]["relationships"]["lists"]["data"][0]["id"]}
        for x in profiles:
            if x not in bad:
                st["profiles"][x["attributes"]["email"]] = x["attributes"]
        return 202, {"data": {"type": "profile-bulk-import-job", "id": jid,
                              "attributes": {"status": "queued", "total_count": len(profiles)}}}
    if p.startswith("/api/profile-bulk-import-jobs/") and p.endswith("/import-errors"):
        job = st["jobs"][p.split("/")[3]]
        return 200, {"data": [{"type": "import-error", "id": str(i),
                               "attributes": {"code": "invalid", "title": "Invalid email address",
                                              "detail": "The email address is not valid.",
                                              "original_payload": x["attributes"]}} for i, x in enumerate(job["bad"])]}
    if p.startswith("/api/profile-bulk-import-jobs/"):
        job = st["jobs"][p.split("/")[3]]
        job["polls"] += 1
        done = job["polls"] > 1  # processing at the first poll
        return 200, {"data": {"type": "profile-bulk-import-job", "id": p.split("/")[3], "attributes": {
            "status": "complete" if done else "processing", "total_count": job["total"],
            "completed_count": job["total"] - len(job["bad"]) if done else 0,
            "failed_count": len(job["bad"]) if done else 0}}}
    return 404, {"errors": [{"status": 404, "detail": "Not found"}]}


def mailchimp(fake: Fake, r: dict):
    """GET/POST /lists/{id}/segments, POST /lists/{id}/segments/{seg} (members_to_add), POST /lists/{id} (batch)."""
    st = fake.state.setdefault("m", {"members": {}, "segments": {}, "tagged": {}})
    h = {k.lower(): v for k, v in r["headers"].items()}
    if h.get("authorization") != "Basic " + base64.b64encode(b"clv:key-us6").decode():
        return 401, {"title": "API Key Invalid", "status": 401, "detail": "Your API key may be invalid."}
    parts = r["path"].strip("/").split("/")
    if parts[:1] != ["lists"] or parts[1] != "aud1":
        return 404, {"title": "Resource Not Found", "status": 404, "detail": "The requested resource could not be found."}
    if len(parts) == 3 and r["method"] == "GET":
        return 200, {"segments": [{"id": i, "name": n, "type": "static"} for i, n in st["segments"].items()]}
    if len(parts) == 3:
        sid = len(st["segments"]) + 100
        st["segments"][sid] = r["body"]["name"]
        return 200, {"id": sid, "name": r["body"]["name"], "type": "static"}
    if len(parts) == 4:
        emails = r["body"]["members_to_add"]
        if len(emails) > 500:
            return 400, {"title": "Invalid Resource", "status": 400, "detail": "Cannot add more than 500 members"}
        ok = [e for e in emails if e in st["members"]]
        out = [e for e in emails if e not in st["members"]]
        st["tagged"].setdefault(int(parts[3]), set()).update(ok)
        return 200, {"members_added": [{"email_address": e} for e in ok], "members_removed": [],
                     "errors": [{"email_addresses": out, "error": "Email addresses do not belong to this list"}]
                     if out else [], "total_added": len(ok), "total_removed": 0, "error_count": len(out)}
    members = r["body"]["members"]
    if len(members) > 500:
        return 400, {"title": "Invalid Resource", "status": 400, "detail": "Too many members"}
    new, errors = [], []
    for m in members:
        if "invalid" in m["email_address"]:
            errors.append({"email_address": m["email_address"], "error": "looks fake or invalid",
                           "error_code": "ERROR_GENERIC"})
        elif m["email_address"] in st["members"]:
            errors.append({"email_address": m["email_address"], "error": "is already a list member",
                           "error_code": "ERROR_CONTACT_EXISTS"})
        else:
            st["members"][m["email_address"]] = m["status"]
            new.append({"email_address": m["email_address"], "status": m["status"], "tags": m.get("tags", [])})
    return 200, {"new_members": new, "updated_members": [], "errors": errors, "total_created": len(new),
                 "total_updated": 0, "error_count": len(errors)}
