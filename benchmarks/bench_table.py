"""Benchmark: issue 18's table of big inputs, each esr1calls job beside its peer in one run.

Not a test (timings are never asserted in the suite). Run from the repository root after
`make test` (it needs .venv, bcftools, samtools, bgzip, tabix and GNU time):

    .venv/bin/python benchmarks/bench_table.py              # 9 repeats, 200 + 200 batch inputs
    .venv/bin/python benchmarks/bench_table.py --repeats 5 --batch 50

Rows (each a whole process, timed by wall clock from here; the peer and esr1calls run in turn,
repeat after repeat, so a burst of load on this shared machine falls on both):

* indexed 1M-record VCF.gz, 11 loci: `bcftools view -R hotspots.bed | bcftools query` beside
  `esr1calls ngs VCF.gz -o DIR` (which also hashes the file and writes its reports);
* BAM, 20,000x, 11 hotspots: `samtools mpileup -r` once per counted region (four processes,
  summed) beside `esr1calls ngs BAM -o DIR` (whole command: reads counted per codon, the file
  hashed, reports written) and beside `count_hotspots` alone in a fresh process;
* batch, N 384-well plates + N 5,000-record VCFs, `--jobs 2`: inputs per second and the peak RSS
  of the batch (no peer; bcftools view -R over the N VCFs, one process each, is shown for scale).

The inputs are the other benchmarks' (bench_vcf.py, bench_reads.py, bench_batch.py), generated
into bench-output/ on the first run. The esr1calls timed is this checkout installed as a lab
installs it, `pip install .` into bench-output/installed (bench_vcf.install_like_a_user). The
load average is printed before and after: figures are only worth quoting when it stayed low.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import write_plate
from bench_vcf import generate, install_like_a_user

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-output"
# where main() installs esr1calls as a lab installs it (bench_vcf.install_like_a_user)
BIN = OUT / "installed" / "bin"
ESR1CALLS = str(BIN / "esr1calls")
GOALS = {"vcf": 1.5, "bam": 1.0, "batch": 40.0}  # issue 18: ratios, and inputs per second


def timed(command: list[str] | str) -> tuple[float, int]:
    """Wall seconds and peak RSS in KiB (GNU time) of one process; a string runs in sh."""
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else command
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *argv],
                              capture_output=True, text=True, check=False)  # fmt: skip
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise SystemExit(f"failed: {argv}\n{done.stderr[-2000:]}")
        return elapsed, int(report.read().split()[-1])


def in_turn(repeats: int, jobs: dict[str, list]) -> dict[str, float]:
    """Median wall time of each job (a list of commands run one after another), the jobs run
    in turn repeat after repeat; one untimed warm-up each (page cache)."""
    for commands in jobs.values():
        for command in commands:
            timed(command)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, commands in jobs.items():
            times[name].append(sum(timed(command)[0] for command in commands))
    return {name: statistics.median(values) for name, values in times.items()}


# The least any tool built on pysam does for the same answer, in a fresh interpreter: import pysam,
# open the file with its index and fetch the loci (VCF), or read the fields count_hotspots reads of
# every record over the counted regions (BAM). Nothing is checked, hashed, called or written: it is
# the floor of the design's stack (CPython + pysam), timed in turn with the peer and esr1calls.
PYSAM_VCF_FLOOR = """
import sys, pysam
handle = pysam.VariantFile(sys.argv[1], index_filename=sys.argv[1] + ".tbi")
for line in open(sys.argv[2]):
    chrom, start, end = line.split()[:3]
    for record in handle.fetch(chrom, int(start), int(end)):
        record.pos, record.ref, record.alts, record.samples[0]["AD"]
"""
PYSAM_BAM_FLOOR = """
import sys, pysam
handle = pysam.AlignmentFile(sys.argv[1])
for region in sys.argv[2:]:
    for read in handle.fetch(region=region):
        (read.flag, read.reference_start, read.reference_end, read.mapping_quality,
         read.cigartuples, read.query_sequence, read.query_qualities_str, read.query_name)
