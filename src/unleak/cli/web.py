"""`unleak app` (the web app) and `unleak users` (its accounts)."""

from __future__ import annotations

import secrets
import socket
import sys
from pathlib import Path

import typer

from unleak import console as output

users_app = typer.Typer(help="Accounts of `unleak app` for a helpline's caseworkers.", no_args_is_help=True)


def _store():
    from unleak.store import open_store

    return open_store()


def app_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (beyond this machine needs accounts and TLS)."
    ),
    port: int = typer.Option(0, "--port", help="Port (0: a free one)."),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Open no browser; print the login link as the first line (for scripts)."
    ),
    root: list[Path] | None = typer.Option(
        None, "--root", help="A folder the app may read photos from (repeatable; default: your home folder)."
    ),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="TLS certificate (PEM) to serve HTTPS."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="TLS private key (PEM)."),
    behind_proxy: str | None = typer.Option(
        None, "--behind-proxy", help="Name of the reverse proxy that terminates TLS in front of this app."
    ),
    case: str | None = typer.Option(None, "--case", help="Open this case's page first."),
) -> None:
    """Everything unleak does, in your browser: prints a one-time login link and opens it."""
    run_app(host, port, no_browser, root, tls_cert, tls_key, behind_proxy, case)


def run_app(
    host: str = "127.0.0.1",
    port: int = 0,
    no_browser: bool = False,
    root: list[Path] | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    behind_proxy: str | None = None,
    case: str | None = None,
) -> None:
    import uvicorn

    from unleak.accounts import has_accounts
    from unleak.app import AppConfig, check_exposure, create_app
    from unleak.errors import ConfigError

    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    store = _store()
    check_exposure(host, has_accounts=has_accounts(store), tls=bool(tls_cert), behind_proxy=behind_proxy)
    roots = tuple(p.expanduser().resolve() for p in (root or [Path.home()]))
    token = secrets.token_urlsafe(32)
    config = AppConfig(
        db_url=store.url, roots=roots, host=host, tls=bool(tls_cert), behind_proxy=behind_proxy, login_token=token
    )
    web = create_app(config, store)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="try another --port") from None
    # Listening before the link is printed: a script that reads it and connects at once is
    # queued until the server accepts, never refused.
    sock.listen(128)
    bound = sock.getsockname()[1]
    scheme = "https" if tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{shown}:{bound}/login?token={token}"
    if case:
        web.state.first_case = case
    if no_browser:
        sys.stdout.write(url + "\n")
        sys.stdout.flush()
    else:
        output.console.print(f"unleak app: open {url} (this link works once)", soft_wrap=True, highlight=False)
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(
        uvicorn.Config(
            web,
            log_level="warning",
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            proxy_headers=bool(behind_proxy),
        )
    )
    server.run(sockets=[sock])


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Account name."),
    role: str = typer.Option("caseworker", "--role", help="admin or caseworker."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Add an account (the password is asked, or read from stdin; only its argon2 hash is kept)."""
    from unleak.accounts import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    a = add_user(_store(), name, role, password)
    output.console.print(f"Added account {a.name} ({a.role}).", highlight=False, markup=False)


@users_app.command("assign")
def users_assign(name: str = typer.Argument(...), case: str = typer.Argument(...)) -> None:
    """Let a caseworker open a case."""
    from unleak.accounts import assign_case

    a = assign_case(_store(), name, case)
    output.console.print(f"{a.name} may now open: {', '.join(a.cases)}.", highlight=False, markup=False)


@users_app.command("unlock")
def users_unlock(name: str = typer.Argument(..., help="Account name.")) -> None:
    """Lift a login lockout of an account (after too many failed logins) before it ends by itself."""
    from unleak.accounts import clear_login_failures

    n = clear_login_failures(_store(), name)
    output.console.print(
        f"{name}: {n} failed login(s) forgotten; they may log in again.", highlight=False, markup=False
    )


@users_app.command("list")
def users_list() -> None:
    """List accounts and the cases each may open."""
    from unleak.accounts import list_users

    output.table(
        "Accounts",
        ["name", "role", "cases"],
        [(a.name, a.role, "all" if a.is_admin else ", ".join(a.cases)) for a in list_users(_store())],
    )


def register(app: typer.Typer) -> None:
    app.command("app")(app_command)
    app.add_typer(users_app, name="users")
