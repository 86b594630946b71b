"""Panel of normals (PoN): the background error of each hotspot allele, measured in normals.

The PoN is one TSV, whatever produced the counts (normal VCFs, or normal BAM/CRAMs counted by
``reads.py``)::

    #esr1calls_pon_version=1
    #depth_unit=reads            (VCFs; fragments from BAMs; molecules with --umi: must match)
    #counts_from=vcf             (or reads; absent means vcf)
    #min_base_quality=20         (reads only, with #min_mapping_quality and #min_family_size:
                                  the counting settings a run must share to use the PoN)
    #estimator=...               (the sentence below)
    #input=normal1.vcf sha256=...
    #notice=normal1.bam: ...     (reads only: what counting that normal had to say)
    hotspot  n_normals  alt_count  depth  error_rate  error_rate_upper95  dispersion

A PoN is used only for counts made the same way: a background measured in a caller's VCF counts
is not the background of esr1calls' read counts (other read filters, mates counted apart), nor is
one measured at Q30 the background at Q20. :func:`pon_mismatch` says what differs.

Estimator (per hotspot allele): the pooled rate p = sum(x) / sum(n) over the normals, and as the
background e used for calling, the larger of (a) the one-sided 95 % Clopper-Pearson upper bound
of p computed on the depth divided by the over-dispersion factor (Pearson chi-square / (m - 1),
at least 1), and (b) p plus 1.645 between-normal standard deviations (method of moments), so a
site that is noisy in some normals is not averaged away. A normal showing the allele above 1 %
is left out (a real variant is not background) and listed in the file. Where the VCF gives only a
range for the count (changes in the codon without phase), its upper end is used.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..hotspots import Panel
from ..model import Build, InputFile
from ..stats import clopper_pearson
from .files import READ_FORMATS, sniff_ngs_format
from .inputs import count_and_hash
from .options import PON_READ_SETTINGS, ReadOptions
from .reads import DuplicateState
from .vcf_read import read_vcf_evidence

__all__ = [
    "MAX_NORMAL_FRACTION",
    "NOTICE_PREFIX",
    "PON_COLUMNS",
    "PON_VERSION",
    "PanelOfNormals",
    "PonRow",
    "build_pon",
    "estimate_background",
    "pon_mismatch",
    "read_pon",
]

PON_VERSION = "1"
PON_COLUMNS = (
    "hotspot", "n_normals", "alt_count", "depth", "error_rate", "error_rate_upper95", "dispersion",
)  # fmt: skip
MAX_NORMAL_FRACTION = 0.01
NOTICE_PREFIX = "#notice="  # what counting a normal's reads had to say (e.g. unlabelled reads)
ESTIMATOR = (
    "pooled alt/depth; error_rate_upper95 = max(one-sided 95 % Clopper-Pearson upper bound on "
    "depth / dispersion, pooled rate + 1.645 between-normal SD); normals above 1 % excluded"
)


@dataclass(frozen=True)
class PonRow:
    hotspot: str
    n_normals: int
    alt_count: int
    depth: int
    error_rate: float
    error_rate_upper95: float
    dispersion: float


@dataclass(frozen=True)
class PanelOfNormals:
    """A read PoN: per-hotspot rows and the file's provenance."""

    path: str
    sha256: str
    depth_unit: str
    rows: Mapping[str, PonRow]
    counts_from: str = "vcf"  # "vcf" or "reads"
    read_settings: Mapping[str, str] = field(default_factory=dict)  # PON_READ_SETTINGS (reads)

    def error_rates(self) -> dict[str, float]:
        """The background e per hotspot: the upper bound (docs/ngs.md, "Panel of normals")."""
        return {name: row.error_rate_upper95 for name, row in self.rows.items()}

    @property
    def input(self) -> InputFile:
        return InputFile(self.path, self.sha256, "pon")


