"""A VM-side server speaking OSWorld's protocol (and WindowsAgentArena's extra setup routes),
for any Linux X session: `python -m environments.vm_server.server [--host H] [--port P] [--token T]`.

Secure by default, unlike the reference server: it listens on loopback unless told
otherwise, refuses to listen beyond loopback without a bearer token, checks the token on
every request when one is set, runs no debugger, limits request sizes and how long a body may
take to arrive, and confines the file routes to `--root` folders (default: the home folder).
It refuses requests made by web browsers (an `Origin` or `Sec-Fetch-Site` header, or, without a
token, a `Host` that is not loopback), so a web page open on the same machine cannot reach it
by cross-site requests or DNS rebinding. The execute routes run commands by design — that is
the protocol — which is why the token guards them.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
from pathlib import Path

import environments.vm_server.desktop_ops as desktop_ops
from environments.vm_server.http import BODY_TIMEOUT, RouteServer
from environments.vm_server import typed_actions
from environments.vm_server.routes import ROUTES
from environments.vm_server.settling import SETTLER


class VMServer(RouteServer):
    """Our VM server: every route of `environments.vm_server.routes`, confined to `roots`."""

    def __init__(self, address: tuple[str, int], token: str | None, roots: list[Path],
                 body_timeout: float = BODY_TIMEOUT) -> None:
        super().__init__(address, token, roots, ROUTES, body_timeout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="An OSWorld-protocol VM server for this X session (secure defaults).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument("--token", default=os.environ.get("KIMI_VM_TOKEN"),
                        help="bearer token clients must send (required beyond loopback; default $KIMI_VM_TOKEN)")
    parser.add_argument("--generate-token", action="store_true", help="make a random token and print it")
    parser.add_argument("--root", type=Path, action="append", help="folder the file routes may touch (repeatable; default ~)")
    args = parser.parse_args(argv)
    token = secrets.token_urlsafe(24) if args.generate_token else args.token
    SETTLER.open()  # before listening: whoever waits for the server (and snapshots it) gets them ready
    typed_actions.warm()
    try:
        server = VMServer((args.host, args.port), token, args.root or [Path.home()])
    except ValueError as err:
        parser.error(str(err))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    if args.generate_token:
        print(f"token {token}", flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for process in server.launched:
            desktop_ops.stop_group(process)


def _stop(_signal: int, _frame: object) -> None:
    """SIGTERM (a VM shutting down, a test ending) stops what the server started, as Ctrl+C does
    (its launched programs here, its terminals at exit)."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
