"""The lab's traffic edge: what the internet side of an Elastic IP does, on one machine.

Listens on ports 80 and 443 of every EIP address the simulated AWS knows (127.100.x.y: Linux delivers all of
127/8 to the loopback). Per connection it looks up the private IP the EIP is associated with right now (`GET
/_lab/routes`, cached at most 0.5 s: for a VPC EIP the exact private IP of its network interface, for an
EC2-Classic EIP its instance's address), connects to that private IP on the same port (the lab's podman
networks are the subnets, so the host routes to it; it answers only if the container's OS has that address),
sends a PROXY protocol v1 header with the client's address (as a network load balancer does) and relays
bytes both ways (TLS untouched: the host's certificate reaches the client). A connection to an EIP
associated with nothing, or with an instance that has no container, is closed at once; one to a private IP
that does not answer, when the connect fails.

    python -m lab.hosts.edge --sim http://127.0.0.1:5055 [--port 80 --port 443]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import time
import urllib.request
from typing import Any

ROUTE_TTL = 0.5
REFRESH_EVERY = 0.25
CONNECT_TIMEOUT = 3.0
log = logging.getLogger("lab.edge")


class Routes:
    """EIP → route, from the simulated AWS, cached at most ROUTE_TTL seconds."""

    def __init__(self, sim_url: str) -> None:
        self.url = sim_url.rstrip("/") + "/_lab/routes"
        self.table: dict[str, Any] = {}
        self.fetched = 0.0
        self.lock = asyncio.Lock()

    def _fetch(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url, timeout=2) as resp:
            return json.load(resp)

    async def refresh(self) -> dict[str, Any]:
        async with self.lock:
            if time.monotonic() - self.fetched > ROUTE_TTL / 2:
                self.table = await asyncio.to_thread(self._fetch)
                self.fetched = time.monotonic()
            return self.table

    async def lookup(self, eip: str) -> str | None:
        """The private IP to forward an EIP's connection to, or None to refuse it (associated with nothing,
        or with an instance that has no container: nothing could answer)."""
        table = self.table if time.monotonic() - self.fetched <= ROUTE_TTL else await self.refresh()
        route = table.get(eip)
        if not route or not route.get("lab_host"):
            return None
        return route.get("private_ip") or None


def proxy_header(client: tuple[str, int], local: tuple[str, int]) -> bytes:
    """PROXY protocol v1 header for a TCP4 connection from `client` to `local`."""
    return f"PROXY TCP4 {client[0]} {local[0]} {client[1]} {local[1]}\r\n".encode()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


class Edge:
    def __init__(self, sim_url: str, ports: list[int]) -> None:
        self.routes = Routes(sim_url)
        self.ports = ports
        self.servers: dict[tuple[str, int], asyncio.Server] = {}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = writer.get_extra_info("peername")[:2]
        local = writer.get_extra_info("sockname")[:2]
        try:
            target = await self.routes.lookup(local[0])
        except Exception as exc:  # the simulated AWS is down: nothing can be routed
            log.warning("routes unavailable: %s", exc)
            target = None
        if target is None:
            log.info("refused %s -> %s: no container behind this EIP", client[0], local[0])
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(target, local[1]), timeout=CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            log.info("refused %s -> %s: %s:%d unreachable (%s)", client[0], local[0], target, local[1], exc)
            writer.close()
            return
        up_writer.write(proxy_header(client, local))
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        for w in (writer, up_writer):
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()

    async def sync_listeners(self) -> None:
        """Listen on every EIP the simulated AWS has; stop listening on released ones."""
        table = await self.routes.refresh()
        wanted = {(ip, port) for ip in table for port in self.ports}
        for ip, port in sorted(wanted - set(self.servers)):
            try:
                self.servers[ip, port] = await asyncio.start_server(self.handle, ip, port, reuse_address=True)
                log.info("listening on %s:%d", ip, port)
            except OSError as exc:
                log.warning("cannot listen on %s:%d: %s", ip, port, exc)
        for ip, port in set(self.servers) - wanted:
            self.servers.pop((ip, port)).close()
            log.info("stopped listening on %s:%d (address released)", ip, port)

    async def run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            try:
                await self.sync_listeners()
            except Exception as exc:
                log.warning("routes unavailable: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=REFRESH_EVERY)
        for server in self.servers.values():
            server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.hosts.edge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sim", default="http://127.0.0.1:5055", help="simulated AWS base URL")
    parser.add_argument("--port", type=int, action="append", help="a port to relay (default: 80 and 443)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(Edge(args.sim, args.port or [80, 443]).run())


if __name__ == "__main__":
    main()
