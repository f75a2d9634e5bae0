"""Workspaces: a founder's uploaded shops kept on the server, so a reload or a new visit finds them again.

Layout under the root (``CLV_WORKSPACES``, else ``$XDG_DATA_HOME/clv/workspaces``, else
``~/.local/share/clv/workspaces``)::

    <owner key>/                  one per signed-in user (or per browser token when there is no sign-in)
        last                      the id of the data set opened last
        settings.json             the sidebar's settings (horizon, margin, thresholds, …) as last changed
        <data set id>/
            meta.json             name, created, opened, and the choices that rebuild it (mapping, currency, …)
            orders/…              the uploaded orders file(s), as uploaded
            events/…              the uploaded interactions file
            campaigns/<id>.csv    campaign files kept from the playbook

The owner key is a hash of the user's identity, so no e-mail appears in a path. ``delete`` removes the data set's
folder and every file in it.
"""
from __future__ import annotations

import datetime as dt
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
from pathlib import Path

__all__ = ["default_root", "Workspace", "new_token", "valid_token", "oidc_owner"]

SLOTS = ("orders", "events", "ad_spend")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def default_root() -> Path:
    if os.environ.get("CLV_WORKSPACES"):
        return Path(os.environ["CLV_WORKSPACES"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "clv" / "workspaces"


def _server_secret() -> bytes:
    """The key this server signs browser tokens with: ``CLV_SECRET``, else a random key kept in the workspace root
    (created once, readable by the server's user only)."""
    if os.environ.get("CLV_SECRET"):
        return os.environ["CLV_SECRET"].encode("utf-8")
    path = default_root() / ".token-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        except FileExistsError:  # another session created it a moment ago
            pass
    return path.read_bytes()


def _mac(part: str) -> str:
    digest = hmac.new(_server_secret(), part.encode("ascii"), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def new_token() -> str:
    """A browser token (the workspace key when nobody signs in): 128 random bits and this server's signature of
    them, URL-safe — only a token the server issued opens a workspace (``valid_token``), so a link with a token
    someone chose opens a fresh one, never theirs."""
    part = secrets.token_urlsafe(16)
    return part + _mac(part)


def valid_token(token: str | None) -> bool:
    """A token this server issued (signature checked in constant time)."""
    if not token or not _TOKEN.match(token) or len(token) != 38:
        return False
    return hmac.compare_digest(_mac(token[:22]), token[22:])


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[-80:].lstrip(".") or "upload"


def oidc_owner(user) -> str:
    """The workspace owner of a signed-in OIDC user: the provider's stable subject (``iss`` + ``sub``), never a
    display name or an e-mail (two people named Sam Smith, or two users without an e-mail, shared one). A
    ValueError when the provider gives no subject: such a sign-in is refused."""
    iss, sub = str(user.get("iss") or "").strip(), str(user.get("sub") or "").strip()
    if not iss or not sub:
        raise ValueError("The sign-in provider did not say who you are in a stable way (no 'iss' and 'sub' claims), "
                         "so your data sets could be mixed with someone else's; ask whoever runs the server to use a "
                         "provider that sends them.")
    return f"oidc:{iss}|{sub}"


class Workspace:
    """The data sets of one owner (an identity such as an e-mail, or a browser token)."""

    def __init__(self, owner: str, root: Path | None = None):
        key = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]
        self.dir = Path(root or default_root()) / key

    # -- data sets ---------------------------------------------------------------------------------------------
    def _ds(self, ds: str) -> Path:
        if not _ID.match(ds or ""):
            raise ValueError(f"not a data set id: {ds!r}")
        return self.dir / ds

    def create(self, name: str) -> str:
        now = dt.datetime.now(dt.timezone.utc)
        ds = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        path = self._ds(ds)
        path.mkdir(parents=True)
        self._write_meta(ds, {"name": name, "created": now.isoformat(), "opened": now.isoformat(), "state": {}})
        return ds

    def datasets(self) -> list[dict]:
        """Every data set: id, name, created, opened, damaged (its meta.json unreadable) — the most recently opened
        first."""
        out = []
        if self.dir.exists():
            for p in self.dir.iterdir():
                if p.is_dir() and _ID.match(p.name) and (p / "meta.json").exists():
                    try:
                        meta = json.loads((p / "meta.json").read_text(encoding="utf-8"))
                        if not isinstance(meta, dict):
                            raise ValueError("not an object")
                        damaged = False
                    except (OSError, ValueError):  # listed as damaged (it can still be deleted), never a crash
                        meta, damaged = {}, True
                    out.append({"id": p.name, "name": str(meta.get("name", p.name)), "created": meta.get("created"),
                                "opened": meta.get("opened"), "damaged": damaged})
        return sorted(out, key=lambda d: str(d["opened"] or ""), reverse=True)

    def delete(self, ds: str) -> None:
        """Remove the data set and every file in it."""
        shutil.rmtree(self._ds(ds), ignore_errors=False)
        if self.last() == ds:
            (self.dir / "last").unlink(missing_ok=True)

    # -- files ---------------------------------------------------------------------------------------------
    def add_files(self, ds: str, slot: str, files: list[tuple[str, bytes]]) -> list[Path]:
        """Store the upload(s) of a slot ("orders", "events" or "ad_spend"), replacing what the slot held. Whole or absent: the
        files are written into a folder beside the slot and swapped in when all are complete, so a full disk or a
        stopped server never leaves a truncated upload that a later visit would load as the data set."""
        if slot not in SLOTS:
            raise ValueError(slot)
        folder = self._ds(ds) / slot
        partial = self._ds(ds) / f".{slot}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            names = []
            for i, (name, data) in enumerate(files):
                names.append(f"{i:02d}-{_safe_name(name)}")
                (partial / names[-1]).write_bytes(data)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
        return [folder / n for n in names]

    def files(self, ds: str, slot: str) -> list[Path]:
        folder = self._ds(ds) / slot
        return sorted(folder.iterdir()) if folder.exists() else []

    def kept_files(self, ds: str, slot: str) -> list[tuple[str, bytes]]:
        """(name as uploaded, bytes) of each file a slot holds, in upload order."""
        return [(p.name.split("-", 1)[1], p.read_bytes()) for p in self.files(ds, slot)]

    def remove_files(self, ds: str, slot: str) -> None:
        """Empty a slot (the founder took its files back)."""
        if slot not in SLOTS:
            raise ValueError(slot)
        shutil.rmtree(self._ds(ds) / slot, ignore_errors=True)

    # -- what rebuilds it ------------------------------------------------------------------------------------
    def _write_meta(self, ds: str, meta: dict) -> None:
        tmp = self._ds(ds) / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, default=str, indent=1), encoding="utf-8")
        tmp.replace(self._ds(ds) / "meta.json")

    def meta(self, ds: str) -> dict:
        return json.loads((self._ds(ds) / "meta.json").read_text(encoding="utf-8"))

    def save_state(self, ds: str, state: dict) -> None:
        meta = self.meta(ds)
        meta["state"] = state
        self._write_meta(ds, meta)

    def open(self, ds: str) -> dict:
        """Mark the data set as opened now (and as the one to reopen next time); its meta."""
        meta = self.meta(ds)
        meta["opened"] = dt.datetime.now(dt.timezone.utc).isoformat()
        self._write_meta(ds, meta)
        (self.dir / "last").write_text(ds, encoding="utf-8")
        return meta

    def last(self) -> str | None:
        path = self.dir / "last"
        ds = path.read_text(encoding="utf-8").strip() if path.exists() else None
        return ds if ds and _ID.match(ds) and (self.dir / ds / "meta.json").exists() else None

    def adopt(self, old: "Workspace") -> bool:
        """Move ``old``'s data sets here once, when this workspace is new (an e-mail-keyed workspace of an earlier
        version becoming its owner's subject-keyed one); True when it moved."""
        if self.dir.exists() or not old.dir.exists() or old.dir == self.dir:
            return False
        old.dir.rename(self.dir)
        return True

    def forget_last(self) -> None:
        (self.dir / "last").unlink(missing_ok=True)

    # -- settings ------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The owner's analysis settings as last saved (``save_settings``); {} when none are, or the file is damaged
        (the defaults then apply)."""
        try:
            saved = json.loads((self.dir / "settings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return saved if isinstance(saved, dict) else {}

    def save_settings(self, settings: dict) -> None:
        """Keep the owner's settings (plain JSON values), so a reload, a bookmark or a second tab shows the same."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f"settings.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(settings, sort_keys=True), encoding="utf-8")
        tmp.replace(self.dir / "settings.json")

    # -- campaigns -----------------------------------------------------------------------------------------
    def plan_seed(self, ds: str) -> int:
        """The seed of the data set's shared hold-out (clv.tactics.plan_experiment): drawn at random the first time
        a plan is made and stored in its meta.json, so every later plan of this shop holds out the same customers."""
        meta = self.meta(ds)
        if not isinstance(meta.get("plan_seed"), int):
            meta["plan_seed"] = secrets.randbelow(2 ** 31)
            self._write_meta(ds, meta)
        return meta["plan_seed"]

    def save_campaign(self, ds: str, campaign_id: str, csv_bytes: bytes) -> Path:
        folder = self._ds(ds) / "campaigns"
        folder.mkdir(exist_ok=True)
        path = folder / f"{_safe_name(campaign_id)}.csv"
        path.write_bytes(csv_bytes)
        return path

    def campaigns(self, ds: str) -> dict[str, bytes]:
        folder = self._ds(ds) / "campaigns"
        return {p.stem: p.read_bytes() for p in sorted(folder.glob("*.csv"))} if folder.exists() else {}
