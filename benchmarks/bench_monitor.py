"""Benchmark: `esr1calls monitor` at the size of a trial or a national programme.

Not a test (timings are never asserted in the suite). Run from the repository root:

    .venv/bin/python benchmarks/bench_monitor.py                      # 10,000 patients x 6
    .venv/bin/python benchmarks/bench_monitor.py --patients 1000 --documents 30
    .venv/bin/python benchmarks/bench_monitor.py --documents 150 600  # memory vs documents

Inputs, generated in a temporary directory: PATIENTS patients with TIMEPOINTS samples each
(every 2 months), as calls.json documents of the default 11 hotspots, written as batches of
samples in collection order (one document per batch, two thirds NGS with read counts, one third
ARMS-PCR with delta-Ct), each sample carrying its patient_id and collected date. Each patient
follows a random course: never positive, a mutation that emerges and rises, one present at
baseline that falls and clears, a method change, an INDETERMINATE sample now and then.

Printed per document count: wall time of the whole `esr1calls monitor` process (validation of
every document included), its peak RSS, and the size of the outputs. The same samples split
over more documents should leave the peak RSS flat: documents are read one at a time.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ESR1CALLS = REPO / ".venv" / "bin" / "esr1calls"
sys.path.insert(0, str(REPO))

from esr1calls.hotspots import load_panel  # noqa: E402
from esr1calls.reports.calls_json import document_head  # noqa: E402
from esr1calls.reports.options import ReportOptions  # noqa: E402

PANEL = load_panel()
HOTSPOTS = [(h.name, h.hgvs_c, h.hgvs_p) for h in PANEL]


def _call(hotspot: tuple[str, str, str], status: str, **values: object) -> dict[str, object]:
    name, hgvs_c, hgvs_p = hotspot
    call: dict[str, object] = {
        "hotspot": name,
        "hgvs_c": hgvs_c,
        "hgvs_p": hgvs_p,
        "status": status,
        "reasons": ["INSUFFICIENT_DEPTH"] if status == "INDETERMINATE" else [],
        "action": None,
        "allele_fraction": None,
        "allele_fraction_ci95": None,
        "alt_count": None,
        "depth": None,
        "lod95": None,
        "delta_ct": None,
        "ct_mutation": None,
        "ct_reference": None,
        "ct_ic": None,
        "cutoff": None,
        "evidence": {},
    }
    call.update(values)
    return call


def _course(rng: random.Random, timepoints: int) -> list[dict[str, float]]:
    """Each timepoint's true fraction per mutated hotspot (absent hotspots: 0)."""
    kind = rng.random()
    fractions = [dict[str, float]() for _ in range(timepoints)]
    if kind < 0.5:
        return fractions
    hotspot = rng.choice(HOTSPOTS)[0]
    if kind < 0.8:  # emerges, then rises
        start = rng.randrange(1, timepoints)
        for t in range(start, timepoints):
            fractions[t][hotspot] = 0.003 * 2.5 ** (t - start)
    else:  # present at baseline, falls, clears
        for t in range(timepoints):
            value = 0.05 / 4**t
            if value > 0.001:
                fractions[t][hotspot] = value
    return fractions


def _sample(
    rng: random.Random, patient: int, t: int, when: date, method: str, truth: dict[str, float]
) -> dict[str, object]:
    indeterminate = rng.random() < 0.03
    calls = []
    for hotspot in HOTSPOTS:
        fraction = truth.get(hotspot[0], 0.0)
        if method == "NGS":
            depth = rng.randint(8000, 30000) if not indeterminate else rng.randint(300, 900)
            alt = round(depth * fraction)
            if indeterminate:
                calls.append(
                    _call(
                        hotspot,
                        "INDETERMINATE",
                        alt_count=alt,
                        depth=depth,
                        allele_fraction=alt / depth,
                        lod95=0.01,
                    )
                )
            elif alt >= 5 and alt / depth >= 0.002:
                calls.append(
                    _call(
                        hotspot,
                        "DETECTED",
                        alt_count=alt,
                        depth=depth,
                        allele_fraction=alt / depth,
                        lod95=0.0012,
                    )
                )
            else:
                calls.append(
                    _call(
                        hotspot,
                        "NOT_DETECTED",
                        alt_count=min(alt, 2),
                        depth=depth,
                        allele_fraction=min(alt, 2) / depth,
                        lod95=0.0012,
                    )
                )
        elif fraction >= 0.002 and not indeterminate:
            delta_ct = round(0.5 - math.log(fraction, 1.95), 2)
            calls.append(
                _call(
                    hotspot,
                    "DETECTED",
                    delta_ct=delta_ct,
                    allele_fraction=round(fraction, 6),
                    lod95=0.002,
                )
            )
        else:
            status = "INDETERMINATE" if indeterminate else "NOT_DETECTED"
            calls.append(_call(hotspot, status, lod95=0.002))
    statuses = {c["status"] for c in calls}
    status = (
        "POSITIVE"
        if "DETECTED" in statuses
        else ("NEGATIVE" if statuses == {"NOT_DETECTED"} else "INDETERMINATE")
    )
    return {
        "sample_id": f"PT{patient:05d}-V{t + 1}",
        "method": method,
        "status": status,
        "summary": "",
        "source": "",
        "details": {},
        "calls": calls,
        "patient_id": f"PT{patient:05d}",
        "collected": when.isoformat(),
    }


