"""A simulated validation study from a known truth, through the real readers and callers.

ARMS-PCR: each run is written as a QuantStudio results export (384-well block) with its plate
map and called by ``esr1calls pcr``; a dilution series with a known amplification factor A,
delta-Ct at 100 % and delta-Ct noise per assay, blanks whose every mutation assay shows only the
wild-type background (delta-Ct ~ N(13.8, 0.6), no Ct past 40). NGS: one generic-caller VCF per
sample with a D538G record whose alt count is Binomial(depth, f + e - f e) (a read is alt when
its molecule is mutant or the read is in error), called by ``esr1calls ngs``. dPCR: one 96-well
D538G plate whose partitions are drawn from a known input and background
(``esr1calls.testing.dpcr_exports``), written as an instrument export and called by ``esr1calls
dpcr``. Seeded: the same seed gives the same files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from click.testing import Result

from esr1calls.pcr.kit import load_kit
from esr1calls.stats import lod95
from esr1calls.testing import TESTDATA
from esr1calls.testing.dpcr_exports import plate_map, render, simulated_well

_QS_DEMO = TESTDATA / "plates" / "quantstudio" / "esr1_demo_quantstudio.txt"
ROWS_384 = "ABCDEFGHIJKLMNOP"
REPORTER = {"FAM": "FAM", "HEX": "VIC", "ROX": "ROX", "CY5": "CY5"}
BACKGROUND_DELTA_CT = (13.8, 0.6)  # wild-type signal in a mutation assay: mean, SD
CT_MAX = 40.0


@dataclass(frozen=True)
class ArmsTruth:
    """How one ARMS assay really behaves: delta-Ct = dct100 - log_A(f) + N(0, sd)."""

    amplification_factor: float
    delta_ct_100: float
    sd: float

    def delta_ct(self, fraction: float) -> float:
        return self.delta_ct_100 - math.log(fraction) / math.log(self.amplification_factor)

    def lod95(self, cutoff: float) -> float:
        """The fraction detected in 95 % of wells at this cut-off (delta-Ct <= cut-off)."""
        exponent = self.delta_ct_100 + 1.6448536269514722 * self.sd - cutoff
        return self.amplification_factor**exponent


PCR_TRUTH = {
    "D538G": ArmsTruth(1.90, 1.0, 0.35),
    "E380Q": ArmsTruth(1.85, 1.0, 0.35),
}


def _well_names() -> list[str]:
    return [f"{row}{col}" for row in ROWS_384 for col in range(1, 25)]


def _ct_text(ct: float | None) -> str:
    return "Undetermined" if ct is None or ct > CT_MAX else f"{ct:.3f}"


def _qs_header(run_id: str) -> list[str]:
    lines = _QS_DEMO.read_text(encoding="utf-8").splitlines()
    head = lines[: lines.index("[Results]") + 2]
    return [
        "* Block Type = 384-Well Block"
        if line.startswith("* Block Type")
        else f"* Experiment Name = {run_id}"
        if line.startswith("* Experiment Name")
        else line
        for line in head
    ]


def write_pcr_run(
    folder: Path,
    run_id: str,
    samples: Sequence[tuple[str, dict[str, float]]],
    rng: np.random.Generator,
    truth: dict[str, ArmsTruth] = PCR_TRUTH,
) -> tuple[Path, Path]:
    """One run: PC and NTC (every mix) then each sample in every mix; ``samples`` are
    (sample_id, {hotspot: fraction}). Returns the QuantStudio export and the plate map."""
    kit = load_kit()
    wells = iter(enumerate(_well_names(), start=1))
    export = _qs_header(run_id)
    plate_map = ["well,sample_id,role,mix"]
    entries = [("PC", "PC", {}), ("NTC", "NTC", {})]
    entries += [(name, "SAMPLE", mutations) for name, mutations in samples]
    for name, role, mutations in entries:
        reference_ct = float(rng.normal(25.5, 0.4))
        for mix, channels in kit.mixes.items():
            index, well = next(wells)
            plate_map.append(f"{well},{name},{role},{mix}")
            for channel, target in channels.items():
                ct: float | None
                if target == "IC":
                    ct = float(rng.normal(30.0, 0.3))
                elif role == "NTC":
                    ct = None
                elif target == "REF":
                    ct = float(rng.normal(26.0, 0.3)) if role == "PC" else reference_ct
                elif role == "PC":
                    ct = float(rng.normal(28.0, 0.4))
                elif mutations.get(target, 0.0) > 0:
                    assay = truth[target]
                    noise = float(rng.normal(0.0, assay.sd))
                    ct = reference_ct + assay.delta_ct(mutations[target]) + noise
                else:
                    ct = reference_ct + float(rng.normal(*BACKGROUND_DELTA_CT))
                shown = "ESR1_REF" if target == "REF" else target
                task = "NTC" if role == "NTC" else "UNKNOWN"
                text = _ct_text(ct)
                amplified = text != "Undetermined"
                export.append(
                    "\t".join(
                        [
                            str(index),
                            well,
                            "false",
                            name,
                            shown,
                            task,
                            REPORTER[channel],
                            "NFQ-MGB",
                            text,
                            text if amplified else "",
                            "",
                            "false",
                            "0.1",
                            "true",
                            "3",
                            "35",
                            "",
                            "1.21" if amplified else "0.0",
                            "0.97" if amplified else "0.0",
                            "N" if amplified else "Y",
                            "N",
                        ]
                    )
                )
    export_path = folder / f"{run_id}.txt"
    map_path = folder / f"{run_id}_map.csv"
    export_path.write_text("\n".join(export) + "\n", encoding="utf-8")
    map_path.write_text("\n".join(plate_map) + "\n", encoding="utf-8")
    return export_path, map_path


RunCli = Callable[[Sequence[object]], Result]


@dataclass(frozen=True)
class Study:
    """The calls.json of each run and the design sheet."""

    calls: list[Path]
    design: Path


def pcr_study(
    folder: Path,
    run_cli: RunCli,
    seed: int,
    levels: Sequence[float] = (0.004, 0.005, 0.006, 0.007, 0.008, 0.01, 0.0125, 0.015, 0.02, 0.05),
    replicates: int = 12,
    blanks: int = 24,
    per_run: int = 54,
    kit: str | None = None,
) -> Study:
    """A PCR dilution series of D538G and E380Q together (one sample carries both at the
    level's fraction) and wild-type blanks, over as many 384-well runs as it takes."""
    rng = np.random.default_rng(seed)
    samples: list[tuple[str, dict[str, float]]] = [(f"WT{i:02d}", {}) for i in range(1, blanks + 1)]
    design = ["sample_id,expected_fraction,hotspot"]
    design += [f"{name},0," for name, _ in samples]
    for fraction in levels:
        for replicate in range(1, replicates + 1):
            name = f"MIX{fraction * 100:g}pct_{replicate:02d}"
            samples.append((name, dict.fromkeys(PCR_TRUTH, fraction)))
            design += [f"{name},{fraction},{hotspot}" for hotspot in PCR_TRUTH]
    order = rng.permutation(len(samples))
    samples = [samples[i] for i in order]
    folder.mkdir(parents=True, exist_ok=True)
    calls = []
    for number, start in enumerate(range(0, len(samples), per_run), start=1):
        run_id = f"VAL_PCR_{seed}_{number}"
        export, plate_map = write_pcr_run(folder, run_id, samples[start : start + per_run], rng)
        outdir = folder / run_id
        args = ["pcr", export, "--plate-map", plate_map, "-o", outdir, "--reproducible"]
        result = run_cli([*args, *(["--kit", kit] if kit else [])])
        assert result.exit_code == 0, result.stderr
        calls.append(outdir / "calls.json")
    design_path = folder / "design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    return Study(calls, design_path)


# ------------------------------------------------------------------------------------- NGS
NGS_DEPTH, NGS_READ_ERROR = 3000, 2e-4
D538G_GRCH38 = ("chr6", 152098791, "A", "G")
_VCF_HEAD = """##fileformat=VCFv4.2
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##reference=GRCh38
##contig=<ID=chr6,length=170805979>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}
"""


def write_ngs_vcf(folder: Path, sample: str, alt: int, depth: int) -> Path:
    chrom, pos, ref, alt_base = D538G_GRCH38
    record = (
        f"{chrom}\t{pos}\t.\t{ref}\t{alt_base}\t.\t.\t.\tGT:AD:DP\t0/1:{depth - alt},{alt}:{depth}"
    )
    path = folder / f"{sample}.vcf"
    path.write_text(_VCF_HEAD.format(sample=sample) + record + "\n", encoding="utf-8")
    return path


def ngs_read_probability(fraction: float) -> float:
    return fraction + NGS_READ_ERROR - fraction * NGS_READ_ERROR


def ngs_study(
    folder: Path,
    run_cli: RunCli,
    seed: int,
    levels: Sequence[float] = (0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01),
    replicates: int = 12,
    blanks: int = 24,
) -> Study:
    """An NGS dilution series of D538G at one depth, and blanks, in one ``esr1calls ngs`` run."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    design = ["sample_id,expected_fraction,hotspot"]
    vcfs = []
    plan = [(f"NWT{i:02d}", 0.0) for i in range(1, blanks + 1)]
    plan += [
        (f"N{fraction * 100:g}pct_{r:02d}", fraction)
        for fraction in levels
        for r in range(1, replicates + 1)
    ]
    for name, fraction in plan:
        alt = int(rng.binomial(NGS_DEPTH, ngs_read_probability(fraction)))
        vcfs.append(write_ngs_vcf(folder, name, alt, NGS_DEPTH))
        design.append(f"{name},{fraction},D538G")
    outdir = folder / "ngs_run"
    result = run_cli(["ngs", *vcfs, "-o", outdir, "--reproducible", "--hotspots", "D538G"])
    assert result.exit_code == 0, result.stderr
    design_path = folder / "design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    return Study([outdir / "calls.json"], design_path)


# ------------------------------------------------------------- the example in testdata/validate
EXAMPLE_SEED = 12
EXAMPLE_LEVELS = (0.005, 0.0065, 0.0085, 0.011, 0.02, 0.05)


def write_validation_example(folder: Path, seed: int = EXAMPLE_SEED) -> list[Path]:
    """testdata/validate/: one 384-well run of D538G and E380Q at 6 levels x 8 replicates and 12
    wild-type blanks (QuantStudio export and plate map), and its design sheet."""
    rng = np.random.default_rng(seed)
    samples: list[tuple[str, dict[str, float]]] = [(f"WT{i:02d}", {}) for i in range(1, 13)]
    design = ["sample_id,expected_fraction,hotspot"] + [f"{n},0," for n, _ in samples]
    for fraction in EXAMPLE_LEVELS:
        for replicate in range(1, 9):
            name = f"MIX{fraction * 100:g}pct_{replicate}"
            samples.append((name, dict.fromkeys(PCR_TRUTH, fraction)))
            design += [f"{name},{fraction},{hotspot}" for hotspot in PCR_TRUTH]
    order = rng.permutation(len(samples))
    samples = [samples[i] for i in order]
    export, plate_map = write_pcr_run(folder, "arms_validation_run", samples, rng)
    design_path = folder / "arms_validation_design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    return [export, plate_map, design_path]


# ------------------------------------------------------------------------------------ dPCR
@dataclass(frozen=True)
class DpcrTruth:
    """How the D538G duplex assay really behaves on the study's plates: every well has
    ``partitions`` accepted partitions and ``wild_type_copies`` (lambda_w) per partition, and a
    partition shows a false mutant signal with probability ``background``."""

    partitions: int = 16_000
    wild_type_copies: float = 0.1
    background: float = 1e-5

    def mutant_positive(self, fraction: float) -> float:
        mutant_copies = self.wild_type_copies * fraction / (1.0 - fraction)
        return 1.0 - (1.0 - self.background) * math.exp(-mutant_copies)

    def lod95(self, k_req: int) -> float:
        """The fraction DETECTED in 95 % of wells when the rule wants k_req mutant partitions.

        At this input the k_req partitions are always at least the reportable fraction (k_req/N
        over lambda_w is 0.3 % or more), so DETECTED is exactly k_m >= k_req, and k_m is
        Binomial(N, mutant_positive(f)): solve P(k_m >= k_req) = 0.95 for f."""
        p95 = lod95(self.partitions, k_req)
        assert p95 is not None
        mutant_copies = -math.log((1.0 - p95) / (1.0 - self.background))
        return mutant_copies / (mutant_copies + self.wild_type_copies)


DPCR_TRUTH = DpcrTruth()
DPCR_ROWS = "ABCDEFGH"


def write_dpcr_run(
    folder: Path,
    run_id: str,
    samples: Sequence[tuple[str, float]],
    rng: np.random.Generator,
    truth: DpcrTruth = DPCR_TRUTH,
    fmt: str = "quantasoft",
) -> tuple[Path, Path]:
    """One 96-well D538G plate drawn from ``truth``: NTC, PC (5 %), three wild-type controls,
    then each (sample_id, fraction) in one well, written as a ``fmt`` export with its plate
    map. Returns the export and the plate map."""
    wells = iter(f"{row}{col}" for row in DPCR_ROWS for col in range(1, 13))
    entries = [("NTC", "NTC", 0.0), ("PC", "PC", 0.05)]
    entries += [("WT", "WT", 0.0)] * 3
    entries += [(name, "SAMPLE", fraction) for name, fraction in samples]
    if len(entries) > 96:
        raise ValueError(f"{len(entries)} wells do not fit one 96-well plate")
    drawn = []
    for replicate, (name, role, fraction) in enumerate(entries):
        copies = 0.0 if role == "NTC" else truth.wild_type_copies
        drawn.append(
            simulated_well(
                rng, next(wells), name, role, "D538G",
                partitions=truth.partitions, wild_type_copies=copies, fraction=fraction,
                background=truth.background, replicate=replicate - 1 if role == "WT" else 1,
            )
        )  # fmt: skip
    export_path = folder / f"{run_id}.csv"
    map_path = folder / f"{run_id}_map.csv"
    export_path.write_bytes(render(fmt, drawn).encode("utf-8"))
    map_path.write_text(plate_map(drawn), encoding="utf-8")
    return export_path, map_path


def dpcr_study(
    folder: Path,
    run_cli: RunCli,
    seed: int,
    levels: Sequence[float] = (0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01),
    replicates: int = 12,
    blanks: int = 7,
    fmt: str = "quantasoft",
) -> Study:
    """A dPCR dilution series of D538G and wild-type blanks on one 96-well plate, through the
    real reader (``fmt``) and ``esr1calls dpcr``."""
    rng = np.random.default_rng(seed)
    samples = [(f"DWT{i:02d}", 0.0) for i in range(1, blanks + 1)]
    samples += [
        (f"D{fraction * 100:g}pct_{r:02d}", fraction)
        for fraction in levels
        for r in range(1, replicates + 1)
    ]
    samples = [samples[i] for i in rng.permutation(len(samples))]
    folder.mkdir(parents=True, exist_ok=True)
    run_id = f"VAL_DPCR_{seed}"
    export, map_path = write_dpcr_run(folder, run_id, samples, rng, fmt=fmt)
    outdir = folder / run_id
    result = run_cli(["dpcr", export, "--plate-map", map_path, "-o", outdir, "--reproducible"])
    assert result.exit_code == 0, result.stderr
    design = ["sample_id,expected_fraction,hotspot"]
    design += [f"{name},{fraction},D538G" for name, fraction in samples]
    design_path = folder / "design.csv"
    design_path.write_text("\n".join(design) + "\n", encoding="utf-8")
    return Study([outdir / "calls.json"], design_path)
