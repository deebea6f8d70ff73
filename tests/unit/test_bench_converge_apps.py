"""The converge-per-app benchmark's arithmetic: marginal cost and the targets."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import converge_apps  # noqa: E402


def row(apps, first, noop):
    return {"apps": apps, "first_s": first, "noop_s": noop, "noop_recap": {"ok": 1, "changed": 0}}


def test_marginal_app_is_what_each_app_after_the_first_adds():
    rows = [row(1, 50.0, 20.0), row(5, 90.0, 40.0), row(10, 140.0, 65.0)]
    result = converge_apps.summary(rows)
    assert rows[0]["first_marginal_s"] is None
    assert rows[1]["first_marginal_s"] == 10.0 and rows[1]["first_marginal_ratio"] == 0.2
    assert rows[2]["first_marginal_s"] == 10.0 and rows[2]["noop_marginal_s"] == 5.0
    assert rows[2]["first_per_app_s"] == 14.0
    assert result["marginal_first_met"] and not result["noop_10_met"]
    assert result["noop_10_s"] == 65.0


def test_targets_missed_and_met_are_reported():
    rows = [row(1, 50.0, 20.0), row(10, 500.0, 59.0)]
    result = converge_apps.summary(rows)
    assert result["marginal_first_ratio"] == 1.0 and not result["marginal_first_met"]
    assert result["noop_10_met"]
    report = converge_apps.markdown(rows, result)
    assert "target <= 30%): missed" in report and "(target < 60 s): met" in report


def test_the_apps_do_not_clash():
    apps = converge_apps.apps("/src/hello", 10)
    assert len({a["name"] for a in apps}) == len({a["port"] for a in apps}) == len({a["domain"] for a in apps}) == 10


def test_the_single_app_baseline_is_its_fastest_run_and_says_so():
    one = converge_apps.baseline([row(1, 52.0, 20.0), row(1, 50.0, 21.0)])
    assert one["first_s"] == 50.0 and one["noop_s"] == 20.0
    rows = [one, row(10, 140.0, 65.0)]
    result = converge_apps.summary(rows)
    assert rows[1]["first_marginal_s"] == 10.0
    report = converge_apps.markdown(rows, result)
    assert "fastest of 2 runs (first converge 52.0, 50.0 s; no-op 20.0, 21.0 s)" in report


OUTPUT = """
TASK [Check each app alone and all of them together] ***
ok: [flaskops-bench]

TASK [flaskops.deploy.app : Check the app definition (flaskops_app) and derive its user] ***
skipping: [flaskops-bench]

TASK [flaskops.deploy.app : Validating arguments against arg spec main - Validate one app definition and derive] ***
ok: [flaskops-bench]

TASK [flaskops.deploy.app : Check the app definition (flaskops_app)] ***
ok: [flaskops-bench]

TASK [Something else] ***
ok: [flaskops-bench]
"""


def test_validations_count_the_checks_that_ran_not_those_skipped():
    # All 3 apps together (3), core's check (1), the old check and derivation (2).
    assert converge_apps.validations(OUTPUT, 3) == 6


def test_before_and_validations_are_reported_against_their_targets():
    ten = {**row(10, 140.0, 20.0), "first_validations_per_app": 1.0, "noop_validations_per_app": 1.0}
    before = {**row(10, 150.0, 40.0), "first_validations_per_app": 7.0, "noop_validations_per_app": 6.5,
              "revision": "abc1234"}
    rows = [{**row(1, 50.0, 10.0), "first_validations_per_app": 1.0, "noop_validations_per_app": 1.0}, ten]
    result = converge_apps.summary(rows, before)
    assert result["noop_10_before_ratio"] == 0.5 and result["noop_10_before_met"]
    assert result["validations_per_app"] == 1.0 and result["validations_met"]
    report = converge_apps.markdown(rows, result)
    assert "the collection at abc1234" in report and "0.50x (target <= 0.7x): met" in report
    assert "per app and run: at most 1 (target 1): met" in report
