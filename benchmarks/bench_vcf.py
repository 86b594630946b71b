"""Benchmark: esr1calls ngs against bcftools doing the closest equivalent job.

Not a test (timings are never asserted in the suite). It generates realistic inputs and prints one
table. Run from the repository root after `make test` (it needs .venv, bcftools, bgzip, tabix):

    .venv/bin/python benchmarks/bench_vcf.py            # 1M and 100k records, 5 repeats each
    .venv/bin/python benchmarks/bench_vcf.py --records 200000 --repeats 3

Inputs: a Mutect2-style tumour/normal VCF.gz (GRCh38, records spread over the genome by
chromosome length, the 11 ESR1 hotspots among the chr6 records), bgzipped and tabix-indexed, plus
the same file without its index. Jobs, each run as a fresh process and timed by wall clock:

* indexed:   esr1calls ngs VCF.gz (fetches the 11 loci through the index, hashes the file)
             vs  bcftools view -R hotspots.bed VCF.gz | bcftools query -f ... (no hash)
* unindexed: esr1calls ngs VCF.gz with no index (one streaming pass)
             vs  bcftools view -T hotspots.bed VCF.gz (streams and parses every record)

esr1calls is measured twice: the whole command (interpreter start-up included) and the library
call alone (call_vcf + write_reports, timed inside the process) - the start-up cost of Python and
its imports (about 0.08 s) is fixed and does not grow with the VCF. The package's bytecode is
compiled first, as an installation would have it. The sha256 of the input, which every
esr1calls report records for provenance, is part of the esr1calls time; `sha256sum` alone is
shown for reference. Peak RSS is the maximum resident set of the measured process.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
ESR1CALLS = REPO / ".venv" / "bin" / "esr1calls"

GRCH38 = {  # chromosome lengths
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
}  # fmt: skip

# ESR1 hotspot records (GRCh38): the clear, threshold and sub-threshold levels of the fixtures
HOTSPOT_RECORDS = [
    (152011697, "G", "C", "14980,20"),
    (152061016, "ATGG", "A", "11970,30"),
    (152094402, "T", "C", "1530,0"),
    (152098785, "TC", "AG", "11960,40"),
    (152098788, "A", "C,G", "11796,180,24"),
    (152098791, "A", "G", "11985,15"),
]
ESR1_WINDOW = (152_000_000, 152_110_000)

HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">
##FILTER=<ID=multiallelic,Description="Site filtered because too many alt alleles pass tumor LOD">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">
##FORMAT=<ID=F1R2,Number=R,Type=Integer,Description="Count of reads in F1R2 pair orientation">
##FORMAT=<ID=F2R1,Number=R,Type=Integer,Description="Count of reads in F2R1 pair orientation">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=SB,Number=4,Type=Integer,Description="Strand bias components">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">
##INFO=<ID=ECNT,Number=1,Type=Integer,Description="Number of events in this haplotype">
##INFO=<ID=MBQ,Number=R,Type=Integer,Description="median base quality by allele">
##INFO=<ID=MMQ,Number=R,Type=Integer,Description="median mapping quality by allele">
##INFO=<ID=NLOD,Number=A,Type=Float,Description="Normal log 10 likelihood ratio">
##INFO=<ID=POPAF,Number=A,Type=Float,Description="negative log 10 population allele frequencies">
##INFO=<ID=TLOD,Number=A,Type=Float,Description="Log 10 likelihood ratio score">
##MutectVersion=2.2
##source=FilterMutectCalls
##source=Mutect2
##normal_sample=NORMAL
##tumor_sample=TUMOR
"""


