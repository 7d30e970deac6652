"""Running the API under uvicorn: what `uvicorn.run` does, with the listening socket marked as TCP.

With several workers (and with --reload) uvicorn binds the listening socket itself and leaves its
protocol number at 0; accepted connections inherit it, and asyncio turns Nagle's algorithm off
(TCP_NODELAY) only on sockets that say they are TCP. Responses written in two parts (headers, then
body) then wait for the client's delayed acknowledgement: about 40 ms on every keep-alive request
after the first (uvicorn issue 3149). `TcpConfig` hands uvicorn the same socket marked as TCP.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import ChangeReload, Multiprocess

__all__ = ["TcpConfig", "run"]


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration whose pre-bound listening sockets report IPPROTO_TCP."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock


def run(app: str, **options: Any) -> None:
    """Serve the app (an import string) as `uvicorn.run(app, **options)` would."""
    config = TcpConfig(app, **options)
    server = uvicorn.Server(config=config)
    try:
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and not config.should_reload and config.workers == 1:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
