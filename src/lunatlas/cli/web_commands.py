"""Commands: serve (the HTTP API) and token management."""

from __future__ import annotations

from pathlib import Path

import click

from lunatlas.cli.app import DEFAULT_ATLAS, cli, handle_errors


@cli.command("serve")
@click.option("--atlas", "atlas_path", type=click.Path(path_type=Path), default=DEFAULT_ATLAS,
              show_default=True, help="Atlas the main job wrote.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="TCP port to listen on.")
@click.option("--read-timeout", type=click.FloatRange(0.1, 3600), default=10.0,
              show_default=True, help="Seconds a client has to send one whole request "
              "(headers and body); slower connections are closed.")
@handle_errors
def serve(atlas_path: Path, host: str, port: int, read_timeout: float) -> None:
    """Serve the atlas over HTTP (OpenAPI docs at /docs); loopback by default."""
    import shutil
    import subprocess

    from lunatlas.web import create_app
    from lunatlas.web.server import run_service

    static = Path(__file__).resolve().parents[1] / "web" / "static"
    if not (static / "node_modules" / "leaflet").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            click.echo("warning: the viewer's assets are not installed and npm is missing; the "
                       "API works, the map page will say how to install them", err=True)
        else:
            click.echo(f"installing the viewer's assets (npm ci in {static}) …", err=True)
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix",
                                   str(static)], capture_output=True, text=True)
            if done.returncode != 0:
                click.echo(f"warning: npm ci failed ({done.stderr.strip()[-300:]}); the API "
                           "works without the map page", err=True)
    _require_free_port(host, port)
    app = create_app(atlas_path)
    click.echo(f"serving {atlas_path} on http://{host}:{port} (API under /api, docs at /docs)")
    run_service(app, host, port, read_timeout)


def _require_free_port(host: str, port: int) -> None:
    """LunatlasError (one line, exit 1) when the address is taken or cannot be bound."""
    import socket

    from lunatlas.errors import LunatlasError

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise LunatlasError(f"cannot serve on {host}:{port}: {exc.strerror or exc} (another "
                            "server there? choose another --port)") from None


@cli.group()
def service() -> None:
    """Institutions' tokens for the HTTP service."""


@service.command("add-token")
@click.option("--atlas", "atlas_path", type=click.Path(path_type=Path), default=DEFAULT_ATLAS,
              show_default=True, help="Atlas whose service the token opens.")
@click.option("--institution", required=True, help="Institution the token belongs to.")
@click.option("--role", type=click.Choice(["reader", "contributor", "curator"]), required=True,
              help="What the token may do: read, contribute, or curate (accept/reject).")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Lifetime in days (default: until revoked).")
@handle_errors
def add_token(atlas_path: Path, institution: str, role: str, days: float | None) -> None:
    """Create a token (printed once; only its hash is stored)."""
    token = _service(atlas_path).add_token(institution, role, days)
    click.echo(token)


def _service(atlas_path: Path):
    from lunatlas.atlas import Atlas
    from lunatlas.web import ServiceStore

    Atlas(atlas_path)
    return ServiceStore(atlas_path.with_suffix(".service.sqlite"))


@service.command("list-tokens")
@click.option("--atlas", "atlas_path", type=click.Path(path_type=Path), default=DEFAULT_ATLAS,
              show_default=True, help="Atlas whose service tokens to list.")
@handle_errors
def list_tokens(atlas_path: Path) -> None:
    """Tokens by public id: institution, role, created, expires, revoked."""
    for t in _service(atlas_path).list_tokens():
        click.echo(f"{t['id']}  {t['institution']:<20} {t['role']:<12} created "
                   f"{t['created_utc']}  expires {t['expires_utc'] or 'never'}"
                   + (f"  REVOKED {t['revoked_utc']}" if t["revoked_utc"] else ""))


@service.command("revoke-token")
@click.argument("token_id")
@click.option("--atlas", "atlas_path", type=click.Path(path_type=Path), default=DEFAULT_ATLAS,
              show_default=True, help="Atlas whose service token to revoke.")
@handle_errors
def revoke_token(token_id: str, atlas_path: Path) -> None:
    """Revoke a token by its public id (from list-tokens); it stops working at once."""
    _service(atlas_path).revoke_token(token_id)
    click.echo(f"revoked {token_id}")
