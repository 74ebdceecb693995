"""The lab's simulated AWS as an HTTP server: moto's server app behind a small control API at /_lab/.

Every AWS call goes to moto (patched by `install()`); /_lab/... is the lab's own JSON API (see README).
A background ticker applies due transitions every 50 ms, so slow operations finish even when nobody asks.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from lab.awssim.control import backdate_addresses, reset_moto, routes
from lab.awssim.hooks import load_hooks
from lab.awssim.patches import install
from lab.awssim.state import STATE

log = logging.getLogger("lab.awssim")


class LabApp:
    """WSGI app: /_lab/ → control API, anything else → moto."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.region = region
        self.url = ""  # set once bound; seeding talks AWS to ourselves through it
        self._seed_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/_lab/"):
            return self.control(environ, start_response)
        return self.moto(environ, start_response)

    # --- control API --------------------------------------------------------------------------------
    def control(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path[len("/_lab/") :].strip("/")
        try:
            body = request.get_json(silent=True) or {}
            status, payload = self.handle(request.method, path, body)
        except (ValueError, KeyError, TypeError) as exc:
            status, payload = 400, {"error": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:
            log.exception("control API %s %s failed", request.method, path)
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        response = Response(json.dumps(payload, default=str), status=status, mimetype="application/json")
        return response(environ, start_response)

    def handle(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        route = (method, path)
        if route == ("GET", "state"):
            return 200, STATE.as_dict()
        if route == ("GET", "world"):
            return 200, STATE.world
        if route == ("POST", "world"):
            STATE.world = body
            return 200, STATE.world
        if route == ("GET", "routes"):
            return 200, routes(body.get("region"))
        if route == ("POST", "limits"):
            with STATE.lock:
                if "classic" in body:
                    STATE.classic_limit = int(body["classic"])
                if "vpc" in body:
                    STATE.vpc_limit = int(body["vpc"])
            return 200, {"classic": STATE.classic_limit, "vpc": STATE.vpc_limit}
        if route == ("POST", "platforms"):
            STATE.platforms = tuple(str(p) for p in body["platforms"])
            return 200, {"platforms": list(STATE.platforms)}
        if route == ("GET", "faults"):
            return 200, [f.as_dict() for f in STATE.faults]
        if route == ("POST", "faults"):
            rule = STATE.add_fault(
                operation=str(body["operation"]),
                nth=int(body.get("nth", 1)),
                code=str(body["code"]),
                message=str(body.get("message", "Injected fault")),
                times=int(body.get("times", 1)),
                status=int(body.get("status", 400)),
            )
            return 200, rule.as_dict()
        if route == ("DELETE", "faults"):
            STATE.clear_faults()
            return 200, []
        if route == ("POST", "latency"):
            STATE.latency_scale = float(body["scale"])
            return 200, {"scale": STATE.latency_scale}
        if route == ("POST", "backdate"):
            return 200, {"addresses": backdate_addresses(float(body.get("hours", 48)))}
        if route == ("POST", "mounted"):
            with STATE.lock:
                if body.get("mounted", True):
                    STATE.mounted.add(str(body["volume_id"]))
                else:
                    STATE.mounted.discard(str(body["volume_id"]))
            return 200, {"mounted": sorted(STATE.mounted)}
        if route == ("POST", "rds-outcome"):
            with STATE.lock:
                STATE.rds_outcomes[str(body["db"])] = str(body["status"])
            return 200, dict(STATE.rds_outcomes)
        if route == ("POST", "tick"):
            return 200, {"applied": STATE.tick()}
        if route == ("POST", "reset"):
            self.reset()
            return 200, STATE.as_dict()
        if route == ("POST", "seed"):
            return 200, self.seed(str(body["scenario"]))
        if route == ("POST", "throttle"):
            enabled = body["enabled"]
            if not isinstance(enabled, bool):
                raise TypeError(f"'enabled' must be true or false, not {enabled!r}")
            STATE.throttle_enabled = enabled
            if body.get("reset"):
                STATE.throttle.reset()
            return 200, {"enabled": STATE.throttle_enabled, "buckets": STATE.throttle.as_dict()}
        if route == ("GET", "api-stats"):
            return 200, STATE.api_stats_dict()
        if route == ("DELETE", "api-stats"):
            STATE.reset_api_stats()
            return 200, STATE.api_stats_dict()
        return 404, {"error": f"no such control endpoint: {method} /_lab/{path}"}

    # --- actions ------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every resource and all lab state (keeps hooks and the latency scale)."""
        scale = STATE.latency_scale
        reset_moto()
        STATE.reset()
        STATE.latency_scale = scale

    def seed(self, scenario: str) -> dict[str, Any]:
        """Reset, then seed `scenario` by calling our own AWS API (at latency 0); returns the world."""
        from lab.awssim.world import LocalControl, load_scenario, seed

        load_scenario(scenario)  # unknown scenario → ValueError before anything is reset
        with self._seed_lock:
            scale = STATE.latency_scale
            throttle = STATE.throttle_enabled
            self.reset()
            STATE.latency_scale = 0.0
            STATE.throttle_enabled = throttle
            try:
                clients = {svc: self._client(svc) for svc in ("ec2", "rds")}
                # a world is built "long ago": unthrottled; then full buckets and zero counters
                with STATE.seeding():
                    world = seed(scenario, clients, LocalControl(), region=self.region)
                STATE.scenario = scenario
            finally:
                STATE.latency_scale = scale
        return world

    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )


class Ticker(threading.Thread):
    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(name="lab-awssim-ticker", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                STATE.tick()
            except Exception:
                log.exception("ticker")


class LabServer:
    """Bind, serve in a thread, tick in another. `url` is known once constructed (port 0 = any port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5055, hooks: str | None = None) -> None:
        install()
        STATE.hooks = load_hooks(hooks)
        self.app = LabApp()
        self.server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=MotoRequestHandler
        )
        self.host = host
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.app.url = self.url
        self.ticker = Ticker()
        self.thread = threading.Thread(target=self.server.serve_forever, name="lab-awssim-http", daemon=True)

    def start(self) -> LabServer:
        self.thread.start()
        self.ticker.start()
        return self

    def stop(self) -> None:
        self.ticker.stopped.set()
        self.server.shutdown()
        self.thread.join(timeout=5)


def serve(
    host: str = "127.0.0.1",
    port: int = 5055,
    scenario: str | None = None,
    latency_scale: float = 0.0,
    hooks: str | None = None,
    url_file: str | None = None,
) -> None:
    """Run until interrupted. Prints `lab.awssim listening on <url>` once ready (after seeding)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per AWS request
    srv = LabServer(host, port, hooks).start()
    STATE.latency_scale = latency_scale
    if scenario:
        srv.app.seed(scenario)
    if url_file:
        Path(url_file).write_text(srv.url + "\n")
    print(f"lab.awssim listening on {srv.url}", flush=True)
    try:
        srv.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
