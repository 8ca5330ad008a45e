"""Both catalogs carry every key, with the same placeholders; code uses only existing keys."""

from __future__ import annotations

import datetime as dt
import re
import string
from decimal import Decimal

import pytest

from crm_data import admin, audit, dictionaries
from crm_data.i18n import Fmt, catalog, plural_form
from tests.helpers import REPO

SOURCES = [*REPO.glob("crm_data/**/*.py"), *REPO.glob("pages/**/*.py"), REPO / "app.py"]
LITERAL_KEY = re.compile(
    r"""(?:\bt|\.t|\btn|\.tn|\.single\([^,()]+,|\.add\([^,()]+,|Error\(|Denied\(|\bkey\s*=)\s*\(?\s*["']([a-z][a-z0-9_]*\.[a-z0-9_.]+)["']"""
)
PLURAL_CALL = re.compile(r"""\.tn\(\s*["']([a-z0-9_.]+)["']""")
# keys built at run time from a fixed set of values
DYNAMIC = {
    "status": ["open", "won", "lost", "closed", "done", "planned", "cancelled"],
    "role": ["admin", "manager", "member"],
    "threads.sort": ["last_activity", "opened", "percent", "client"],
    "today.view": ["mine", "assigned", "delegated"],
    "today.empty": ["mine", "assigned", "delegated"],
    "today.bucket": ["overdue", "today", "upcoming", "closed"],
    "calendar.lane": ["person", "resource"],
    "calendar.scope": ["me", "person", "team"],
    "planner.freq": ["none", "daily", "weekly", "monthly"],
    "resources.span": ["day", "week"],
    "admin.tab": ["dictionaries", "users", "settings", "audit", "backup"],
    "admin.kind": list(dictionaries.KINDS),
    "admin.field": sorted({name for kind in admin.KINDS.values() for name in kind.fields}),
    "admin.link": ["off", "optional", "required"],
    "admin.day": ["0", "1", "2", "3", "4", "5", "6"],
    "admin.import_status": ["new", "duplicate", "error"],
    "audit.entity": list(audit.ENTITIES),
    "audit.action": [
        "create",
        "update",
        "stage",
        "plan",
        "complete",
        "reschedule",
        "reassign",
        "cancel",
        "book",
        "move",
        "release",
        "archived",
        "deleted",
        "restore",
        "reorder",
        "link",
        "activate",
        "deactivate",
        "role",
        "rename",
        "reset_password",
        "change_password",
        "clients",
        "sign_in",
        "sign_out",
        "sign_out_everywhere",
        "calendar_feed",
        "calendar_feed_revoked",
        "target",
    ],
    "admin.import": [
        "name",
        "tax_id",
        "address",
        "email",
        "phone",
        "notes",
        "contact_name",
        "contact_position",
        "contact_email",
        "contact_phone",
    ],
    "funnel.drill": ["reached", "at", "lost_reason", "owner"],
    "money.grain": ["week", "month", "quarter", "year"],
    "money.by": ["owner", "client", "product", "event_type", "amount_type", "pipeline"],
    "money.chart": ["bar", "line"],
    "timelines.view": ["thread", "workload", "resources"],
    "reports.month": [str(m) for m in range(1, 13)],
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_polish_have_the_same_keys() -> None:
    en, pl = set(catalog("en")), set(catalog("pl"))
    plural = re.compile(r"\.(one|few|many|other)$")
    assert {k for k in en if not plural.search(k)} ^ {k for k in pl if not plural.search(k)} == set()
    assert {plural.sub("", k) for k in en if plural.search(k)} == {plural.sub("", k) for k in pl if plural.search(k)}


def test_translations_use_the_same_placeholders() -> None:
    en, pl = catalog("en"), catalog("pl")
    for key, text in pl.items():
        english = en.get(key) or en.get(re.sub(r"\.(few|many)$", ".other", key))
        assert english is not None, key
        assert placeholders(text) == placeholders(english), key


def test_every_key_written_in_the_code_exists_in_both_catalogs() -> None:
    used = set()
    for path in SOURCES:
        used |= set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith(("_", "."))}  # prefixes completed at run time
    for prefix, values in DYNAMIC.items():
        sep = "." if prefix in ("status", "role", "audit.entity", "audit.action") else "_"
        used |= {f"{prefix}{sep}{v}" for v in values}
    plurals = set()
    for path in SOURCES:
        plurals |= set(PLURAL_CALL.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 150, "the scan finds the keys"
    for lang in ("en", "pl"):
        cat = catalog(lang)
        missing = sorted(k for k in used - plurals if k not in cat)
        assert missing == [], f"{lang}: {missing}"
        for key in plurals:
            forms = ("one", "other") if lang == "en" else ("one", "few", "many")
            assert all(f"{key}.{form}" in cat for form in forms), f"{lang}: {key}"


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "one"), (2, "few"), (4, "few"), (5, "many"), (12, "many"), (22, "few"), (25, "many"), (0, "many")],
)
def test_polish_plural_forms(n: int, form: str) -> None:
    assert plural_form("pl", n) == form


def test_numbers_money_and_dates_are_formatted_for_the_language() -> None:
    moment = dt.datetime(2026, 11, 28, 13, 30, tzinfo=dt.UTC)  # 14:30 in Warsaw
    en, pl = Fmt("en"), Fmt("pl")
    assert en.money(Decimal("1234567.5")) == "1,234,567.50\u00a0PLN"
    assert pl.money(Decimal("1234567.5")) == "1\u00a0234\u00a0567,50\u00a0PLN"
    assert en.datetime(moment) == "28 Nov 2026 14:30"
    assert pl.datetime(moment) == "28.11.2026 14:30"
    assert pl.tn("threads.count", 5) == "5 wątków"
    assert pl.tn("threads.count", 3) == "3 wątki"
    assert en.tn("threads.count", 1) == "1 thread"


def test_a_missing_key_shows_the_key_itself_not_a_crash() -> None:
    assert Fmt("pl").t("no.such.key") == "no.such.key"


def test_numpy_numbers_from_a_column_sum_are_formatted_like_python_ones() -> None:
    import numpy as np

    f = Fmt("pl", "Europe/Warsaw", "PLN")
    assert f.number(np.float64(1234.5), places=2) == f.number(1234.5, places=2)
    assert f.number(np.int64(7)) == f.number(7)
