"""The lab: a simulated AWS account (lab.awssim), its world and scenarios, and the container hosts."""

import sys
from pathlib import Path

# The collection (this checkout, linked in as collections/ansible_collections/clusterswap/swap) is importable
# wherever the lab runs (`python -m lab.labctl`, `python -m lab.probe`), as pytest's pythonpath makes it for
# the tests: the lab joins its probe's record to the product's timeline with the product's own code.
_COLLECTIONS = str(Path(__file__).resolve().parent.parent / "collections")
if _COLLECTIONS not in sys.path:
    sys.path.append(_COLLECTIONS)
