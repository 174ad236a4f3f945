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
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback only for now)."),
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
) -> None:
    """Run the matching service (HMA's API) on the store's platform banks until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from unleak.serve import ServeConfig, check_listen, parse_roles, run

    check_listen(host)
    cfg = ServeConfig(
        roles=parse_roles(roles),
        dev=dev,
        allow_networks=tuple(allow_network),
        max_upload_bytes=max_upload_mb * 1024 * 1024,
    )
    output.console.print(
        f"unleak serve on http://{host}:{port} (roles {','.join(cfg.roles)}{', dev' if dev else ''}); "
        "no authentication: open to every local user of this machine. Ctrl-C stops it."
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


def register(app: typer.Typer) -> None:
    app.add_typer(serve_app, name="serve")
