"""`marketplace serve --workers N` keeps Nagle's algorithm off on every connection (marketplace/web/serving.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from marketplace.web.serving import TcpConfig


async def accepted_nodelay(sock: socket.socket) -> tuple[int, int]:
    """Serve on a pre-bound socket, as uvicorn's worker processes do; (proto, TCP_NODELAY) of an accepted connection."""
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[tuple[int, int]] = loop.create_future()

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            conn = transport.get_extra_info("socket")
            seen.set_result((conn.proto, conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
            transport.close()

    server = await loop.create_server(Report, sock=sock)
    try:
        _reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        result = await asyncio.wait_for(seen, 5)
        writer.close()
        return result
    finally:
        server.close()
        await server.wait_closed()


async def test_connections_accepted_on_the_bound_socket_have_tcp_nodelay() -> None:
    sock = TcpConfig("marketplace.app:create_app", host="127.0.0.1", port=0, workers=2).bind_socket()
    assert sock.proto == socket.IPPROTO_TCP
    proto, nodelay = await accepted_nodelay(sock)
    assert proto == socket.IPPROTO_TCP and nodelay != 0


async def test_uvicorn_alone_would_leave_nagle_on() -> None:
    """The defect the fix is for (uvicorn issue 3149): when this starts failing, uvicorn has fixed it."""
    import uvicorn

    sock = uvicorn.Config("marketplace.app:create_app", host="127.0.0.1", port=0, workers=2).bind_socket()
    _proto, nodelay = await accepted_nodelay(sock)
    assert nodelay == 0


async def test_reuse_port_lets_independent_servers_share_one_port() -> None:
    """`serve --reuse-port`: a second server binds the port the first holds, and both accept with TCP_NODELAY."""
    first = TcpConfig("marketplace.app:create_app", host="127.0.0.1", port=0, reuse_port=True).bind_socket()
    port = first.getsockname()[1]
    second = TcpConfig("marketplace.app:create_app", host="127.0.0.1", port=port, reuse_port=True).bind_socket()
    assert second.getsockname()[1] == port
    for sock in (first, second):
        proto, nodelay = await accepted_nodelay(sock)
        assert proto == socket.IPPROTO_TCP and nodelay != 0


def test_without_reuse_port_the_port_is_taken() -> None:
    first = TcpConfig("marketplace.app:create_app", host="127.0.0.1", port=0).bind_socket()
    first.listen()
    try:
        with pytest.raises(SystemExit):  # uvicorn logs the bind error and exits
            TcpConfig("marketplace.app:create_app", host="127.0.0.1", port=first.getsockname()[1]).bind_socket()
    finally:
        first.close()
