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
    """uvicorn's configuration whose pre-bound listening sockets report IPPROTO_TCP.

    reuse_port: bind with SO_REUSEPORT, so several independent server processes can listen on one
    port and the kernel spreads new connections over them (one process per core without uvicorn's
    worker supervisor, whose workers share one socket: a burst of connections all goes to whichever
    worker wakes first).
    """

    def __init__(self, app: str, *, reuse_port: bool = False, **options: Any) -> None:
        self.reuse_port = reuse_port
        super().__init__(app, **options)

    def bind_socket(self) -> socket.socket:
        if self.reuse_port and self.uds is None and self.fd is None:
            return self._bind_reuse_port()
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock

    def _bind_reuse_port(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        sock.set_inheritable(True)
        return sock


def run(app: str, *, reuse_port: bool = False, **options: Any) -> None:
    """Serve the app (an import string) as `uvicorn.run(app, **options)` would (reuse_port: see TcpConfig)."""
    config = TcpConfig(app, reuse_port=reuse_port, **options)
    server = uvicorn.Server(config=config)
    try:
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        elif reuse_port:
            server.run(sockets=[config.bind_socket()])
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and not config.should_reload and config.workers == 1:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
