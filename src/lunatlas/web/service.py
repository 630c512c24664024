"""Service state beside the atlas: institutions' tokens (stored hashed), submissions awaiting
curation, and an append-only audit log (SQLite triggers forbid UPDATE/DELETE on it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lunatlas.errors import InputError

ROLES = ("reader", "contributor", "curator")
SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, institution TEXT NOT NULL, role TEXT NOT NULL,
    created_utc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, institution TEXT NOT NULL, kind TEXT NOT NULL,
    payload TEXT NOT NULL, status TEXT NOT NULL, created_utc TEXT NOT NULL,
    decided_by TEXT, edition INTEGER);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at_utc TEXT NOT NULL, institution TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, edition INTEGER);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    institution: str
    role: str


class ServiceStore:
    """Tokens, submissions and the audit log in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self._connect() as con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def add_token(self, institution: str, role: str) -> str:
        """Create a token for an institution and role; returns it (shown once, stored hashed)."""
        if role not in ROLES:
            raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if not institution.strip():
            raise InputError("institution must not be empty")
        token = secrets.token_urlsafe(32)
        with self._connect() as con:
            con.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)",
                        (_hash(token), institution.strip(), role, _now()))
        self.audit(Principal(institution, "admin"), "token-created", f"role {role}")
        return token

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of a bearer token, or None (constant-time comparison of hashes)."""
        if not token:
            return None
        digest = _hash(token)
        with self._connect() as con:
            row = con.execute("SELECT token_hash, institution, role FROM tokens "
                              "WHERE token_hash = ?", (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        return Principal(row["institution"], row["role"])

    def audit(self, who: Principal, action: str, detail: str, edition: int | None = None) -> None:
        with self._connect() as con:
            con.execute("INSERT INTO audit (at_utc, institution, role, action, detail, edition) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (_now(), who.institution, who.role, action, detail, edition))

    def audit_log(self) -> list[dict]:
        with self._connect() as con:
            return [dict(r) for r in con.execute("SELECT * FROM audit ORDER BY id")]

    def submit(self, who: Principal, kind: str, payload: list[dict]) -> int:
        with self._connect() as con:
            cur = con.execute("INSERT INTO submissions (institution, kind, payload, status, "
                              "created_utc) VALUES (?, ?, ?, 'pending', ?)",
                              (who.institution, kind, json.dumps(payload), _now()))
            sid = int(cur.lastrowid)
        self.audit(who, "submitted", f"{kind} submission {sid} ({len(payload)} records)")
        return sid

    def submission(self, sid: int) -> dict | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM submissions WHERE id = ?", (sid,)).fetchone()
        return None if row is None else dict(row)

    def submissions(self, institution: str) -> list[dict]:
        with self._connect() as con:
            rows = con.execute("SELECT id, institution, kind, status, created_utc, decided_by, "
                               "edition FROM submissions WHERE institution = ? ORDER BY id",
                               (institution,))
            return [dict(r) for r in rows]

    def claim(self, sid: int, who: Principal) -> bool:
        """Atomically move a pending submission to 'deciding' for ``who``; False when another
        decision got there first (exactly one racing decision wins)."""
        with self._connect() as con:
            cur = con.execute("UPDATE submissions SET status = 'deciding', decided_by = ? "
                              "WHERE id = ? AND status = 'pending'", (who.institution, sid))
            return cur.rowcount == 1

    def release(self, sid: int) -> None:
        """Give a claimed submission back (its decision failed): pending again."""
        with self._connect() as con:
            con.execute("UPDATE submissions SET status = 'pending', decided_by = NULL "
                        "WHERE id = ? AND status = 'deciding'", (sid,))

    def decide(self, sid: int, who: Principal, status: str, edition: int | None) -> None:
        with self._connect() as con:
            con.execute("UPDATE submissions SET status = ?, decided_by = ?, edition = ? "
                        "WHERE id = ?", (status, who.institution, edition, sid))
        self.audit(who, status, f"submission {sid}", edition)
