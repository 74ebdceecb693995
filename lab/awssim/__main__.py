"""python -m lab.awssim serve|state|seed|limits|latency|fault|clear-faults|reset|world|routes|
throttle|api-stats"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.awssim", description="The lab's simulated AWS")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the simulated AWS server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=5055, help="0 = any free port (printed, and --url-file)")
    s.add_argument("--scenario", default=None, help="seed this scenario (lab/scenarios/<name>.yml)")
    s.add_argument("--latency-scale", type=float, default=0.0)
    s.add_argument("--hooks", default=None, help="module:Class implementing lab.awssim.hooks.HostHooks")
    s.add_argument("--url-file", default=None, help="write the bound URL here once ready")

    for name in ("state", "world", "routes", "reset", "clear-faults"):
        c = sub.add_parser(name)
        c.add_argument("--url", default=None)
    c = sub.add_parser("seed")
    c.add_argument("scenario")
    c.add_argument("--url", default=None)
    c = sub.add_parser("limits")
    c.add_argument("--classic", type=int, default=None)
    c.add_argument("--vpc", type=int, default=None)
    c.add_argument("--url", default=None)
    c = sub.add_parser("latency")
    c.add_argument("scale", type=float)
    c.add_argument("--url", default=None)
    c = sub.add_parser("throttle", help="EC2 API throttling on or off")
    c.add_argument("enabled", choices=["on", "off"])
    c.add_argument("--url", default=None)
    c = sub.add_parser("api-stats", help="calls per service and operation (calls, throttled, faults)")
    c.add_argument("--reset", action="store_true", help="zero the counters")
    c.add_argument("--url", default=None)
    c = sub.add_parser("fault")
    c.add_argument("operation")
    c.add_argument("--nth", type=int, default=1)
    c.add_argument("--code", required=True)
    c.add_argument("--message", default="Injected fault")
    c.add_argument("--times", type=int, default=1)
    c.add_argument("--url", default=None)

    args = parser.parse_args(argv)
    if args.command == "serve":
        from lab.awssim.server import serve

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve(args.host, args.port, args.scenario, args.latency_scale, args.hooks, args.url_file)
        return 0

    from lab.awssim.client import LabClient

    lab = LabClient(args.url)
    result: Any
    if args.command == "state":
        result = lab.state()
    elif args.command == "world":
        result = lab.world()
    elif args.command == "routes":
        result = lab.routes()
    elif args.command == "reset":
        result = lab.reset()
    elif args.command == "clear-faults":
        result = lab.clear_faults()
    elif args.command == "seed":
        result = lab.seed(args.scenario)
    elif args.command == "limits":
        result = lab.set_limits(args.classic, args.vpc)
    elif args.command == "latency":
        result = lab.set_latency(args.scale)
    elif args.command == "throttle":
        result = lab.set_throttle(args.enabled == "on")
    elif args.command == "api-stats":
        result = lab.reset_api_stats() if args.reset else lab.api_stats()
    else:
        result = lab.add_fault(args.operation, args.nth, args.code, args.message, args.times)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