def estimate_background(observations: Sequence[tuple[int, int]]) -> tuple[float, float, float]:
    """(pooled rate, upper bound used as e, dispersion) from per-normal (alt, depth) pairs.

    >>> rate, upper, dispersion = estimate_background([(1, 10_000), (2, 10_000), (0, 10_000)])
    >>> round(rate, 6), round(upper, 6), round(dispersion, 2)
    (0.0001, 0.000258, 1.0)
    """
    pairs = [(x, n) for x, n in observations if n > 0]
    if not pairs:
        raise ValueError("no normal has depth at this hotspot")
    total_x = sum(x for x, _ in pairs)
    total_n = sum(n for _, n in pairs)
    rate = total_x / total_n
    m = len(pairs)
    dispersion = 1.0
    if m >= 2 and 0.0 < rate < 1.0:
        chi2 = sum((x - n * rate) ** 2 / (n * rate * (1 - rate)) for x, n in pairs)
        dispersion = max(1.0, chi2 / (m - 1))
    n_eff = max(1, round(total_n / dispersion))
    x_eff = min(n_eff, round(rate * n_eff))
    upper = clopper_pearson(x_eff, n_eff, confidence=0.90)[1]  # two-sided 90 % = one-sided 95 %
    if m >= 2:
        rates = [x / n for x, n in pairs]
        mean = sum(rates) / m
        observed = sum((r - mean) ** 2 for r in rates) / (m - 1)
        sampling = sum(rate * (1 - rate) / n for _, n in pairs) / m
        between = max(0.0, observed - sampling)
        upper = max(upper, rate + 1.645 * math.sqrt(between))
    return rate, min(upper, 1.0 - 1e-9), dispersion


def build_pon(
    paths: Sequence[str | Path],
    panel: Panel,
    *,
    sample: str | None = None,
    build: Build | None = None,
    read_options: ReadOptions | None = None,
) -> tuple[str, list[InputFile]]:
    """Read normal VCFs, or normal BAM/CRAMs, and return (the PoN TSV text, the inputs).

    The normals must all be VCF/BCF or all BAM/CRAM (``read_options`` says how reads are
    counted, and with ``umi`` that depths are molecules, VCFs' too): a PoN describes one way of
    counting.
    """
    read_options = read_options or ReadOptions()
    umi = read_options.umi
    formats = [(Path(p).name, sniff_ngs_format(p)) for p in paths]
    reads = [name for name, fmt in formats if fmt in READ_FORMATS]
    from_reads = bool(reads)
    if reads and len(reads) != len(formats):
        vcfs = [name for name, fmt in formats if fmt not in READ_FORMATS]
        raise ConfigError(
            f"pon build: {', '.join(reads)} hold reads but {', '.join(vcfs)} variants; a panel "
            "of normals measures one way of counting: give all BAM/CRAMs or all VCFs"
        )
    observed: dict[str, list[tuple[int, int]]] = {h.name: [] for h in panel}
    notes: list[str] = []
    inputs: list[InputFile] = []
    for path in paths:
        notices: tuple[str, ...] = ()
        if from_reads:
            found, measured, notices = _reads_observations(path, panel, build, sample, read_options)
        else:
            found, measured = _vcf_observations(path, panel, build, sample)
        inputs.append(found)
        notes.append(f"#input={Path(path).name} sha256={found.sha256}")
        notes.extend(f"{NOTICE_PREFIX}{notice}" for notice in notices)
        for name, x, n in measured:
            if x / n > MAX_NORMAL_FRACTION:
                notes.append(
                    f"#excluded={Path(path).name} {name} {x}/{n}: above "
                    f"{MAX_NORMAL_FRACTION:.0%}, a real variant rather than background"
                )
                continue
            observed[name].append((x, n))
    if from_reads:
        unit = read_options.unit
        header = [f"#depth_unit={unit}", "#counts_from=reads"]
        header += [f"#{key}={value}" for key, value in read_options.pon_settings().items()]
    else:
        header = [f"#depth_unit={'molecules' if umi else 'reads'}", "#counts_from=vcf"]
    lines = [
        f"#esr1calls_pon_version={PON_VERSION}",
        *header,
        f"#panel={panel.name} {panel.version}",
        f"#estimator={ESTIMATOR}",
        *notes,
        "\t".join(PON_COLUMNS),
    ]
    for hotspot in panel:
        observations = observed[hotspot.name]
        if not observations:
            lines.append(f"#no_data={hotspot.name}")
            continue
        rate, upper, dispersion = estimate_background(observations)
        values = (hotspot.name, len(observations), sum(x for x, _ in observations),
                  sum(n for _, n in observations), f"{rate:.6g}", f"{upper:.6g}",
                  f"{dispersion:.4g}")  # fmt: skip
        lines.append("\t".join(str(v) for v in values))
    return "\n".join(lines) + "\n", inputs


