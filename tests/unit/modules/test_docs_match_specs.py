"""Every module's documentation says what its argument spec accepts, option by option (what ansible-test's
validate-modules checks; ansible-test cannot run here: its sanity venv bootstraps pip from a host outside the
package registries).

The spec is the one the module really builds: `AnsibleModule.__init__` is intercepted when `main()` creates it
(AnsibleAWSModule adds the common AWS options). The documentation is `ansible-doc --json`'s, with every
documentation fragment merged, as users read it.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import basic

REPO = Path(__file__).resolve().parents[3]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
PACKAGE = "ansible_collections.clusterswap.swap.plugins.modules"


class Built(Exception):
    """Raised instead of building the module: carries the arguments AnsibleModule was given."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("spec captured")
        self.kwargs = kwargs


def built_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    def capture(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            kwargs["argument_spec"] = args[0]
        raise Built(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", capture)
    module = importlib.import_module(f"{PACKAGE}.{name}")
    with pytest.raises(Built) as built:
        module.main()
    return built.value.kwargs["argument_spec"]


@pytest.fixture(scope="module")
def docs() -> dict[str, Any]:
    ansible_doc = Path(sys.executable).with_name("ansible-doc")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    names = [f"clusterswap.swap.{m}" for m in MODULES]
    out = subprocess.run(
        [str(ansible_doc), "--json", "-t", "module", *names],
        cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    return {name.rsplit(".", 1)[-1]: doc["doc"] for name, doc in json.loads(out).items()}


def differences(spec: dict[str, Any], documented: dict[str, Any], where: str) -> list[str]:
    """Every way the documented options differ from the spec's (names, type, required, default, ...)."""
    problems = [f"{where}{o}: in the argument spec, not documented" for o in spec if o not in documented]
    problems += [f"{where}{o}: documented, not in the argument spec" for o in documented if o not in spec]
    for option in sorted(set(spec) & set(documented)):
        s, d = spec[option], documented[option]
        pairs = {
            "type": (s.get("type", "str"), d.get("type", "str")),
            "required": (bool(s.get("required", False)), bool(d.get("required", False))),
            "default": (s.get("default"), d.get("default")),
            "choices": (s.get("choices"), d.get("choices")),
            "elements": (s.get("elements"), d.get("elements")),
            "aliases": (sorted(s.get("aliases", [])), sorted(d.get("aliases", []))),
        }
        for key, (in_spec, in_doc) in pairs.items():
            if in_spec != in_doc:
                problems.append(f"{where}{option}: {key} is {in_spec!r} in the spec, {in_doc!r} in the docs")
        if s.get("options") or d.get("suboptions"):
            problems += differences(s.get("options") or {}, d.get("suboptions") or {}, f"{where}{option}.")
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_the_documentation_matches_the_argument_spec(name: str, docs: dict[str, Any], monkeypatch) -> None:
    spec = built_spec(name, monkeypatch)
    assert differences(spec, docs[name].get("options", {}), "") == [], f"{name}'s DOCUMENTATION"


def test_a_difference_is_named() -> None:
    spec = {"a": {"type": "int", "required": True}, "b": {"type": "list", "elements": "str"}}
    documented = {"a": {"type": "str"}, "c": {}}
    assert differences(spec, documented, "") == [
        "b: in the argument spec, not documented",
        "c: documented, not in the argument spec",
        "a: type is 'int' in the spec, 'str' in the docs",
        "a: required is True in the spec, False in the docs",
    ]
