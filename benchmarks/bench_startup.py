"""Benchmark: what a small job pays to start, esr1calls beside the floor or the peer of each job.

Not a test (timings are never asserted in the suite). Run from the repository root after
`make test` (it needs .venv, bcftools, bgzip and tabix):

    .venv/bin/python benchmarks/bench_startup.py              # 21 runs of each command
    .venv/bin/python benchmarks/bench_startup.py --repeats 31
    .venv/bin/python benchmarks/bench_startup.py --before /path/to/older/.venv/bin/esr1calls
    .venv/bin/python benchmarks/bench_startup.py --instructions   # and callgrind's counts

Rows (issue 18), each timed as whole processes by wall clock, the two commands of a row run
in turn so that a change in the machine's load falls on both:

* `esr1calls --help` and `esr1calls ngs --help`  vs  `python -c pass` (the interpreter alone,
  the same virtualenv and site-packages);
* one `esr1calls ngs` on a 5,000-record Mutect2 VCF.gz, indexed (what each Snakemake job of a
  targeted panel pays)  vs  `bcftools view -R hotspots.bed` on the same file, and again vs the
  floor of any tool built on pysam: the interpreter importing pysam and fetching the loci through
  the index, nothing checked, hashed, called or written (bench_table.PYSAM_VCF_FLOOR);
* one `esr1calls pcr` on a 384-well QuantStudio plate with its plate map  vs
  `python -c 'import pandas'`, the floor while plates are read as pandas tables.

Inputs are generated in a temporary directory with the generators of bench_vcf.py and
bench_batch.py. The esr1calls timed is this checkout installed as a lab installs it, `pip install
.` into bench-output/installed (made on the first run, the package installed again on each),
with its bytecode and dataclass caches compiled; the peers run in that virtualenv too. The load
average is printed before and after: the machine may be shared, and every figure is the median
of the runs. `--before` times another esr1calls (an older checkout's) on the same inputs, in
turn with this one, for a before/after column.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import write_plate  # the 384-well plate generator is shared
from bench_table import PYSAM_VCF_FLOOR  # python, import pysam and the fetch alone
from bench_vcf import generate, install_like_a_user  # and the VCF generator

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-output"


def wall(command: list[str]) -> float:
    """Wall seconds of one process (its output discarded; a failure stops the benchmark)."""
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr.decode()[-2000:]}")
    return elapsed


def in_turn(repeats: int, commands: list[list[str]]) -> list[float]:
    """The median wall time of each command, the commands run one after the other each round
    (one untimed round first, to warm the file cache)."""
    for command in commands:
        wall(command)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeats):
        for index, command in enumerate(commands):
            times[index].append(wall(command))
    return [statistics.median(t) for t in times]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--records", type=int, default=5_000, help="records of the VCF")
    parser.add_argument(
        "--before", type=Path, default=None, help="another esr1calls to time beside this one"
    )
    parser.add_argument(
        "--instructions", action="store_true",
        help="also count each command's instructions once under valgrind's callgrind (the same "
        "count run after run, whatever the machine's load: for changes of a few milliseconds)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for tool in ("bcftools", "bgzip", "tabix", *(["valgrind"] if args.instructions else [])):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: run scripts/install-system-deps.sh")
    OUT.mkdir(exist_ok=True)
    installed = install_like_a_user(OUT)
    python, esr1calls = installed / "python", installed / "esr1calls"
    tools = [("esr1calls", esr1calls)]
    if args.before is not None:
        tools.append(("before", args.before))
    with tempfile.TemporaryDirectory(prefix="esr1calls-bench-startup-") as temp:
        work = Path(temp)
        vcf = work / f"panel_{args.records}.vcf.gz"
        generate(vcf, args.records)
        bed = work / "hotspots.bed"
        subprocess.run([str(esr1calls), "hotspots", "--build", "GRCh38", "--format", "bed",
                        "-o", str(bed)], check=True)  # fmt: skip
        export, plate_map = write_plate(work, 1, random.Random(18))
        before_load = load()
        rows: list[tuple[str, str, float, list[tuple[str, float]]]] = []
        counts: list[tuple[str, str, float, list[tuple[str, float]]]] = []
        jobs = [
            ("esr1calls --help", "python -c pass", [str(python), "-c", "pass"], ["--help"]),
            ("esr1calls ngs --help", "python -c pass", [str(python), "-c", "pass"],
             ["ngs", "--help"]),
            (f"esr1calls ngs, {args.records:,}-record VCF.gz",
             "bcftools view -R", ["bcftools", "view", "-R", str(bed), str(vcf)],
             ["ngs", str(vcf), "-o", str(work / "ngs-{tool}"), "--reproducible"]),
            (f"esr1calls ngs, {args.records:,}-record VCF.gz",
             "python: import pysam + fetch alone", [str(python), "-c", PYSAM_VCF_FLOOR, str(vcf),
                                                    str(bed)],
             ["ngs", str(vcf), "-o", str(work / "ngs-{tool}"), "--reproducible"]),
            ("esr1calls pcr, one 384-well plate", "python -c 'import pandas'",
             [str(python), "-c", "import pandas"],
             ["pcr", str(export), "--plate-map", str(plate_map), "-o", str(work / "pcr-{tool}"),
              "--reproducible"]),
        ]  # fmt: skip
        for label, peer_label, peer, arguments in jobs:
            commands = [peer] + [
                [str(path), *(a.replace("{tool}", name) for a in arguments)] for name, path in tools
            ]
            peer_time, *ours = in_turn(args.repeats, commands)
            names = [n for n, _ in tools]
            rows.append((label, peer_label, peer_time, list(zip(names, ours, strict=True))))
            if args.instructions:
                peer_count, *our_counts = (instructions(command) for command in commands)
                counts.append(
                    (label, peer_label, peer_count, list(zip(names, our_counts, strict=True)))
                )
        after_load = load()
    _print(rows, args, before_load, after_load)
    if counts:
        print("\ninstructions (millions, callgrind, one run each: the same count run after run)\n")
        _table(counts, "M", 0)


def instructions(command: list[str]) -> float:
    """Millions of instructions one run of the command executes (valgrind --tool=callgrind)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"failed under callgrind: {' '.join(command)}\n{done.stderr[-2000:]}")
    return int(found.group(1)) / 1e6


def _print(rows, args, before_load: str, after_load: str) -> None:
    print(
        f"\nstart-up and small jobs: median wall time of {args.repeats} runs, whole processes, "
        f"run in turn\nmachine: {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {before_load} before, {after_load} after\n"
    )
    _table(rows, "s", 3)


def _table(rows, unit: str, decimals: int) -> None:
    names = [name for name, _ in rows[0][3]]
    width = max(len(peer_label) for _, peer_label, _, _ in rows) + 2
    head = f"{'job':<38}{'peer or floor':<{width}}{'peer ' + unit:>8}"
    head += "".join(f"{name + ' ' + unit:>14}{'ratio':>8}" for name in names)
    print(head)
    for label, peer_label, peer, ours in rows:
        line = f"{label:<38}{peer_label:<{width}}{peer:>8.{decimals}f}"
        line += "".join(f"{value:>14.{decimals}f}{value / peer:>7.1f}x" for _, value in ours)
        print(line)


if __name__ == "__main__":
    main()
