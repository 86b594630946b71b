"""Benchmark: a day's work through `esr1calls batch --jobs 2`, and the price of one CLI start.

Not a test (timings are never asserted in the suite). Run from the repository root after
`make test` (it needs .venv, bgzip, tabix and bcftools):

    .venv/bin/python benchmarks/bench_batch.py                 # 200 plates + 200 VCFs
    .venv/bin/python benchmarks/bench_batch.py --plates 20 --vcfs 20

Inputs, generated in a temporary directory:

* N QuantStudio txt exports of a full 384-well ESR1 plate (3 blocks of the 5 mixes over 24
  columns: PC, NTC and 70 samples; 4 dyes per well, ~1,200 Ct rows), each with its plate map;
* N Mutect2-style tumour/normal VCF.gz (bgzipped + tabix, a targeted-panel size of 5,000 records
  with the ESR1 hotspot records), from benchmarks/bench_vcf.py's generator.

Printed: wall time of the whole batch (one process, --jobs 2, a manifest of 2N jobs),
throughput, per-input cost (wall time x workers / inputs), peak RSS, and the peak RSS of batches
of 50, 200 and 400 of the inputs (``--memory-at``: memory must not grow with the number of
inputs); the CLI start-up
(`esr1calls --version`) and one `esr1calls pcr` / `esr1calls ngs` invocation — what each
Snakemake job pays; and, beside it, bcftools doing the closest per-VCF job (`view -R` on the 11
hotspot loci) over the same 200 VCFs, one process per file as a workflow would run it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vcf import compile_like_an_installation, generate  # shared with the VCF benchmark

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
ESR1CALLS = BIN / "esr1calls"

MIXES = {
    "RM1": {"FAM": "D538G", "VIC": "IC", "ROX": "E380Q", "CY5": "L536H"},
    "RM2": {"FAM": "Y537S", "VIC": "IC", "ROX": "S463P", "CY5": "L536P"},
    "RM3": {"FAM": "Y537C", "VIC": "IC", "ROX": "V422del", "CY5": "L536R"},
    "RM4": {"FAM": "Y537N", "VIC": "IC", "CY5": "L536Q"},
    "RM5": {"FAM": "ESR1_REF", "VIC": "IC"},
}
ROWS = "ABCDEFGHIJKLMNOP"


def write_plate(folder: Path, index: int, rng: random.Random) -> tuple[Path, Path]:
    """A 384-well QuantStudio results export and its plate map."""
    export = folder / f"plate{index:03d}.txt"
    plate_map = folder / f"plate{index:03d}.platemap.csv"
    lines = [
        "* Block Type = 384-Well Block",
        f"* Experiment Name = ESR1_bench_{index:03d}",
        "* Instrument Type = QuantStudio(TM) 7 Flex System",
        "* Passive Reference = ",
        "* Quantification Cycle Method = Ct",
        "",
        "[Results]",
        "\t".join(
            [
                "Well",
                "Well Position",
                "Omit",
                "Sample Name",
                "Target Name",
                "Task",
                "Reporter",
                "Quencher",
                "CT",
                "Ct Mean",
            ]
        ),
    ]
    map_lines = ["well,sample_id,role,mix"]
    slot = 0
    for block in range(3):
        for column in range(1, 25):
            sample = "PC" if slot == 0 else "NTC" if slot == 1 else f"P{index:03d}_S{slot - 1:02d}"
            role = sample if sample in ("PC", "NTC") else "SAMPLE"
            reference = round(rng.uniform(24.5, 28.0), 2)
            positive = rng.choice(["D538G", "Y537S", "E380Q"])
            has_mutation = role == "SAMPLE" and rng.random() < 0.15
            for offset, (mix, channels) in enumerate(MIXES.items()):
                well = f"{ROWS[block * 5 + offset]}{column}"
                number = ROWS.index(well[0]) * 24 + column
                map_lines.append(f"{well},{sample},{role},{mix}")
                for dye, target in channels.items():
                    if target == "IC":
                        ct = f"{rng.uniform(29.5, 31.0):.3f}"
                    elif role == "PC":
                        ct = f"{rng.uniform(25.0, 27.5) if target == 'ESR1_REF' else rng.uniform(27.0, 29.0):.3f}"  # noqa: E501
                    elif role == "NTC":
                        ct = "Undetermined"
                    elif target == "ESR1_REF":
                        ct = f"{reference:.3f}"
                    elif has_mutation and target == positive:
                        ct = f"{reference + rng.uniform(4.0, 8.5):.3f}"
                    else:
                        ct = "Undetermined"
                    lines.append(
                        f"{number}\t{well}\tfalse\t{sample}\t{target}\tUNKNOWN\t{dye}\t"
                        f"NFQ-MGB\t{ct}\t{ct if ct != 'Undetermined' else ''}"
                    )
            slot += 1
    export.write_text("\n".join(lines) + "\n")
    plate_map.write_text("\n".join(map_lines) + "\n")
    return export, plate_map


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB, from GNU time) of one process."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    rss_kb = int(done.stderr.strip().splitlines()[-1])
    return elapsed, rss_kb // 1024


def median_of(repeats: int, command: list[str]) -> float:
    return statistics.median(timed(command)[0] for _ in range(repeats))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plates", type=int, default=200)
    parser.add_argument("--vcfs", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--memory-at",
        default="50,200,400",
        help="batch sizes (inputs, half plates, half VCFs, up to plates + vcfs) whose peak RSS is "
        "printed, to show memory flat in the number of inputs; '' for none",
    )
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.memory_at.split(",") if n.strip()]
    compile_like_an_installation(BIN / "python")
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="esr1calls-bench-batch-") as tmp:
        work = Path(tmp)
        data = work / "data"
        data.mkdir()
        started = time.perf_counter()
        manifest = ["id\ttype\tinputs\tplate_map\tkit\tsample\toptions"]
        plates = [write_plate(data, i, rng) for i in range(args.plates)]
        for export, plate_map in plates:
            manifest.append(f"{export.stem}\tpcr\tdata/{export.name}\tdata/{plate_map.name}\t\t\t")
        vcfs = []
        for i in range(args.vcfs):
            vcf = data / f"tumour{i:03d}.vcf.gz"
            generate(vcf, records=5_000, seed=100 + i)
            vcfs.append(vcf)
            manifest.append(f"{vcf.name.split('.')[0]}\tngs\tdata/{vcf.name}\t\t\t\t")
        (work / "manifest.tsv").write_text("\n".join(manifest) + "\n")
        print(
            f"generated {args.plates} plates and {args.vcfs} VCFs in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        inputs = args.plates + args.vcfs
        wall, rss = timed(
            [
                str(ESR1CALLS),
                "batch",
                str(work / "manifest.tsv"),
                "-o",
                str(work / "out"),
                "--jobs",
                str(args.jobs),
                "--reproducible",
            ]
        )
        jobs_file = (work / "out" / "batch_jobs.tsv").read_text().splitlines()[1:]
        failed = [line for line in jobs_file if "\tfailed\t" in line]
        rerun, _ = timed(
            [
                str(ESR1CALLS),
                "batch",
                str(work / "manifest.tsv"),
                "-o",
                str(work / "out"),
                "--jobs",
                str(args.jobs),
                "--reproducible",
            ]
        )
        scaling = []
        header, *lines = (work / "manifest.tsv").read_text().splitlines()
        plate_rows = [line for line in lines if "\tpcr\t" in line]
        vcf_rows = [line for line in lines if "\tngs\t" in line]
        for size in sizes:
            rows = plate_rows[: size // 2] + vcf_rows[: size - size // 2]
            (work / f"manifest{size}.tsv").write_text("\n".join([header, *rows]) + "\n")
            command = [
                str(ESR1CALLS), "batch", str(work / f"manifest{size}.tsv"), "-o",
                str(work / f"out{size}"), "--jobs", str(args.jobs), "--reproducible",
            ]  # fmt: skip
            elapsed, peak = timed(command)
            scaling.append((len(rows), elapsed, peak))
        startup = median_of(9, [str(ESR1CALLS), "--version"])
        one_pcr = median_of(
            5,
            [
                str(ESR1CALLS),
                "pcr",
                str(plates[0][0]),
                "--plate-map",
                str(plates[0][1]),
                "-o",
                str(work / "one_pcr"),
                "--reproducible",
            ],
        )
        one_ngs = median_of(
            5, [str(ESR1CALLS), "ngs", str(vcfs[0]), "-o", str(work / "one_ngs"), "--reproducible"]
        )
        bed = work / "hotspots.bed"
        bed.write_text(
            subprocess.run(
                [str(ESR1CALLS), "hotspots", "--format", "bed"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        started = time.perf_counter()
        for vcf in vcfs:
            subprocess.run(
                ["bcftools", "view", "-R", str(bed), "-Ov", "-o", "/dev/null", str(vcf)], check=True
            )
        bcftools_loop = time.perf_counter() - started
        one_bcftools = median_of(
            5, ["bcftools", "view", "-R", str(bed), "-Ov", "-o", "/dev/null", str(vcfs[0])]
        )
    print(
        f"\nesr1calls batch --jobs {args.jobs}: {args.plates} x 384-well plates + {args.vcfs} VCFs"
        f" ({inputs} inputs, {len(failed)} failed)"
    )
    print(f"{'measure':<52}{'value':>12}")
    rows = [
        ("whole batch, wall time", f"{wall:.1f} s"),
        ("throughput", f"{inputs / wall:.1f} inputs/s"),
        (
            f"per-input cost (wall x {args.jobs} workers / inputs)",
            f"{wall * args.jobs / inputs:.3f} s",
        ),
        ("peak RSS of the batch process", f"{rss} MB"),
        ("re-run, every input up to date", f"{rerun:.1f} s"),
        ("CLI start-up (esr1calls --version), median of 9", f"{startup:.3f} s"),
        ("one esr1calls pcr, 384-well plate (one Snakemake job)", f"{one_pcr:.3f} s"),
        ("one esr1calls ngs, 5,000-record VCF.gz (one Snakemake job)", f"{one_ngs:.3f} s"),
        ("bcftools view -R, one VCF.gz (closest per-VCF job)", f"{one_bcftools:.3f} s"),
        (f"bcftools view -R over the {args.vcfs} VCFs, one process each", f"{bcftools_loop:.1f} s"),
    ]
    for size, elapsed, peak in scaling:
        label = f"batch of {size} inputs: peak RSS, inputs/s"
        rows.append((label, f"{peak} MB, {size / elapsed:.1f}"))
    for name, value in rows:
        print(f"{name:<52}{value:>12}")


if __name__ == "__main__":
    main()