def _record(chrom: str, pos: int, ref: str, alt: str, ad: str, rng: random.Random) -> str:
    counts = [int(c) for c in ad.split(",")]
    depth = sum(counts)
    fractions = ",".join(f"{c / depth:.3e}" for c in counts[1:])
    half = ",".join(str(c // 2) for c in counts)
    sb = f"{counts[0] // 2},{counts[0] - counts[0] // 2},{sum(counts[1:]) // 2},"
    sb += f"{sum(counts[1:]) - sum(counts[1:]) // 2}"
    normal_depth = rng.randint(300, 900)
    n_alts = len(counts) - 1
    tlod = ",".join(f"{rng.uniform(3, 300):.2f}" for _ in range(n_alts))
    info = (
        f"DP={depth + normal_depth};ECNT=1;MBQ={','.join(['30'] * (n_alts + 1))};"
        f"MMQ={','.join(['60'] * (n_alts + 1))};NLOD={','.join(['40.1'] * n_alts)};"
        f"POPAF={','.join(['6.00'] * n_alts)};TLOD={tlod}"
    )
    gt = "/".join(str(i) for i in range(n_alts + 1))
    tumour = f"{gt}:{ad}:{fractions}:{depth}:{half}:{half}:{sb}"
    normal_ad = ",".join([str(normal_depth)] + ["0"] * n_alts)
    zeros = ",".join(["0"] * n_alts)
    normal = (
        f"0/0:{normal_ad}:{zeros}:{normal_depth}:{normal_depth // 2},{zeros}:"
        f"{normal_depth // 2},{zeros}:{normal_depth // 2},{normal_depth // 2},0,0"
    )
    filt = "PASS" if rng.random() < 0.3 else "weak_evidence"
    fields = (chrom, str(pos), ".", ref, alt, ".", filt, info, "GT:AD:AF:DP:F1R2:F2R1:SB", normal)
    return "\t".join(fields) + f"\t{tumour}\n"


def generate(path: Path, records: int, seed: int = 7) -> None:
    """A sorted, genome-wide VCF.gz (bgzipped by bgzip) with the ESR1 records among chr6."""
    rng = random.Random(seed)
    total = sum(GRCH38.values())
    text = path.with_suffix("")  # .vcf
    with text.open("w") as out:
        out.write(HEADER)
        out.writelines(f"##contig=<ID={c},length={n}>\n" for c, n in GRCH38.items())
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n")
        for chrom, length in GRCH38.items():
            share = round(records * length / total)
            positions = sorted(rng.sample(range(10_000, length - 10_000), share))
            extra = HOTSPOT_RECORDS if chrom == "chr6" else []
            merged = sorted([(p, None) for p in positions
                             if not ESR1_WINDOW[0] <= p <= ESR1_WINDOW[1]]
                            + [(h[0], h) for h in extra])  # fmt: skip
            for pos, hotspot in merged:
                if hotspot is not None:
                    _, ref, alt, ad = hotspot
                else:
                    ref = rng.choice("ACGT")
                    alt = rng.choice([b for b in "ACGT" if b != ref])
                    depth = rng.randint(200, 3000)
                    x = rng.randint(1, max(2, depth // 5))
                    ad = f"{depth - x},{x}"
                out.write(_record(chrom, pos, ref, alt, ad, rng))
    subprocess.run(["bgzip", "-f", "-@", "2", str(text)], check=True)
    subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)


def run_measured(command: list[str], shell: bool = False) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KiB, stdout) of one fresh process (GNU time measures RSS:
    it forks from a small process, so the figure is the command's own, not this script's)."""
    argv = ["/bin/sh", "-c", command[0]] if shell else command
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *argv],
                              capture_output=True, text=True, check=False)  # fmt: skip
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr}")
        peak = int(report.read().split()[-1])
    return elapsed, peak, done.stdout


LIBRARY_TIMER = """
import sys, time
from esr1calls import call_vcf
from esr1calls.reports.options import ReportOptions
from esr1calls.reports.write import write_reports
start = time.perf_counter()
result = call_vcf(sys.argv[1])
write_reports(result, sys.argv[2], ReportOptions("bench", reproducible=True))
print(f"{time.perf_counter() - start:.6f}")
"""


def best_of(repeats: int, job) -> tuple[float, float, int]:
    """(median wall, best wall, max peak RSS) over repeats."""
    times, rss = [], 0
    for _ in range(repeats):
        elapsed, peak, _ = job()
        times.append(elapsed)
        rss = max(rss, peak)
    return statistics.median(times), min(times), rss


Timings = dict[str, tuple[float, float, int]]


def measure(vcf: Path, bed: Path, outdir: Path, repeats: int) -> Timings:
    """Time every job on one generated file (indexed, then with the index moved away)."""
    results: Timings = {}
    query = "'%CHROM\\t%POS\\t%REF\\t%ALT\\t[%AD\\t]\\n'"
    cli = [str(ESR1CALLS), "ngs", str(vcf), "-o", str(outdir / "cli"), "--reproducible"]

    def library() -> tuple[float, int, str]:
        _, peak, stdout = run_measured(
            [str(PYTHON), "-c", LIBRARY_TIMER, str(vcf), str(outdir / "lib")]
        )
        return float(stdout.strip()), peak, stdout

    results["indexed/esr1calls CLI"] = best_of(repeats, lambda: run_measured(cli))
    results["indexed/esr1calls library"] = best_of(repeats, library)
    results["indexed/bcftools view -R | query"] = best_of(
        repeats,
        lambda: run_measured(
            [f"bcftools view -R {bed} {vcf} | bcftools query -f {query}"], shell=True
        ),
    )
    results["indexed/sha256sum"] = best_of(
        repeats, lambda: run_measured(["sha256sum", str(vcf)]))  # fmt: skip
    index = Path(f"{vcf}.tbi")
    hidden = index.with_suffix(".tbi.away")
    index.rename(hidden)
    try:
        results["streaming/esr1calls CLI"] = best_of(repeats, lambda: run_measured(cli))
        results["streaming/esr1calls library"] = best_of(repeats, library)
        results["streaming/bcftools view -T"] = best_of(
            repeats, lambda: run_measured([f"bcftools view -H -T {bed} {vcf}"], shell=True)
        )
    finally:
        hidden.rename(index)
    return results


def install_like_a_user(where: Path) -> Path:
    """This checkout installed as a lab installs it, `pip install .` into a virtualenv of its
    own under ``where`` (not the editable install of .venv, whose import finder costs every start
    of Python some 10 ms of imports), its bytecode and dataclass caches compiled; its bin/."""
    venv = where / "installed"
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, "-c", str(REPO / "constraints.txt"), str(REPO)], check=True)
    else:  # the dependencies are there: this checkout's code, installed again
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(REPO)], check=True)
    _compile_dataclasses(python)
    return venv / "bin"


def compile_like_an_installation(python: Path) -> None:
    """Compile the package's bytecode, as an installation has it (without it every run would
    recompile), and keep its dataclasses' methods compiled too, as a first run writes them
    (esr1calls/_dataclass_cache.py; the benchmark's processes run under whatever
    PYTHONDONTWRITEBYTECODE the shell has)."""
    subprocess.run([str(python), "-m", "compileall", "-q", str(REPO / "esr1calls")], check=True)
    _compile_dataclasses(python)


def _compile_dataclasses(python: Path) -> None:
    # -P: the package that python imports, not this checkout's folder from the working directory
    subprocess.run([str(python), "-P", "-c", "from esr1calls._dataclass_cache import "
                    "compile_package; compile_package()"], check=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=REPO / "bench-output")
    args = parser.parse_args(argv)
    for tool in ("bcftools", "bgzip", "tabix", "sha256sum", "/usr/bin/time"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: run scripts/install-system-deps.sh")
    args.workdir.mkdir(parents=True, exist_ok=True)
    compile_like_an_installation(PYTHON)
    bed = args.workdir / "hotspots.bed"
    subprocess.run([str(ESR1CALLS), "hotspots", "--build", "GRCh38", "--format", "bed", "-o",
                    str(bed)], check=True, capture_output=True)  # fmt: skip
    table: list[tuple[str, int, dict[str, tuple[float, float, int]]]] = []
    for records in (args.small, args.records):
        vcf = args.workdir / f"genome_{records}.vcf.gz"
        if not vcf.exists() or not Path(f"{vcf}.tbi").exists():
            print(f"generating {vcf.name} ({records:,} records)...", file=sys.stderr)
            generate(vcf, records)
        size = vcf.stat().st_size
        with gzip.open(vcf, "rt") as handle:
            lines = sum(1 for line in handle if not line.startswith("#"))
        print(f"{vcf.name}: {lines:,} records, {size / 1e6:.1f} MB compressed", file=sys.stderr)
        table.append((vcf.name, lines, measure(vcf, bed, args.workdir, args.repeats)))
    _print(table, args.repeats)


def _print(table, repeats: int) -> None:
    print(f"\nwall time: median of {repeats} runs (best in brackets); peak RSS of the process\n")
    print(f"{'file':<26}{'job':<40}{'wall s':>16}{'ratio':>8}{'peak RSS MB':>13}")
    for name, _, results in table:
        for mode, baseline in (("indexed", "indexed/bcftools view -R | query"),
                               ("streaming", "streaming/bcftools view -T")):  # fmt: skip
            base = results[baseline][0]
            for job, (median, best, rss) in results.items():
                if not job.startswith(mode):
                    continue
                ratio = median / base
                print(f"{name:<26}{job:<40}{median:>9.3f} ({best:.3f}){ratio:>7.2f}x"
                      f"{rss / 1024:>12.1f}")  # fmt: skip
        print()


if __name__ == "__main__":
    main()