_Observation = tuple[str, int, int]  # (hotspot, alt count, depth), depth > 0


def _reads_observations(
    path: str | Path, panel: Panel, build: Build | None, sample: str | None, options: ReadOptions
) -> tuple[InputFile, list[_Observation], tuple[str, ...]]:
    counts, found = count_and_hash(path, panel, build, sample, options)
    duplicates = counts.duplicates
    if duplicates is not None and duplicates.state is DuplicateState.UNMARKED:
        # a background per read, with one molecule's errors read many times, looks tighter
        # (more depth, the same errors) than the molecules behind it allow
        raise ConfigError(
            f"pon build: {Path(path).name}: duplicates were never marked (no marking program in "
            f"@PG, no read flagged duplicate among up to {duplicates.deepest:,} fragments at a "
            "codon), so its depth counts reads, not molecules, and the background would look "
            "tighter than it is: mark duplicates (samtools markdup), count UMI molecules (--umi), "
            "or, if its reads are molecules, say so with --reads-are-molecules"
        )
    measured = [
        (c.hotspot, c.alt_count, c.depth)
        for c in counts.allele_counts
        if c.alt_count is not None and c.depth  # a codon no read covers is no measurement
    ]
    notices = counts.notices
    if duplicates is not None and duplicates.state is DuplicateState.DECLARED:
        notices += (
            f"{Path(path).name}: no duplicate marking found; its reads are taken as molecules, "
            "as --reads-are-molecules says",
        )
    return found, measured, notices


def _vcf_observations(
    path: str | Path, panel: Panel, build: Build | None, sample: str | None
) -> tuple[InputFile, list[_Observation]]:
    evidence = read_vcf_evidence(path, panel, build=build, sample=sample)
    measured = []
    for found in evidence.hotspots:
        x, n = found.counts.alt_count, found.counts.depth
        if found.alt_count_range is not None:
            x = found.alt_count_range[1]  # uncertain counts: the high end, never understated
        if x is None or n is None or n <= 0:
            continue  # no depth, or a count the VCF does not give: no measurement
        measured.append((found.counts.hotspot, x, n))
    return evidence.input, measured


def pon_mismatch(
    pon: PanelOfNormals, *, counts_from: str, read_settings: Mapping[str, str]
) -> str | None:
    """How a PoN's counting differs from a sample's (None when it fits).

    ``counts_from`` is "vcf" or "reads"; ``read_settings`` the sample's counting settings
    (``ReadOptions.pon_settings()``), compared only for reads.

    >>> pon = PanelOfNormals("pon.tsv", "", "fragments", {}, "reads", {"min_base_quality": "30"})
    >>> pon_mismatch(pon, counts_from="reads", read_settings={"min_base_quality": "20"})
    'it was built with min_base_quality 30, the run uses 20'
    >>> pon_mismatch(pon, counts_from="vcf", read_settings={}) is not None
    True
    """
    if pon.counts_from != counts_from:
        built = "from reads (BAM/CRAM)" if pon.counts_from == "reads" else "from VCF counts"
        used = "reads (BAM/CRAM)" if counts_from == "reads" else "a VCF"
        return f"it was built {built}, but these counts come from {used}"
    if counts_from != "reads":
        return None
    differences = [
        f"{key} {pon.read_settings[key]}, the run uses {read_settings.get(key, '?')}"
        for key in PON_READ_SETTINGS
        if key in pon.read_settings and pon.read_settings[key] != read_settings.get(key)
    ]
    return f"it was built with {'; '.join(differences)}" if differences else None


def _number(text: str, kind: type[int] | type[float], what: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} {text!r} must be a finite number >= 0")
    return value