"""


def vcf_row(repeats: int) -> tuple[float, float, float]:
    vcf = OUT / "genome_1000000.vcf.gz"
    if not vcf.exists() or not Path(f"{vcf}.tbi").exists():
        print(f"generating {vcf.name}...", file=sys.stderr)
        generate(vcf, 1_000_000)
    bed = OUT / "hotspots.bed"
    subprocess.run([ESR1CALLS, "hotspots", "--build", "GRCh38", "--format", "bed", "-o", str(bed)],
                   check=True, capture_output=True)  # fmt: skip
    query = "'%CHROM\\t%POS\\t%REF\\t%ALT\\t[%AD\\t]\\n'"
    result = in_turn(repeats, {
        "peer": [f"bcftools view -R {bed} {vcf} | bcftools query -f {query}"],
        "esr1calls": [[ESR1CALLS, "ngs", str(vcf), "-o", str(OUT / "table-vcf"), "--reproducible"]],
        "floor": [[str(BIN / "python"), "-c", PYSAM_VCF_FLOOR, str(vcf), str(bed)]],
    })  # fmt: skip
    return result["peer"], result["esr1calls"], result["floor"]


def bam_row(repeats: int) -> tuple[float, float, float, float]:
    import bench_reads

    bam = OUT / "esr1_20000x.bam"
    if not bam.exists():
        print(f"generating {bam.name} (about a minute)...", file=sys.stderr)
        bench_reads.generate_bam(bam)
    filters = "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY"
    samtools = [
        ["samtools", "mpileup", "-B", "-A", "-Q", "20", "-q", "20", "-d", "0", "--ff", filters,
         "-r", f"{c}:{s}-{e}", str(bam)]
        for c, s, e in bench_reads.regions()
    ]  # fmt: skip
    count_only = [str(BIN / "python"), "-P", "-c", "from esr1calls.hotspots import load_panel; "
                  "from esr1calls.ngs.reads import count_hotspots; "
                  f"count_hotspots({str(bam)!r}, load_panel())"]  # fmt: skip
    result = in_turn(repeats, {
        "peer": samtools,
        "esr1calls": [[ESR1CALLS, "ngs", str(bam), "-o", str(OUT / "table-bam"), "--reproducible"]],
        "count": [count_only],
        "floor": [[str(BIN / "python"), "-c", PYSAM_BAM_FLOOR, str(bam),
                   *(f"{c}:{s}-{e}" for c, s, e in bench_reads.regions())]],
    })  # fmt: skip
    return result["peer"], result["esr1calls"], result["count"], result["floor"]


def batch_row(n: int) -> tuple[float, int, float]:
    """(inputs per second, peak RSS in MB, seconds of bcftools view -R over the N VCFs)."""
    data = OUT / f"table-batch-{n}"
    manifest = data / "manifest.tsv"
    if not manifest.exists():
        print(f"generating {n} plates and {n} VCFs...", file=sys.stderr)
        data.mkdir(parents=True, exist_ok=True)
        rng = random.Random(2026)
        rows = ["id\ttype\tinputs\tplate_map\tkit\tsample\toptions"]
        for i in range(n):
            export, plate_map = write_plate(data, i, rng)
            rows.append(f"{export.stem}\tpcr\t{export.name}\t{plate_map.name}\t\t\t")
        for i in range(n):
            vcf = data / f"tumour{i:03d}.vcf.gz"
            generate(vcf, records=5_000, seed=100 + i)
            rows.append(f"tumour{i:03d}\tngs\t{vcf.name}\t\t\t\t")
        manifest.write_text("\n".join(rows) + "\n")
    outdir = OUT / f"table-batch-{n}-out"
    subprocess.run(["rm", "-rf", str(outdir)], check=True)
    wall, rss = timed([ESR1CALLS, "batch", str(manifest), "-o", str(outdir), "--jobs", "2",
                       "--reproducible"])  # fmt: skip
    bed = OUT / "hotspots.bed"
    started = time.perf_counter()
    for vcf in sorted(data.glob("tumour*.vcf.gz")):
        subprocess.run(["bcftools", "view", "-R", str(bed), "-Ov", "-o", "/dev/null", str(vcf)],
                       check=True)  # fmt: skip
    return 2 * n / wall, rss // 1024, time.perf_counter() - started


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")  # fmt: skip


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=200, help="plates (and as many VCFs)")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if install_like_a_user(OUT) != BIN:
        raise SystemExit(f"esr1calls was not installed into {BIN}")
    before = load()
    vcf_peer, vcf_ours, vcf_floor = vcf_row(args.repeats)
    bam_peer, bam_ours, bam_count, bam_floor = bam_row(args.repeats)
    rate, rss, bcftools_loop = batch_row(args.batch)
    after = load()
    print(f"\nmachine: {machine()}; load average (1, 5, 15 min) before {before}, after {after}")
    print(f"median of {args.repeats} runs in turn, whole processes, bytecode compiled\n")
    print("| job | peer | esr1calls | ratio | goal |\n|---|---|---|---|---|")
    print(f"| indexed 1M-record VCF.gz, 11 loci | `bcftools view -R` + `query`: {vcf_peer:.3f} s "
          f"| `esr1calls ngs`: {vcf_ours:.3f} s | {vcf_ours / vcf_peer:.2f}x "
          f"| <= {GOALS['vcf']}x |")  # fmt: skip
    print(f"| the same VCF, the floor of any pysam tool | `bcftools`: {vcf_peer:.3f} s "
          f"| `python -c` import pysam + fetch alone: {vcf_floor:.3f} s "
          f"| {vcf_floor / vcf_peer:.2f}x | - |")  # fmt: skip
    print(f"| BAM, 20,000x, 11 hotspots | `samtools mpileup -r` x4: {bam_peer:.3f} s "
          f"| `esr1calls ngs` (reports, sha256): {bam_ours:.3f} s | {bam_ours / bam_peer:.2f}x "
          f"| <= {GOALS['bam']}x |")  # fmt: skip
    print(f"| BAM, 20,000x, 11 hotspots | `samtools mpileup -r` x4: {bam_peer:.3f} s "
          f"| `count_hotspots` alone: {bam_count:.3f} s | {bam_count / bam_peer:.2f}x "
          f"| <= {GOALS['bam']}x |")  # fmt: skip
    print(f"| the same BAM, the floor of any pysam tool | `samtools`: {bam_peer:.3f} s "
          f"| `python -c` import pysam + each read's fields alone: {bam_floor:.3f} s "
          f"| {bam_floor / bam_peer:.2f}x | - |")  # fmt: skip
    print(f"| batch, {args.batch} x 384-well plates + {args.batch} VCFs, `--jobs 2` | - "
          f"(`bcftools view -R` over the {args.batch} VCFs: {bcftools_loop:.1f} s) "
          f"| {rate:.1f} inputs/s, {rss} MB | - | >= {GOALS['batch']:.0f} inputs/s |")  # fmt: skip


if __name__ == "__main__":
    main()
