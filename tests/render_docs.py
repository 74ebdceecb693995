"""`make lint`'s documentation check: every module, filter and callback of the collection renders with
ansible-doc (one call per plugin type, not one per plugin). ansible-doc exits 0 for a plugin it cannot find,
so each name is looked for in its JSON answer; modules are also rendered as text, as a user reads them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = str(Path(sys.executable).with_name("ansible-doc"))
KINDS = {
    "module": ("plugins/modules", "*.py"),
    "filter": ("plugins/filter", "*.yml"),
    "callback": ("plugins/callback", "*.py"),
}


def names(kind: str) -> list[str]:
    folder, pattern = KINDS[kind]
    return [
        f"clusterswap.swap.{p.stem}" for p in sorted((REPO / folder).glob(pattern)) if p.stem != "__init__"
    ]


def main() -> int:
    bad = []
    for kind in KINDS:
        wanted = names(kind)
        out = subprocess.run([DOC, "--json", "-t", kind, *wanted], cwd=REPO, capture_output=True, text=True)
        found = json.loads(out.stdout or "{}") if out.returncode == 0 else {}
        missing = [name for name in wanted if not found.get(name, {}).get("doc")]
        bad += [f"{kind} {name}: no documentation" for name in missing]
        print(f"ansible-doc: {len(wanted) - len(missing)} of {len(wanted)} {kind}s render")
    text = subprocess.run([DOC, "-t", "module", *names("module")], cwd=REPO, capture_output=True, text=True)
    if text.returncode != 0 or "[ERROR]" in text.stderr:
        bad.append(f"modules do not render as text: {text.stderr[-2000:]}")
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
