"""Update-frequency checks (T1.ii): last-updated dates present, real, not in the future, within the
policy's verification window (as of 2026-11-01)."""
from __future__ import annotations

import pytest

from directory_audit import flatten, load_settings
from directory_audit.registry import METRICS, load_catalogue
from tests.test_checks_locations import findings, table

FIRES = [
    ("update.last_updated_missing", [{"last_updated": None}, {"last_updated": "2026-10-01", "zip": "97205"}], {}, [("t.csv:2", "")]),
    ("update.none_published", [{"last_updated": None}, {"last_updated": " ", "zip": "97205"}], {}, [("t.csv", "")]),
    ("update.last_updated_unparseable", [{"last_updated": "13/45/2026"}], {}, [("t.csv:2", "13/45/2026")]),
    ("update.last_updated_unparseable", [{"last_updated": "sometime 2025"}], {}, [("t.csv:2", "sometime 2025")]),
    ("update.last_updated_unparseable", [{"last_updated": "2026-02-30"}], {}, [("t.csv:2", "2026-02-30")]),
    ("update.last_updated_future", [{"last_updated": "2027-03-01"}], {}, [("t.csv:2", "2027-03-01")]),
    ("update.last_updated_future", [{"last_updated": "2026-11-02T08:00:00Z"}], {}, [("t.csv:2", "2026-11-02T08:00:00Z")]),
    ("update.stale", [{"last_updated": "2025-06-30"}], {}, [("t.csv:2", "2025-06-30")]),
    ("update.stale", [{"last_updated": "2014-01-01"}], {}, [("t.csv:2", "2014-01-01")]),
    ("update.stale", [{"last_updated": "08/02/2026"}], {}, [("t.csv:2", "08/02/2026")]),      # 91 days
    ("update.stale", [{"last_updated": "2026-10-01"}], {"policy": "medicaid"}, [("t.csv:2", "2026-10-01")]),  # 31 > 30
    ("update.stale", [{"last_updated": "2026-10-01"}], {"max_age_days": 14}, [("t.csv:2", "2026-10-01")]),
]


@pytest.mark.parametrize("check_id,rows,settings,expected", FIRES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FIRES)])
def test_check_fires(check_id, rows, settings, expected):
    assert flatten(findings(check_id, *rows, **settings), ["record_id", "observed"]) == expected


SILENT = [("update.last_updated_missing", [{"last_updated": "2026-10-01"}], {}),
          ("update.last_updated_missing", [{"last_updated": None}], {}),       # none published: one source finding
          ("update.none_published", [{"last_updated": None}, {"last_updated": "2026-10-01", "zip": "97205"}], {}),
          ("update.stale", [{"last_updated": "1900-01-01"}], {}),              # a placeholder, not a stale record
          ("update.stale", [{"last_updated": "9999-12-31"}], {}),              # a placeholder too
          ("update.stale", [{"last_updated": "2013-12-31"}], {}),              # before the rules: a placeholder
          ("update.last_updated_future", [{"last_updated": "9999-12-31"}], {})] + [
    ("update.last_updated_unparseable", [{"last_updated": value}], {})
    for value in ("2026-10-01", "10/01/2026", "10/01/26", "Oct 1, 2026", "2026-10-01T12:30:00-07:00", "20261001")
] + [
    ("update.last_updated_unparseable", [{"last_updated": None}], {}),          # missing, reported there
    ("update.last_updated_future", [{"last_updated": "2026-11-01"}], {}),       # the audit day itself
    ("update.last_updated_future", [{"last_updated": "2026-11-01T23:59:00"}], {}),
    ("update.stale", [{"last_updated": "2026-08-03"}], {}),                     # exactly 90 days
    ("update.stale", [{"last_updated": "2026-10-01"}], {"policy": "qhp"}),      # 31 days, monthly
    ("update.stale", [{"last_updated": "2027-01-01"}], {}),                     # future, reported there
    ("update.stale", [{"last_updated": "garbage"}], {}),
]


@pytest.mark.parametrize("check_id,rows,settings", SILENT, ids=[f"{c[0]}-{i}" for i, c in enumerate(SILENT)])
def test_check_stays_silent(check_id, rows, settings):
    assert flatten(findings(check_id, *rows, **settings), ["record_id", "observed"]) == []


def test_stale_message_gives_age_window_and_policy():
    out = findings("update.stale", {"last_updated": "2025-06-30"})
    assert out["message"].iloc[0] == ("last updated '2025-06-30', 489 days before the audit date "
                                      "(window 90 days, policy nsa)")


def test_named_policy_from_the_settings_file(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('policy = "oregon_weekly"\n[policies]\noregon_weekly = 7\n')
    s = load_settings(cfg, as_of="2026-11-01")
    assert s.verification_window_days == 7
    assert findings("update.stale", {"last_updated": "2026-10-20"}, config_file=cfg)["record_id"].tolist() == ["t.csv:2"]


def test_age_metrics():
    dates = ["2026-10-31", "2026-10-02", "2026-09-01", "2026-07-01", "2026-01-01", "2024-01-01",
             "2027-01-01", None, "nonsense", "1900-01-01", "1970-01-01", "9999-12-31", "2010-11-01"]
    t = table(*[{"last_updated": d} for d in dates])
    s = load_settings(as_of="2026-11-01")
    as_of = __import__("pandas").Timestamp("2026-11-01")
    summary = METRICS["update.age_summary"].func(t, as_of=as_of, settings=s)
    # ages 1, 30, 61, 123, 304, 1035 and 5844; the future, missing and unreadable dates are left out, and
    # so are the sentinels (1900-01-01 is no age of 46,000 days: placeholder.last_updated reports it). The
    # 2010 date is a placeholder by the 2014 rule, yet a true age: it counts.
    assert summary == {"window_days": 90, "records_with_date": 7, "median_days": 123.0, "p90_days": 2958.6,
                       "share_within_window": round(3 / 7, 4)}
    hist = METRICS["update.age_histogram"].func(t, as_of=as_of, settings=s)
    assert hist == {"labels": ["0-30", "31-60", "61-90", "91-180", "181-365", ">365"], "counts": [2, 0, 1, 1, 1, 2]}
    empty = METRICS["update.age_summary"].func(t.iloc[0:0], as_of=as_of, settings=s)
    assert empty == {"window_days": 90, "records_with_date": 0, "median_days": None, "p90_days": None,
                     "share_within_window": None}


def test_checks_are_listed_with_their_factor_item():
    cat = load_catalogue()
    assert {k: (cat[k].factor, cat[k].severity.value) for k in cat if k.startswith("update.")} == {
        "update.last_updated_missing": ("T1.ii", "error"), "update.last_updated_unparseable": ("T1.ii", "error"),
        "update.last_updated_future": ("T1.ii", "error"), "update.stale": ("T1.ii", "warning"),
        "update.generation_stamp": ("T1.ii", "warning"), "update.measured_frequency": ("T1.ii", "warning"),
        "update.none_published": ("T1.ii", "error")}