def generate(
    folder: Path, patients: int, timepoints: int, documents: int, seed: int = 7
) -> list[Path]:
    rng = random.Random(seed)
    start = date(2024, 1, 1)
    visits = []  # (collected, patient, timepoint, method, truth)
    for patient in range(1, patients + 1):
        course = _course(rng, timepoints)
        first = start + timedelta(days=rng.randrange(0, 60))
        switch = rng.randrange(timepoints) if rng.random() < 0.2 else timepoints
        base_method = "NGS" if rng.random() < 2 / 3 else "PCR"
        for t in range(timepoints):
            method = base_method if t < switch else ("PCR" if base_method == "NGS" else "NGS")
            visits.append((first + timedelta(days=61 * t), patient, t, method, course[t]))
    visits.sort(key=lambda v: (v[0], v[1]))
    per_document = -(-len(visits) // documents)
    head = document_head(
        ReportOptions("bench", reproducible=True),
        (),
        panel=PANEL.describe(),
        kit=None,
        thresholds={},
        notices=[],
    )
    paths = []
    for index in range(documents):
        batch = visits[index * per_document : (index + 1) * per_document]
        if not batch:
            break
        for method in ("NGS", "PCR"):
            samples = [
                _sample(rng, p, t, when, m, truth) for when, p, t, m, truth in batch if m == method
            ]
            if not samples:
                continue
            run = folder / f"{method.lower()}-{index:04d}"
            run.mkdir(parents=True, exist_ok=True)
            document = {
                **head,
                "run": {**head["run"], "command": f"bench {run.name}"},
                "samples": samples,
                "run_qc": [],
                "plates": [],
                "dropped": [],
            }
            (run / "calls.json").write_text(json.dumps(document), encoding="utf-8")
            paths.append(run / "calls.json")
    return paths


def measure(paths: list[Path], outdir: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one `esr1calls monitor`
    process. On a shared machine the CPU time is the figure to compare."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(ESR1CALLS), "monitor", *map(str, paths), "-o", str(outdir), "--reproducible"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"esr1calls monitor failed:\n{done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--timepoints", type=int, default=6)
    parser.add_argument(
        "--documents",
        type=int,
        nargs="+",
        default=[150],
        help="batches of samples; NGS and PCR each get a calls.json per batch",
    )
    args = parser.parse_args()
    samples = args.patients * args.timepoints
    print(f"{args.patients:,} patients x {args.timepoints} timepoints = {samples:,} samples")
    for documents in args.documents:
        with tempfile.TemporaryDirectory(prefix="bench-monitor-") as scratch:
            root = Path(scratch)
            paths = generate(root / "runs", args.patients, args.timepoints, documents)
            size = sum(p.stat().st_size for p in paths) / 2**20
            wall, cpu, peak = measure(paths, root / "out")
            out = root / "out"
            pages = (
                len(list((out / "timeline").glob("*.html"))) if (out / "timeline").is_dir() else 0
            )
            print(
                f"{len(paths)} calls.json ({size:,.0f} MiB): monitor {wall:.1f} s wall, "
                f"{cpu:.1f} s CPU, peak RSS "
                f"{peak:,.0f} MiB ({samples / wall:,.0f} samples/s); monitor.json "
                f"{(out / 'monitor.json').stat().st_size / 2**20:,.0f} MiB, monitor.tsv "
                f"{(out / 'monitor.tsv').stat().st_size / 2**20:,.0f} MiB, timeline.html + "
                f"{pages:,} pages"
            )


if __name__ == "__main__":
    main()
