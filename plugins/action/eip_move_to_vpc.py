# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""eip_move_to_vpc on the controller: its progress lines shown while it waits (plugin_utils/progress.py)."""

from __future__ import annotations

from ansible_collections.clusterswap.swap.plugins.plugin_utils.progress import ProgressAction as ActionModule

__all__ = ["ActionModule"]
