"""Postgres table checksums (plugins/filter/pg_checksums.py): one SQL for both sides, its result, the diff."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.clusterswap.swap.plugins.filter import pg_checksums as m

MD5 = "0123456789abcdef0123456789abcdef"


def test_the_checksum_sql_of_a_table() -> None:
    assert m.table_checksum_sql("public.users") == (
        "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
        " FROM public.users t"
    )


@pytest.mark.parametrize("table", ["", "users; DROP TABLE users", "a.b.c", "1users", "users t"])
def test_what_is_not_a_table_name_is_refused(table: str) -> None:
    with pytest.raises(AnsibleFilterError, match="is not a table name"):
        m.table_checksum_sql(table)


def test_checksums_from_the_query_results_by_table() -> None:
    results = [
        {"item": "users", "stdout": f"3:{MD5}\n"},
        {"item": "empty", "stdout": "0:"},
        {"item": "skipped", "skipped": True},
    ]
    assert m.table_checksums(results) == {"users": f"3:{MD5}", "empty": "0:"}


def test_a_result_that_is_not_rows_and_md5_fails() -> None:
    with pytest.raises(AnsibleFilterError, match="the checksum of users is 'ERROR: relation'"):
        m.table_checksums([{"item": "users", "stdout": "ERROR: relation"}])


def test_identical_checksums_have_no_diff() -> None:
    sums = {"users": f"3:{MD5}", "webapps": "0:"}
    assert m.table_checksum_diffs(sums, dict(sums), ["users", "webapps"]) == []


def test_changed_unrecorded_and_untaken_tables_are_named() -> None:
    expected = {"users": f"3:{MD5}", "webapps": "1:" + "f" * 32}
    actual = {"users": f"4:{MD5}", "consoles": "0:"}
    assert m.table_checksum_diffs(expected, actual, ["users", "webapps", "consoles"]) == [
        f"users: 3:{MD5} -> 4:{MD5}",
        f"webapps: 1:{'f' * 32} -> not taken",
        "consoles: not recorded -> 0:",
    ]
