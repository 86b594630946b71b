"""Benchmark: the ctDNA-fraction proxy's scan of a VCF, against bcftools doing the same filter.

Not a test (timings are never asserted in the suite). Run from the repository root after
`make test` (it needs .venv, bcftools, bgzip, tabix):

    .venv/bin/python benchmarks/bench_ctdna.py                      # 5k and 1M records
    .venv/bin/python benchmarks/bench_ctdna.py --records 5000 200000 --repeats 3

Inputs: the Mutect2-style tumour/normal VCF.gz of bench_vcf.py (GRCh38, records over the whole
genome, 30 % of them PASS: far more than a filtered plasma VCF holds, so this is a heavy case).
Jobs, each timed by wall clock, best and median of the repeats:

* call_vcf:   the calls alone (the indexed path: the 11 loci fetched, the file hashed)
* ctdna scan: ngs.ctdna.ctdna_proxy, what a NEGATIVE sample adds to call_vcf (one text pass, the
              PASS records outside ESR1 parsed under the caller's count rule)
* bcftools:   bcftools view -H -f PASS VCF.gz | wc -l (the peer: the same PASS filter, in C)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vcf import generate

from esr1calls.model import Build
from esr1calls.ngs import call_vcf
from esr1calls.ngs.callers import Caller
from esr1calls.ngs.ctdna import ctdna_proxy


def timed(repeats: int, job: Callable[[], object]) -> tuple[float, float]:
    """(best, median) wall seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[5_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'records':>9} {'job':<12} {'best s':>8} {'median s':>9}  note")
    with tempfile.TemporaryDirectory(prefix="bench-ctdna-") as folder:
        for records in args.records:
            path = Path(folder) / f"m2_{records}.vcf.gz"
            generate(path, records)
            found: dict[str, object] = {}

            def scan(path: Path = path, found: dict[str, object] = found) -> None:
                found.update(ctdna_proxy(path, caller=Caller.MUTECT2, build=Build.GRCH38,
                                         sample="TUMOR", normal="NORMAL"))  # fmt: skip

            def peer(path: Path = path) -> None:
                subprocess.run(f"bcftools view -H -f PASS {path} | wc -l", shell=True,
                               check=True, capture_output=True)  # fmt: skip

            rows = [
                ("call_vcf", timed(args.repeats, lambda path=path: call_vcf(path)), ""),
                ("ctdna scan", timed(args.repeats, scan), ""),
                ("bcftools", timed(args.repeats, peer), "view -H -f PASS | wc -l"),
            ]
            for job, (best, median), note in rows:
                print(f"{records:>9,} {job:<12} {best:>8.3f} {median:>9.3f}  {note}")
            scanned = found.get("records_scanned")
            print(f"{'':>9} (the scan read {scanned:,} records; status {found.get('status')})")


if __name__ == "__main__":
    main()
