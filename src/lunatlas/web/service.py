"""Service state beside the atlas: institutions' tokens (stored hashed), submissions awaiting
curation, and an append-only audit log (SQLite triggers forbid UPDATE/DELETE on it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
            columns = {r["name"] for r in con.execute("PRAGMA table_info(tokens)")}
            for column in ("expires_utc", "revoked_utc"):  # stores made before expiry
                if column not in columns:
                    con.execute(f"ALTER TABLE tokens ADD COLUMN {column} TEXT")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def add_token(self, institution: str, role: str, days: float | None = None) -> str:
        """Create a token for an institution and role, valid ``days`` (None: until revoked);
        returns it (shown once, stored hashed)."""
        if role not in ROLES:
            raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if not institution.strip():
            raise InputError("institution must not be empty")
        if days is not None and not days > 0:
            raise InputError(f"token lifetime {days} days: expected > 0")
        token = secrets.token_urlsafe(32)
        expires = (None if days is None else
                   (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds"))
        with self._connect() as con:
            con.execute("INSERT INTO tokens (token_hash, institution, role, created_utc, "
                        "expires_utc) VALUES (?, ?, ?, ?, ?)",
                        (_hash(token), institution.strip(), role, _now(), expires))
        self.audit(Principal(institution, "admin"), "token-created",
                   f"token {_hash(token)[:12]} role {role}")
        return token

    def list_tokens(self) -> list[dict]:
        """Every token: its public id (the first 12 hex digits of its hash), institution,
        role, creation, expiry and revocation (the secret itself is never stored)."""
        with self._connect() as con:
            rows = con.execute("SELECT substr(token_hash, 1, 12) AS id, institution, role, "
                               "created_utc, expires_utc, revoked_utc FROM tokens "
                               "ORDER BY created_utc")
            return [dict(r) for r in rows]

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token by its public id; InputError when no single token matches."""
        with self._connect() as con:
            matches = con.execute("SELECT token_hash, institution FROM tokens WHERE "
                                  "substr(token_hash, 1, 12) = ?", (token_id,)).fetchall()
            if len(matches) != 1:
                raise InputError(f"token id {token_id!r}: no such token (see "
                                 "`lunatlas service list-tokens`)")
            con.execute("UPDATE tokens SET revoked_utc = ? WHERE token_hash = ?",
                        (_now(), matches[0]["token_hash"]))
        self.audit(Principal(matches[0]["institution"], "admin"), "token-revoked",
                   f"token {token_id}")

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of a bearer token, or None (constant-time comparison of hashes)."""
        if not token:
            return None
        digest = _hash(token)
        with self._connect() as con:
            row = con.execute("SELECT token_hash, institution, role, expires_utc, revoked_utc "
                              "FROM tokens WHERE token_hash = ?", (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        if row["revoked_utc"] or (row["expires_utc"] and row["expires_utc"] <= _now()):
            return None
        return Principal(row["institution"], row["role"])

    def audit(self, who: Principal, action: str, detail: str, edition: int | None = None) -> None:
        with self._connect() as con:
            con.execute("INSERT INTO audit (at_utc, institution, role, action, detail, edition) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (_now(), who.institution, who.role, action, detail, edition))

    def audit_log(self, institution: str | None = None) -> list[dict]:
        """The audit rows (of one institution when given)."""
        with self._connect() as con:
            if institution is None:
                return [dict(r) for r in con.execute("SELECT * FROM audit ORDER BY id")]
            return [dict(r) for r in con.execute(
                "SELECT * FROM audit WHERE institution = ? ORDER BY id", (institution,))]

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
