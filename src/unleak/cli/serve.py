"""`unleak serve`: the HMA-compatible matching service, and publishing hashes to it."""

from __future__ import annotations

from pathlib import Path

import typer

from unleak import console as output

serve_app = typer.Typer(
    help="Serve platform banks over HMA's HTTP API (`unleak serve`), and fill them.",
    invoke_without_command=True,
)


def _store():
    from unleak.store import open_store

    return open_store()


@serve_app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; beyond loopback every request needs an API key."
    ),
    port: int = typer.Option(5000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (each keeps its own index)."),
    roles: str = typer.Option(
        "hasher,matcher,curator", "--roles", help="Route groups to serve: hasher (/h), matcher (/m), curator (/c)."
    ),
    dev: bool = typer.Option(False, "--dev", help="Also serve /dev/factory_reset (test servers only)."),
    allow_network: list[str] = typer.Option(
        [], "--allow-network", help="CIDR that ?url= fetches may reach although private (repeatable)."
    ),
    max_upload_mb: int = typer.Option(100, "--max-upload-mb", help="Largest upload or fetched file, in MB."),
    rate: float = typer.Option(0, "--rate", help="Requests a second per API key (0: unlimited; a key's own wins)."),
    exchange_dir: Path | None = typer.Option(
        None, "--exchange-dir", help="Directory local_file exchanges may read te lists from (off without it)."
    ),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="JSON access log on stderr (never query strings)."
    ),
) -> None:
    """Run the matching service (HMA's API) on the store's platform banks until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from unleak.serve import ServeConfig, access_mode, check_listen, is_loopback, parse_roles, run

    check_listen(host)
    if rate < 0:
        raise typer.BadParameter("--rate must be 0 (unlimited) or more")
    cfg = ServeConfig(
        roles=parse_roles(roles),
        dev=dev,
        allow_networks=tuple(allow_network),
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        beyond_loopback=not is_loopback(host),
        rate_per_s=rate or None,
        access_log=access_log,
        exchange_dir=str(exchange_dir.resolve()) if exchange_dir else None,
    )
    output.console.print(
        f"unleak serve on http://{host}:{port} (roles {','.join(cfg.roles)}{', dev' if dev else ''}); "
        f"{access_mode(cfg)}. Ctrl-C stops it."
    )
    run(cfg, host=host, port=port, workers=workers)


@serve_app.command("publish")
def publish(
    case: str = typer.Argument(..., help="The case whose hashes to serve."),
    bank: str = typer.Option(..., "--as", help="Platform bank name (UPPER_WITH_UNDERSCORE); created if needed."),
) -> None:
    """Serve a case's hashes as a platform bank. This shares them: only do it for a platform you trust."""
    from unleak.platform_banks import publish_case

    store = _store()
    try:
        with store.session() as s:
            n = publish_case(s, case, bank)
    finally:
        store.close()
    output.console.print(f"Published {n} item(s) of case {case} as bank {bank}.")


@serve_app.command("load")
def load(
    bank: str = typer.Argument(..., help="Platform bank name (created if needed)."),
    path: Path = typer.Argument(..., help="A `te` list: `<signal_type> <value>` lines (unleak bank export -f te)."),
) -> None:
    """Add every hash of a te list to a platform bank, one content item each."""
    from unleak.errors import UnleakError
    from unleak.platform_banks import check_bank_name, create_bank, load_te_list
    from unleak.store.models import PlatformBank

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UnleakError(f"cannot read {path}: {exc}") from None
    from sqlalchemy import select

    store = _store()
    try:
        with store.session() as s:
            if s.scalar(select(PlatformBank.id).where(PlatformBank.name == check_bank_name(bank))) is None:
                create_bank(s, bank)
            n = load_te_list(s, bank, lines)
    finally:
        store.close()
    output.console.print(f"Loaded {n} hash(es) into bank {bank}.")


keys_app = typer.Typer(help="API keys of `unleak serve`: add (shown once), list, revoke, and the curator audit log.")


@keys_app.command("add")
def keys_add(
    name: str = typer.Argument(..., help="Who holds the key, e.g. the platform or service."),
    role: str = typer.Option(..., "--role", help="hasher (/h), matcher (/m) or curator (/c); several: a,b."),
    bank: str | None = typer.Option(None, "--bank", help="Limit the key to this platform bank."),
    rate: float | None = typer.Option(None, "--rate", help="This key's requests a second (the server's by default)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Make an API key. It is printed once and stored only as an argon2 hash: keep it now."""
    from unleak.serve_keys import add_key, key_json

    store = _store()
    try:
        with store.session() as s:
            key, token = add_key(s, name, role, bank=bank, rate_per_s=rate)
            info = key_json(key)
    finally:
        store.close()
    if as_json:
        output.emit_json({**info, "key": token})
        return
    scope = f" on bank {bank}" if bank else ""
    output.console.print(f"Key {name} ({role}{scope}); shown once, store it now:", highlight=False)
    output.console.print(token, markup=False, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(
    revoked: bool = typer.Option(False, "--revoked", help="Include revoked keys."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The keys (never their secrets)."""
    from unleak.serve_keys import key_json, list_keys

    store = _store()
    try:
        with store.session() as s:
            rows = [key_json(k) for k in list_keys(s, include_revoked=revoked)]
    finally:
        store.close()
    if as_json:
        output.emit_json(rows)
        return
    if not rows:
        output.console.print("No keys: `unleak serve` on loopback is open to every local user.")
        return
    output.table(
        "API keys",
        ["id", "name", "roles", "bank", "rate/s", "created", "revoked"],
        [
            [
                r["id"],
                r["name"],
                ",".join(map(str, r["roles"])),  # type: ignore[call-overload]
                r["bank"] or "all",
                r["rate_per_s"] or "",
                r["created_at"],
                r["revoked_at"],
            ]
            for r in rows
        ],
    )


@keys_app.command("revoke")
def keys_revoke(name: str = typer.Argument(..., help="The key's name or id.")) -> None:
    """Revoke a key: every server refuses it within a second."""
    from unleak.serve_keys import revoke_key

    store = _store()
    try:
        with store.session() as s:
            key = revoke_key(s, name)
            label = f"{key.name} (id {key.id})"
    finally:
        store.close()
    output.console.print(f"Revoked key {label}.", markup=False, highlight=False)


@keys_app.command("audit")
def keys_audit(
    since: str | None = typer.Option(None, "--since", help="Unix time or ISO 8601 time."),
    limit: int = typer.Option(1000, "--limit", help="At most this many actions."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Curator actions taken through `unleak serve` (who, what, which bank, the status), oldest first."""
    from unleak.serve_keys import audit_json, audit_since, parse_since

    store = _store()
    try:
        with store.session() as s:
            rows = [audit_json(r) for r in audit_since(s, parse_since(since), limit)]
    finally:
        store.close()
    if as_json:
        output.emit_json(rows)
        return
    output.table(
        "Curator actions",
        ["at", "key", "action", "bank", "status", "client"],
        [
            [r["at"], r["key"] or "(open server)", f"{r['method']} {r['path']}", r["bank"], r["status"], r["client"]]
            for r in rows
        ],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(serve_app, name="serve")
    app.add_typer(keys_app, name="keys")
