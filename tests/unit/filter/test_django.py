"""Unit tests of plugins/filter/django.py: showmigrations --plan read into pending and applied."""

from __future__ import annotations

from ansible_collections.clusterswap.swap.plugins.filter.django import FilterModule, django_migrations

PLAN = """\
[X]  contenttypes.0001_initial
[X]  auth.0001_initial
[ ]  site.0007_add_quota
System check identified some issues:
WARNINGS: [ ] this is not a migration line
[ ]  site.0008_drop_legacy (2 squashed migrations)
"""


def test_pending_and_applied_in_the_plans_order() -> None:
    assert django_migrations(PLAN) == {
        "pending": ["site.0007_add_quota", "site.0008_drop_legacy"],
        "applied": ["contenttypes.0001_initial", "auth.0001_initial"],
    }


def test_nothing_to_read() -> None:
    assert django_migrations("") == {"pending": [], "applied": []}
    assert django_migrations("No migrations.\n") == {"pending": [], "applied": []}


def test_all_applied() -> None:
    assert django_migrations("[X]  a.0001\n[X]  a.0002\n")["pending"] == []


def test_the_filter_is_registered() -> None:
    assert set(FilterModule().filters()) == {"django_migrations"}
