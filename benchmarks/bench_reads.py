"""Benchmark: esr1calls read counting vs samtools/bcftools mpileup on a 20,000x targeted BAM.

Run from the repository root (``make bench``, or ``.venv/bin/python benchmarks/bench_reads.py``).
It writes ``bench-output/`` (git-ignored):

1. the synthetic GRCh38 chr6 reference of the test suite (ESR1 coding exons at their real
   positions, seeded flanks, N elsewhere; bgzipped and indexed);
2. a coordinate-sorted, indexed BAM of paired 2x150 reads from cfDNA-like fragments (lengths
   around 167 bp, so most mates overlap) over all eight coding exons at ~20,000x unique
   fragment coverage, plus 25 % flagged duplicates, a 0.2 % per-base sequencing error rate with
   varied base qualities, some low-MAPQ reads, and hotspot mutations at 0.2-1 % (including the
   L536Q MNV and V422del).

Then it times, on the same hotspot regions, each tool in its own process (wall time from the
parent; peak RSS of that process from GNU time, or /proc polling without it), ``--repeats``
times, and prints a table of
medians. The ratio column is wall time relative to ``samtools mpileup -r`` (one process per
region, summed, which is what "samtools mpileup -r over the same regions" costs).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pysam

from esr1calls.hotspots import load_panel
from esr1calls.model import Build
from esr1calls.ngs.reads import count_regions
from esr1calls.testing import REPO
from esr1calls.testing.bams import esr1_reference, make_header, write_fasta  # shared reference
from esr1calls.transcript import transcript

OUT = REPO / "bench-output"
BUILD = Build.GRCH38
READ_LENGTH = 150
DEPTH = 20_000
DUPLICATE_RATE = 0.25
ERROR_RATE = 0.002
LOW_MAPQ_RATE = 0.01
# hotspot molecules: (name, fraction of fragments over the codon, c. position, bases)
MUTATIONS = (
    ("D538G", 0.01, 1613, "G"),
    ("Y537S", 0.005, 1610, "C"),
    ("E380Q", 0.002, 1138, "C"),
    ("L536Q", 0.002, 1607, "AG"),
)
V422DEL_FRACTION = 0.003


def _fragment_length(rng: random.Random) -> int:
    # cfDNA: a mononucleosome peak near 167 bp with a tail; capped at 2x read length
    return max(100, min(2 * READ_LENGTH, int(rng.gauss(167, 25))))


def _quality_templates(rng: random.Random) -> list[list[int]]:
    # NovaSeq-style binned qualities: mostly Q37, some Q25, a few Q11 and Q2 (about 4 % < Q20)
    bins, weights = (37, 25, 11, 2), (0.90, 0.06, 0.03, 0.01)
    return [rng.choices(bins, weights, k=READ_LENGTH) for _ in range(256)]


def generate_bam(path: Path, seed: int = 1) -> dict[str, int]:
    """Write the benchmark BAM; returns simple counts of what was written."""
    rng = random.Random(seed)
    ref = esr1_reference(BUILD)
    header = make_header(ref, (("rg1", "BENCH"),))
    tx = transcript()
    qual_templates = _quality_templates(rng)
    mutation_sites = [
        (tx.c_to_genomic(c_pos, BUILD), bases, fraction) for _, fraction, c_pos, bases in MUTATIONS
    ]
    v422_anchor = tx.c_to_genomic(1261, BUILD)  # left-aligned: c.1262_1264 deleted
    written = {"fragments": 0, "duplicates": 0, "reads": 0}
    unsorted = path.with_suffix(".unsorted.bam")
    out = pysam.AlignmentFile(str(unsorted), "wb", header=header)
    for seg_start, bases in ref.segments:
        seg_end = seg_start + len(bases) - 1
        target_start, target_end = seg_start + 200, seg_end - 200  # the exon plus 100 bp
        n_fragments = DEPTH * (target_end - target_start + 1 + 167) // 167
        for i in range(n_fragments):
            length = _fragment_length(rng)
            start = rng.randint(max(seg_start, target_start - length + 1), target_end)
            start = min(start, seg_end - length + 1)
            offset = start - seg_start
            seq = list(bases[offset : offset + length])
            for site, alt, fraction in mutation_sites:
                inside = start <= site and site + len(alt) - 1 < start + length
                if inside and rng.random() < fraction:
                    for k, base in enumerate(alt):
                        seq[site - start + k] = base
            deletion = (
                start < v422_anchor - 5
                and v422_anchor + 10 < start + length
                and rng.random() < V422DEL_FRACTION
            )
            for k in range(length):
                if rng.random() < ERROR_RATE:
                    seq[k] = rng.choice([b for b in "ACGT" if b != seq[k]])
            name = f"f{seg_start}_{i}"
            copies = 1 + (1 if rng.random() < DUPLICATE_RATE else 0)
            mapq = 5 if rng.random() < LOW_MAPQ_RATE else 60
            r1_reverse = rng.random() < 0.5  # F1R2 and F2R1 fragments in equal numbers
            for copy in range(copies):
                reads = _pair(
                    header, name + ("" if copy == 0 else f"_d{copy}"), start, seq, deletion,
                    v422_anchor, mapq, copy > 0, r1_reverse, rng, qual_templates,
                )  # fmt: skip
                for read in reads:
                    out.write(read)
                written["reads"] += len(reads)
            written["fragments"] += 1
            written["duplicates"] += copies - 1
    out.close()
    pysam.sort("-o", str(path), "-@", "2", str(unsorted))
    unsorted.unlink()
    pysam.index(str(path))
    return written


def _pair(
    header: pysam.AlignmentHeader,
    name: str,
    start: int,
    seq: list[str],
    deletion: bool,
    anchor: int,
    mapq: int,
    duplicate: bool,
    r1_reverse: bool,
    rng: random.Random,
    qual_templates: list[list[int]],
) -> list[pysam.AlignedSegment]:
    length = len(seq)
    if deletion:
        cut = anchor - start + 1  # 3 bases deleted right after the anchor
        query = seq[:cut] + seq[cut + 3 :]
    else:
        query = seq
    read_length = min(READ_LENGTH, len(query))
    out = []
    for leftmost in (True, False):  # the mate at the fragment start is forward
        if leftmost:
            q_first, bases = 0, query[:read_length]
        else:
            q_first, bases = len(query) - read_length, query[-read_length:]
        cigar, ref_start = _cigar(q_first, read_length, deletion, anchor - start + 1, start)
        seg = pysam.AlignedSegment(header)
        seg.query_name = name
        is_read1 = leftmost != r1_reverse
        flag = 0x1 | 0x2 | (0x40 if is_read1 else 0x80) | (0x20 if leftmost else 0x10)
        if duplicate:
            flag |= 0x400
        seg.flag = flag
        seg.reference_id = 0
        seg.reference_start = ref_start - 1  # pysam is 0-based
        seg.mapping_quality = mapq
        seg.cigartuples = cigar
        seg.query_sequence = "".join(bases)
        seg.query_qualities = pysam.qualitystring_to_array(
            "".join(chr(q + 33) for q in rng.choice(qual_templates)[:read_length])
        )
        seg.next_reference_id = 0
        seg.set_tag("RG", "rg1")
        out.append(seg)
    left, right = out
    left.next_reference_start = right.reference_start
    right.next_reference_start = left.reference_start
    left.template_length, right.template_length = length, -length
    return out


def _cigar(
    q_first: int, read_length: int, deletion: bool, cut: int, frag_start: int
) -> tuple[list[tuple[int, int]], int]:
    """CIGAR and 1-based start of a read taking query bases [q_first, q_first + read_length)."""
    if not deletion:
        return [(0, read_length)], frag_start + q_first
    q_last = q_first + read_length
    if q_last <= cut:
        return [(0, read_length)], frag_start + q_first
    if q_first >= cut:
        return [(0, read_length)], frag_start + q_first + 3
    return [(0, cut - q_first), (2, 3), (0, q_last - cut)], frag_start + q_first


def regions() -> list[tuple[str, int, int]]:
    """The 1-based regions esr1calls reads for the default panel (codons; V422 with flanks)."""
    contig = esr1_reference(BUILD).contig
    return [(contig, start, end) for start, end in count_regions(load_panel(), BUILD)]


GNU_TIME = Path("/usr/bin/time")


def run_measured(commands: list[list[str]]) -> tuple[float, int]:
    """Run commands one after another; (total wall seconds, largest peak RSS in KiB).

    A child's ru_maxrss includes the memory of the process that forked it, so the RSS comes
    from GNU time (it forks each tool from its own small process) or, without it, from polling
    the tool's /proc VmHWM (its own peak, but a very short run can end between two polls).
    """
    peak = 0
    rss_file = OUT / "rss.txt"
    started = time.perf_counter()
    for command in commands:
        wrapped = (
            [str(GNU_TIME), "-f", "%M", "-o", str(rss_file), *command]
            if GNU_TIME.exists()
            else command
        )
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        polled = 0
        while proc.poll() is None and not GNU_TIME.exists():
            polled = max(polled, _vm_hwm_kib(proc.pid))
            time.sleep(0.001)
        _, stderr = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{command[0]} failed ({proc.returncode}): {stderr.decode()}")
        rss = int(rss_file.read_text().split()[-1]) if GNU_TIME.exists() else polled
        peak = max(peak, rss)
    return time.perf_counter() - started, peak


def _vm_hwm_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def esr1calls_command(bam: Path, result_path: Path) -> list[str]:
    code = (
        "import json, time, sys\n"
        "t0 = time.perf_counter()\n"
        "from esr1calls.hotspots import load_panel\n"
        "from esr1calls.ngs.reads import count_hotspots\n"
        "t1 = time.perf_counter()\n"
        f"rc = count_hotspots({str(bam)!r}, load_panel())\n"
        "t2 = time.perf_counter()\n"
        f"json.dump({{'import_s': t1 - t0, 'count_s': t2 - t1, 'counts': "
        "{c.hotspot: [c.alt_count, c.depth] for c in rc.allele_counts}}, "
        f"open({str(result_path)!r}, 'w'))\n"
    )
    return [sys.executable, "-c", code]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the BAM")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    fasta = OUT / "esr1_grch38_synthetic.fa.gz"
    bam = OUT / "esr1_20000x.bam"
    if args.regenerate or not fasta.exists():
        write_fasta(esr1_reference(BUILD), fasta)
    if args.regenerate or not bam.exists():
        started = time.perf_counter()
        written = generate_bam(bam)
        print(
            f"generated {bam.name}: {written['fragments']:,} fragments, "
            f"{written['duplicates']:,} duplicates, {written['reads']:,} reads, "
            f"{bam.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s"
        )
    spans = regions()
    bed = OUT / "regions.bed"
    bed.write_text("".join(f"{c}\t{s - 1}\t{e}\n" for c, s, e in spans))  # BED is 0-based
    filters = "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY"
    samtools = [
        ["samtools", "mpileup", "-B", "-A", "-Q", "20", "-q", "20", "-d", "0", "--ff", filters,
         "-r", f"{c}:{s}-{e}", str(bam)]
        for c, s, e in spans
    ]  # fmt: skip
    bcftools = [
        ["bcftools", "mpileup", "-f", str(fasta), "-R", str(bed), "-a", "AD,ADF,ADR", "-B", "-A",
         "-Q", "20", "-q", "20", "-d", "1000000", "--ns", filters, "-Ou", str(bam)]
    ]  # fmt: skip
    result_path = OUT / "esr1calls_result.json"
    esr1calls = [esr1calls_command(bam, result_path)]
    # one untimed warm-up of each, so every tool reads the BAM from the page cache
    for commands in (samtools, bcftools, esr1calls):
        run_measured(commands)
    timings: dict[str, list[tuple[float, int]]] = {"samtools": [], "bcftools": [], "esr1calls": []}
    in_process: list[float] = []
    for _ in range(args.repeats):
        timings["samtools"].append(run_measured(samtools))
        timings["bcftools"].append(run_measured(bcftools))
        timings["esr1calls"].append(run_measured(esr1calls))
        in_process.append(json.loads(result_path.read_text())["count_s"])
    result = json.loads(result_path.read_text())
    base = statistics.median(t for t, _ in timings["samtools"])
    rows = [
        (f"samtools mpileup -r (x{len(spans)} regions)", timings["samtools"]),
        ("bcftools mpileup -R -a AD,ADF,ADR", timings["bcftools"]),
        ("esr1calls count_hotspots (process)", timings["esr1calls"]),
    ]
    print(f"\nBAM {bam.name}, {bam.stat().st_size / 1e6:.1f} MB; regions: "
          + ", ".join(f"{c}:{s}-{e}" for c, s, e in spans))  # fmt: skip
    print(f"median of {args.repeats} runs, each tool in its own process, warm page cache")
    print(f"  samtools: {' '.join(samtools[0][:-3])} -r REGION BAM")
    print(f"  bcftools: {' '.join(bcftools[0][:-1])} BAM\n")
    print(f"{'tool':40} {'wall s':>8} {'ratio':>7} {'peak RSS MB':>12}")
    for label, runs in rows:
        wall = statistics.median(t for t, _ in runs)
        rss = max(r for _, r in runs) / 1024
        print(f"{label:40} {wall:8.3f} {wall / base:7.2f} {rss:12.1f}")
    count_s = statistics.median(in_process)
    print(f"{'  of which count_hotspots() itself':40} {count_s:8.3f} {count_s / base:7.2f}")
    print(f"{'  of which Python start + imports':40} {result['import_s']:8.3f}")
    print("\nesr1calls counts (x / n fragments):")
    for name, (x, n) in result["counts"].items():
        print(f"  {name:8} {x:6} / {n:6}")


if __name__ == "__main__":
    main()
