#!/usr/bin/env python3
"""flaskops.deploy benchmark: converge time for 1, 5 and 10 apps on one host.

    make bench-apps        (or: .venv/bin/python benchmarks/converge_apps.py [--counts 1 5 10])

For each count, a fresh systemd container (flaskops-bench, as bench.py starts
it) gets that many copies of the sample app (own names, ports and domains, one
source) from flaskops.deploy.site: the first converge, then a no-op re-run.
Reports total and per-app times and the marginal cost of an app (what each app
after the first adds, against the first app's time), and writes
benchmarks/results/converge-apps.json and converge-apps.md. It reports; it does
not gate CI. Targets (issue 5): marginal app <= 30% of the first app's time;
no-op re-run of 10 apps under 60 s.

The single app, the baseline of every ratio, is measured twice (each on a fresh
container) and its faster times are used: the first app's converge includes
package downloads whose time varies from run to run, and a slow baseline would
flatter the ratios.

`--before REV` measures, in the same run, the 10 apps with the collection as
it was at that git revision too (first converge and no-op re-run, on a fresh
container), for a before/after ratio (issue 20: no-op <= 0.7x).

Every converge also counts how many times an app definition was checked in
full (validations per app per run, issue 20's target 1), from the tasks that
ran (VALIDATIONS: ansible-core's check of the app role's spec, the app role's
own check, the playbook's check of all apps; old and new task names).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (the container, the sample app and the ansible-playbook runner)

TARGET_MARGINAL = 0.30
TARGET_NOOP_10_S = 60.0
TARGET_BEFORE_RATIO = 0.70
TARGET_VALIDATIONS = 1

# Tasks that check an app definition in full, by the name the default callback
# prints, and how many definitions one run of each checks: 1, or "apps" (every
# app of the host). Old names are kept so that --before counts an older
# collection the same way.
VALIDATIONS = {
    # ansible-core's check of roles/app/meta/argument_specs.yml's entry point main
    # (flaskops_app with every field), each time the role is loaded with it.
    "Validating arguments against arg spec main - Validate one app definition": 1,
    # The app role's own check and derivation (one filter run).
    "Check the app definition (flaskops_app) and derive": 1,
    # Before 2026-12: the check (app_problems) and the derivation (app_facts), two runs.
    "Check the app definition (flaskops_app)]": 2,
    # All apps of the host, each alone and together (apps_checked / apps_problems).
    "Check each app alone and all of them together": "apps",
    "Check the apps together": "apps",
}


def apps(source: Path, count: int) -> list[dict]:
    return [{
        "name": f"app{index}",
        "domain": f"app{index}.test",
        "source": {"type": "local", "path": str(source)},
        "wsgi": "hello:app",
        "port": 8000 + index,
        "environment": {"HELLO_GREETING": f"App {index}"},
    } for index in range(1, count + 1)]


def validations(output: str, count: int) -> int:
    """How many app definitions the run's tasks (VALIDATIONS) checked in full.

    A task counts when it ran (a line `ok: [host]` under its header), not when
    it was skipped."""
    total = 0
    for block in output.split("\nTASK [")[1:]:
        header, _, body = block.partition("\n")
        for name, weight in VALIDATIONS.items():
            if name in header and re.search(r"^ok: \[", body, re.MULTILINE):
                total += count if weight == "apps" else weight
                break
    return total


def measure(count: int, workdir: Path, env: dict | None = None, label: str = "") -> dict:
    bench.log(f"{label}{count} app(s): fresh container")
    bench.start_container()
    deployment = bench.Deployment(workdir / f"apps-{count}")
    extra = {"flaskops_apps": apps(deployment.source, count)}
    first, first_recap = deployment.converge(extra, env=env)
    first_checks = validations(deployment.output, count)
    bench.log(f"{label}{count} app(s): first converge {first:.1f} s; no-op re-run")
    noop, noop_recap = deployment.converge(extra, env=env)
    noop_checks = validations(deployment.output, count)
    bench.log(f"{label}{count} app(s): no-op {noop:.1f} s (changed={noop_recap['changed']}); "
              f"definitions checked {first_checks}, {noop_checks}")
    return {"apps": count, "first_s": first, "first_recap": first_recap,
            "noop_s": noop, "noop_recap": noop_recap,
            "first_validations_per_app": first_checks / count, "noop_validations_per_app": noop_checks / count}


def collection_at(revision: str, workdir: Path) -> dict:
    """The collection as it was at a git revision, for ansible-playbook's environment."""
    path = workdir / "before" / "ansible_collections" / "flaskops" / "deploy"
    path.mkdir(parents=True)
    bench.run(["sh", "-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "sh", str(bench.ROOT), revision, str(path)])
    # That collection first; its dependencies (community.docker) from ours.
    return {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
        [str(workdir / "before"), os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")])}


def baseline(runs: list[dict]) -> dict:
    """The single app's row from several runs: the fastest of each time, every run kept."""
    row = dict(min(runs, key=lambda run: run["first_s"]))
    row["noop_s"] = min(run["noop_s"] for run in runs)
    row["first_runs_s"] = [run["first_s"] for run in runs]
    row["noop_runs_s"] = [run["noop_s"] for run in runs]
    return row


def summary(rows: list[dict], before: dict | None = None) -> dict:
    one = next(row for row in rows if row["apps"] == 1)
    for row in rows:
        extra_apps = row["apps"] - 1
        for kind in ("first", "noop"):
            row[f"{kind}_per_app_s"] = row[f"{kind}_s"] / row["apps"]
            row[f"{kind}_marginal_s"] = ((row[f"{kind}_s"] - one[f"{kind}_s"]) / extra_apps
                                         if extra_apps else None)
            row[f"{kind}_marginal_ratio"] = (row[f"{kind}_marginal_s"] / one[f"{kind}_s"]
                                             if extra_apps else None)
    biggest = max(rows, key=lambda row: row["apps"])
    ten = next((row for row in rows if row["apps"] == 10), None)
    checks = [row[key] for row in rows for key in ("first_validations_per_app", "noop_validations_per_app")
              if key in row]
    compared = {}
    if before is not None and ten is not None:
        ratio = ten["noop_s"] / before["noop_s"]
        compared = {"before": before, "noop_10_before_ratio": ratio,
                    "noop_10_before_met": ratio <= TARGET_BEFORE_RATIO}
    return {
        **compared,
        "validations_per_app": max(checks) if checks else None,
        "validations_met": bool(checks) and max(checks) <= TARGET_VALIDATIONS,
        "marginal_first_ratio": biggest["first_marginal_ratio"],
        "marginal_first_met": (biggest["first_marginal_ratio"] or 0) <= TARGET_MARGINAL,
        "noop_10_s": next((row["noop_s"] for row in rows if row["apps"] == 10), None),
        "noop_10_met": any(row["apps"] == 10 and row["noop_s"] < TARGET_NOOP_10_S for row in rows),
    }


def markdown(rows: list[dict], result: dict) -> str:
    lines = [
        "# Converge time against the number of apps on one host",
        "",
        "Generated by `make bench-apps` (benchmarks/converge_apps.py); every count on a fresh",
        f"container, in one run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        "",
        "| apps | first converge (s) | per app | marginal app (vs first app) | no-op re-run (s) | per app | marginal app | no-op changed | checks per app |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    def checked(row: dict) -> str:
        if "first_validations_per_app" not in row:
            return "-"
        return f"{row['first_validations_per_app']:g}, {row['noop_validations_per_app']:g}"

    for row in rows:
        def marginal(kind: str) -> str:
            if row[f"{kind}_marginal_s"] is None:
                return "-"
            return f"{row[f'{kind}_marginal_s']:.1f} s ({row[f'{kind}_marginal_ratio']:.0%})"
        lines.append(
            f"| {row['apps']} | {row['first_s']:.1f} | {row['first_per_app_s']:.1f} | {marginal('first')} | "
            f"{row['noop_s']:.1f} | {row['noop_per_app_s']:.1f} | {marginal('noop')} | "
            f"{row['noop_recap']['changed']} | {checked(row)} |")
    one = next(row for row in rows if row["apps"] == 1)
    if len(one.get("first_runs_s", [])) > 1:
        lines += [
            "",
            f"The 1-app row is the fastest of {len(one['first_runs_s'])} runs (first converge "
            f"{', '.join(f'{value:.1f}' for value in one['first_runs_s'])} s; no-op "
            f"{', '.join(f'{value:.1f}' for value in one['noop_runs_s'])} s), so that a slow "
            "baseline cannot flatter the ratios.",
        ]
    lines += [
        "",
        f"- Marginal app on the first converge: {result['marginal_first_ratio']:.0%} of the first app's time "
        f"(target <= {TARGET_MARGINAL:.0%}): {'met' if result['marginal_first_met'] else 'missed'}.",
    ]
    if result["noop_10_s"] is not None:
        lines.append(f"- No-op re-run of 10 apps: {result['noop_10_s']:.1f} s (target < {TARGET_NOOP_10_S:.0f} s): "
                     f"{'met' if result['noop_10_met'] else 'missed'}.")
    if result.get("validations_per_app") is not None:
        lines.append(f"- App definitions checked in full, per app and run: at most {result['validations_per_app']:g} "
                     f"(target {TARGET_VALIDATIONS}): {'met' if result['validations_met'] else 'missed'}.")
    before = result.get("before")
    if before:
        lines += [
            f"- Before, the collection at {before['revision']} (10 apps, same run, fresh container): first converge "
            f"{before['first_s']:.1f} s, no-op re-run {before['noop_s']:.1f} s (changed={before['noop_recap']['changed']}), "
            f"app definitions checked {before['first_validations_per_app']:g} and "
            f"{before['noop_validations_per_app']:g} times per app.",
            f"- No-op re-run of 10 apps against before: {result['noop_10_before_ratio']:.2f}x "
            f"(target <= {TARGET_BEFORE_RATIO:.1f}x): {'met' if result['noop_10_before_met'] else 'missed'}.",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--baseline-runs", type=int, default=2,
                        help="how many times to measure the single app (its fastest times are used)")
    parser.add_argument("--before", metavar="REV", default="",
                        help="also measure 10 apps with the collection at this git revision, in the same run")
    args = parser.parse_args()
    counts = sorted(set(args.counts) - {1})
    workdir = Path(tempfile.mkdtemp(prefix="flaskops-bench-apps-"))
    before = None
    try:
        if args.before:
            revision = bench.run(["git", "-C", str(bench.ROOT), "rev-parse", "--short", args.before],
                                 capture_output=True).stdout.strip()
            before = measure(10, workdir / "before", env=collection_at(revision, workdir),
                             label=f"before ({revision}): ")
            before["revision"] = revision
        rows = [baseline([measure(1, workdir / f"run-{run}") for run in range(max(1, args.baseline_runs))])]
        rows += [measure(count, workdir) for count in counts]
    finally:
        bench.run(["docker", "rm", "-f", bench.CONTAINER], check=False, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    result = summary(rows, before)
    bench.RESULTS.mkdir(parents=True, exist_ok=True)
    (bench.RESULTS / "converge-apps.json").write_text(json.dumps({"rows": rows, **result}, indent=2) + "\n")
    report = markdown(rows, result)
    (bench.RESULTS / "converge-apps.md").write_text(report)
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
