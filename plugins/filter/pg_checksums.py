# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Row counts and checksums of Postgres tables, taken on the old server before the move and on the new one
after: the SQL (one place for both sides), its result, and the diff. Documentation: the sidecar YAML beside
this file, one per filter."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_RESULT = re.compile(r"^[0-9]+:([0-9a-f]{32})?$")
NOT_RECORDED = "not recorded"
# rows:md5 of every row, in a stable order (md5 empty for an empty table)
CHECKSUM_SQL = (
    "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
)


def table_checksum_sql(table: str) -> str:
    """SELECT of `rows:md5` of every row of the table, in a stable order (md5 empty for an empty table)."""
    if not _TABLE.match(table or ""):
        raise AnsibleFilterError(
            f"table_checksum_sql: {table!r} is not a table name "
            "(table or schema.table; letters, digits, _ and $)"
        )
    return CHECKSUM_SQL.format(table=table)


def table_checksums(results: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """{table: 'rows:md5'} from the checksum query's loop results (item = the table), skipped ones out."""
    sums = {}
    for r in results:
        if r.get("skipped") or "stdout" not in r:
            continue
        value = r["stdout"].strip()
        if not _RESULT.match(value):
            raise AnsibleFilterError(
                f"table_checksums: the checksum of {r['item']} is {value!r}, not rows:md5 "
                "(is the query the one of table_checksum_sql?)"
            )
        sums[r["item"]] = value
    return sums


def table_checksum_diffs(
    expected: Mapping[str, str], actual: Mapping[str, str], tables: Iterable[str]
) -> list[str]:
    """`table: before -> after` for each table whose checksum differs (or was not recorded, or not taken)."""
    return [
        f"{t}: {expected.get(t, NOT_RECORDED)} -> {actual.get(t, 'not taken')}"
        for t in tables
        if t not in expected or expected[t] != actual.get(t)
    ]


class FilterModule:
    """Postgres table checksums of the Postgres move."""

    def filters(self) -> dict[str, Any]:
        return {
            "table_checksum_sql": table_checksum_sql,
            "table_checksums": table_checksums,
            "table_checksum_diffs": table_checksum_diffs,
        }