def read_pon(path: str | Path, *, known_hotspots: Collection[str], umi: bool) -> PanelOfNormals:
    """Read and validate a PoN TSV; ConfigError names the row and the fix."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read the panel of normals ({exc})") from exc
    meta: dict[str, str] = {}
    header: list[str] | None = None
    rows: dict[str, PonRow] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            meta.setdefault(key.strip(), value.strip())
            continue
        cells = line.split("\t")
        if header is None:
            if "esr1calls_pon_version" not in meta:
                raise ConfigError(
                    f"{path.name}: not an esr1calls panel of normals (no #esr1calls_pon_version "
                    "line); build one with: esr1calls pon build NORMAL.vcf... -o pon.tsv"
                )
            missing = [c for c in PON_COLUMNS if c not in cells]
            if missing:
                raise ConfigError(
                    f"{path.name}, row {number}: missing column(s) {', '.join(missing)}; "
                    f"a PoN has: {', '.join(PON_COLUMNS)}"
                )
            header = cells
            continue
        if len(cells) != len(header):
            raise ConfigError(f"{path.name}, row {number}: {len(cells)} cells, expected "
                              f"{len(header)}")  # fmt: skip
        row = dict(zip(header, cells, strict=True))
        name = row["hotspot"].strip()
        if name not in known_hotspots:
            raise ConfigError(
                f"{path.name}, row {number}: unknown hotspot {name!r}; known: "
                f"{', '.join(sorted(known_hotspots))}"
            )
        if name in rows:
            raise ConfigError(f"{path.name}, row {number}: hotspot {name} is listed twice")
        try:
            parsed = PonRow(
                hotspot=name,
                n_normals=int(_number(row["n_normals"], int, "n_normals")),
                alt_count=int(_number(row["alt_count"], int, "alt_count")),
                depth=int(_number(row["depth"], int, "depth")),
                error_rate=_number(row["error_rate"], float, "error_rate"),
                error_rate_upper95=_number(row["error_rate_upper95"], float, "error_rate_upper95"),
                dispersion=_number(row["dispersion"], float, "dispersion"),
            )
            if not 0.0 < parsed.error_rate_upper95 < 1.0:
                raise ValueError("error_rate_upper95 must be above 0 and below 1")
            if parsed.error_rate > parsed.error_rate_upper95 or parsed.error_rate >= 1.0:
                raise ValueError("error_rate must be below 1 and not above error_rate_upper95")
            if parsed.alt_count > parsed.depth or parsed.n_normals < 1:
                raise ValueError("alt_count cannot exceed depth, and n_normals must be >= 1")
        except ValueError as exc:
            raise ConfigError(f"{path.name}, row {number} ({name}): {exc}") from exc
        rows[name] = parsed
    if header is None:
        raise ConfigError(f"{path.name}: no column header; expected {', '.join(PON_COLUMNS)}")
    unit = meta.get("depth_unit", "reads")
    if unit not in ("reads", "fragments", "molecules"):
        raise ConfigError(
            f"{path.name}: #depth_unit={unit} (expected reads, fragments or molecules)"
        )
    if (unit == "molecules") != umi:
        fix = "add --umi" if unit == "molecules" else "drop --umi or rebuild the PoN with --umi"
        raise ConfigError(
            f"{path.name}: the PoN counts {unit}, but this run counts "
            f"{'molecules (--umi)' if umi else 'reads'}; {fix}"
        )
    counts_from = meta.get("counts_from", "vcf")
    if counts_from not in ("vcf", "reads"):
        raise ConfigError(f"{path.name}: #counts_from={counts_from} (expected vcf or reads)")
    read_settings = {key: meta[key] for key in PON_READ_SETTINGS if key in meta}
    if counts_from == "reads" and len(read_settings) != len(PON_READ_SETTINGS):
        absent = ", ".join(f"#{k}" for k in PON_READ_SETTINGS if k not in read_settings)
        raise ConfigError(
            f"{path.name}: a PoN counted from reads must record {absent}; rebuild it with "
            "esr1calls pon build"
        )
    return PanelOfNormals(
        str(path), hashlib.sha256(raw).hexdigest(), unit, rows, counts_from=counts_from,
        read_settings=read_settings,
    )  # fmt: skip
