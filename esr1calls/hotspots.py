"""The hotspot panel: the default 11, the extended catalog, and lab panels in the same TSV shape.

Every entry is checked against NM_000125.4: the REF bases in both builds, the HGVS c. edit, the
HGVS p. name and the hotspot name must all describe the same protein change. A lab panel is
checked when it is loaded. The packaged catalog (data/hotspots.tsv) is checked once, when
``scripts/compile_panel.py`` writes its checked form, data/hotspots.compiled.json, with the
sha256 of the files it was derived from; it is loaded from that form while those hashes match
the packaged files, and checked in full otherwise (the tests hold the file to a regeneration).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ._package_data import read_bytes
from .errors import ConfigError
from .model import Build
from .transcript import (
    ACCESSION,
    ONE_LETTER,
    PROTEIN_ACCESSION,
    TRANSCRIPT_FILES,
    OutsideCdsError,
    ProteinChange,
    effect_of_cds_edit,
    effect_of_genomic_change,
    transcript,
)

__all__ = [
    "DEFAULT_PANEL",
    "HOTSPOTS",  # noqa: F822 (given by __getattr__ on first use)
    "PANEL_COLUMNS",
    "Hotspot",
    "Panel",
    "load_panel",
]

DEFAULT_PANEL = "default"
EXTENDED_PANEL = "extended"
PANEL_COLUMNS = ("name", "hgvs_c", "hgvs_p", "pos_grch37", "pos_grch38", "ref", "alt")
_OPTIONAL_COLUMNS = ("exon", "cosmic", "evidence", "in_default_panel")
_COLUMN_ALIASES = {"cosmic_legacy": "cosmic", "exon_nm000125": "exon"}
PANEL_TSV = "hotspots.tsv"  # the packaged catalog, in esr1calls/data/
COMPILED_PANEL = "hotspots.compiled.json"  # its checked form (scripts/compile_panel.py)
# the files the checked form is derived from: the catalog and the transcript it was checked against
_COMPILED_FROM = (PANEL_TSV, *TRANSCRIPT_FILES)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hotspot:
    """One panel entry. ``pos``/``ref``/``alt`` are the VCF form (left-aligned for V422del)."""

    name: str  # protein short form, e.g. "D538G"
    hgvs_c: str  # e.g. "NM_000125.4:c.1613A>G"
    hgvs_p: str  # e.g. "p.(Asp538Gly)"
    change: ProteinChange
    c_start: int
    c_end: int
    exon: int
    pos_grch37: int
    pos_grch38: int
    ref: str
    alt: str
    cosmic: str = ""
    evidence: str = ""
    in_default_panel: bool = True

    @property
    def aa_pos(self) -> int:
        return self.change.start

    @property
    def codon_group(self) -> str:
        """Residue the hotspot changes, e.g. "Y537": same-codon hotspots share it."""
        return f"{self.change.ref[:1]}{self.change.start}"

    @property
    def ref_codon(self) -> str:
        return transcript().codon(self.aa_pos)

    @property
    def is_deletion(self) -> bool:
        return self.change.kind == "del"

    def pos(self, build: Build) -> int:
        return self.pos_grch37 if build is Build.GRCH37 else self.pos_grch38

    def codon_start(self, build: Build) -> int:
        """Genomic position of the first base of the hotspot codon."""
        return self.codon_positions(build)[0]

    def codon_positions(self, build: Build) -> tuple[int, ...]:
        """Genomic positions of the three bases of the hotspot codon, in c. order."""
        first = 3 * self.aa_pos - 2
        return tuple(transcript().c_to_genomic(c, build) for c in range(first, first + 3))

    def span(self, build: Build) -> tuple[int, int]:
        """1-based inclusive genomic span of the VCF REF allele."""
        start = self.pos(build)
        return start, start + len(self.ref) - 1


@dataclass(frozen=True)
class Panel:
    """An ordered set of hotspots with the version and hash every report records."""

    name: str
    version: str
    sha256: str
    hotspots: tuple[Hotspot, ...]

    def __iter__(self) -> Iterator[Hotspot]:
        return iter(self.hotspots)

    def __len__(self) -> int:
        return len(self.hotspots)

    def __contains__(self, name: object) -> bool:
        return any(h.name == name for h in self.hotspots)

    def __getitem__(self, name: str) -> Hotspot:
        for hotspot in self.hotspots:
            if hotspot.name == name:
                return hotspot
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hotspots)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256,
                "hotspots": list(self.names)}  # fmt: skip


_HGVS_C = re.compile(
    r"^(?:(?P<acc>[A-Z]{2}_\d+(?:\.\d+)?):)?c\.(?P<start>\d+)(?:_(?P<end>\d+))?"
    r"(?:(?P<sub_ref>[ACGT])>(?P<sub_alt>[ACGT])|(?P<op>delins|del|dup|ins)(?P<seq>[ACGT]*))$"
)
_HGVS_P = re.compile(r"^p\.\(?(?P<ref>[A-Z][a-z]{2})(?P<pos>\d+)(?P<alt>[A-Z][a-z]{2}|del)\)?$")
_NAME = re.compile(r"^(?P<ref>[A-Z])(?P<pos>\d+)(?P<alt>[A-Z*]|del)$")


def parse_hgvs_c(text: str) -> tuple[int, int, str]:
    """(c_start, c_end, replacement) for a substitution, deletion, delins, dup or ins."""
    match = _HGVS_C.match(text)
    if not match:
        raise ValueError(f"cannot read HGVS c. {text!r} (expected e.g. {ACCESSION}:c.1613A>G)")
    if match["acc"] and match["acc"].split(".")[0] != ACCESSION.split(".")[0]:
        raise ValueError(f"HGVS {text!r} is not on {ACCESSION}")
    start = int(match["start"])
    end = int(match["end"] or start)
    cds = transcript().cds
    if match["sub_ref"]:
        if cds[start - 1] != match["sub_ref"]:
            raise ValueError(f"{text}: c.{start} is {cds[start - 1]} in {ACCESSION}")
        return start, start, match["sub_alt"]
    op, seq = match["op"], match["seq"]
    if op == "del":
        if seq and seq != cds[start - 1 : end]:
            raise ValueError(f"{text}: deleted bases are {cds[start - 1 : end]} in {ACCESSION}")
        return start, end, ""
    if op == "delins":
        return start, end, seq
    if op == "dup":
        return end + 1, end, cds[start - 1 : end]
    return end, start, seq  # ins between start and end


def _expected_change(name: str, hgvs_p: str) -> str:
    """The short protein name implied by the HGVS p. text; it must equal the hotspot name."""
    match = _HGVS_P.match(hgvs_p)
    if not match:
        raise ValueError(f"cannot read HGVS p. {hgvs_p!r} (expected e.g. p.(Asp538Gly))")
    ref, alt = ONE_LETTER.get(match["ref"]), match["alt"]
    alt_short = "del" if alt == "del" else ONE_LETTER.get(alt)
    if ref is None or alt_short is None:
        raise ValueError(f"unknown amino acid in {hgvs_p!r}")
    short = f"{ref}{match['pos']}{alt_short}"
    if short != name:
        raise ValueError(f"name {name} does not match HGVS p. {hgvs_p} ({short})")
    return short


def _hotspot_from_row(row: dict[str, str]) -> Hotspot:
    name = row["name"].strip()
    if not _NAME.match(name):
        raise ValueError(f"name {name!r} is not a protein short form like D538G or V422del")
    expected = _expected_change(name, row["hgvs_p"].strip())
    c_start, c_end, replacement = parse_hgvs_c(row["hgvs_c"].strip())
    from_c = effect_of_cds_edit(c_start, c_end, replacement)
    if [p.short for p in from_c] != [expected]:
        found = ", ".join(p.short for p in from_c) or "no protein change"
        raise ValueError(f"HGVS c. {row['hgvs_c']} gives {found}, not {expected}")
    ref, alt = row["ref"].strip().upper(), row["alt"].strip().upper()
    positions = {}
    for build, column in ((Build.GRCH37, "pos_grch37"), (Build.GRCH38, "pos_grch38")):
        try:
            pos = int(row[column])
            effect = effect_of_genomic_change(pos, ref, alt, build)
        except (ValueError, OutsideCdsError) as exc:  # RefMismatchError is a ValueError
            raise ValueError(f"{column}: {exc}") from exc
        if effect != from_c:
            found = ", ".join(p.short for p in effect) or "no protein change"
            raise ValueError(f"{build.value} allele {pos} {ref}>{alt} gives {found}, not {name}")
        positions[build] = pos
    exon = transcript().exon_of_c(c_start)
    assert exon is not None  # effect_of_cds_edit succeeded, so c_start is coding
    if row.get("exon", "").strip() and int(row["exon"]) != exon.number:
        raise ValueError(f"exon {row['exon']} disagrees with the exon model (exon {exon.number})")
    return Hotspot(
        name=name,
        hgvs_c=row["hgvs_c"].strip(),
        hgvs_p=row["hgvs_p"].strip(),
        change=from_c[0],
        c_start=c_start,
        c_end=c_end,
        exon=exon.number,
        pos_grch37=positions[Build.GRCH37],
        pos_grch38=positions[Build.GRCH38],
        ref=ref,
        alt=alt,
        cosmic=row.get("cosmic", "").strip(),
        evidence=row.get("evidence", "").strip(),
        in_default_panel=row.get("in_default_panel", "yes").strip().lower() in {"yes", "true", "1"},
    )


def parse_panel_tsv(text: str, source: str) -> tuple[str, tuple[Hotspot, ...]]:
    """Read a panel TSV (``#`` comment lines allowed); returns (version, hotspots)."""
    version = ""
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            found = re.search(r"version\s*[=:]?\s*(\S+)", line)
            version = version or (found.group(1) if found else "")
        elif line.strip():
            lines.append(line)
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t")
    header = [_COLUMN_ALIASES.get(h.strip(), h.strip()) for h in reader.fieldnames or []]
    missing = [c for c in PANEL_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"{source}: panel is missing column(s) {', '.join(missing)}. Found: "
            f"{', '.join(header) or 'nothing'}. A panel TSV needs: {', '.join(PANEL_COLUMNS)}."
        )
    reader.fieldnames = header
    hotspots: list[Hotspot] = []
    for number, row in enumerate(reader, start=2):
        if None in row or any(row.get(c) is None for c in PANEL_COLUMNS):
            raise ConfigError(f"{source}, row {number}: wrong number of columns")
        try:
            hotspot = _hotspot_from_row(row)
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"{source}, row {number} ({row.get('name', '?')}): {exc}") from exc
        if hotspot.name in {h.name for h in hotspots}:
            raise ConfigError(f"{source}, row {number}: hotspot {hotspot.name} is listed twice")
        hotspots.append(hotspot)
    if not hotspots:
        raise ConfigError(f"{source}: the panel lists no hotspots")
    return version, tuple(hotspots)


def _data_bytes(name: str) -> bytes:
    return read_bytes("data", name)


def _source_hashes() -> dict[str, str]:
    return {name: hashlib.sha256(_data_bytes(name)).hexdigest() for name in _COMPILED_FROM}


def compile_panel() -> str:
    """The packaged catalog checked in full against NM_000125.4, as the text of
    data/hotspots.compiled.json: the sha256 of each file it comes from, the version and every
    entry's fields. ``scripts/compile_panel.py`` writes it; tests/test_hotspots.py holds the
    packaged file to this text byte for byte."""
    text = _data_bytes(PANEL_TSV).decode("utf-8")
    version, hotspots = parse_panel_tsv(text, f"esr1calls/data/{PANEL_TSV}")
    document = {
        "generated_by": "scripts/compile_panel.py (docs/development.md); do not edit",
        "sources": _source_hashes(),
        "version": version,
        "hotspots": [dataclasses.asdict(h) for h in hotspots],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _compiled_catalog(sources: Mapping[str, str]) -> tuple[str, tuple[Hotspot, ...]] | None:
    """The checked form of the packaged catalog, or None when it was not made from these files
    (or cannot be read): the catalog is then checked in full."""
    try:
        document = json.loads(_data_bytes(COMPILED_PANEL))
        if document["sources"] != sources:
            log.debug("%s was made from other files: checking %s", COMPILED_PANEL, PANEL_TSV)
            return None
        hotspots = tuple(
            Hotspot(**{**fields, "change": ProteinChange(**fields["change"])})
            for fields in document["hotspots"]
        )
        return str(document["version"]), hotspots
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("%s cannot be used (%s): checking %s", COMPILED_PANEL, exc, PANEL_TSV)
        return None


@cache
def _packaged_catalog() -> tuple[str, str, tuple[Hotspot, ...]]:
    sources = _source_hashes()
    compiled = _compiled_catalog(sources)
    if compiled is None:
        text = _data_bytes(PANEL_TSV).decode("utf-8")
        compiled = parse_panel_tsv(text, f"esr1calls/data/{PANEL_TSV}")
    version, hotspots = compiled
    return version, sources[PANEL_TSV], hotspots


def load_panel(spec: str | Path = DEFAULT_PANEL, names: Iterable[str] | None = None) -> Panel:
    """Load ``default`` (11), ``extended`` (catalog) or a lab panel TSV, optionally a subset.

    >>> load_panel().names[:3]
    ('E380Q', 'V422del', 'S463P')
    >>> len(load_panel("extended"))
    18
    """
    if str(spec) in (DEFAULT_PANEL, EXTENDED_PANEL):
        version, sha256, catalog = _packaged_catalog()
        hotspots = (
            catalog if spec == EXTENDED_PANEL else tuple(h for h in catalog if h.in_default_panel)
        )
        panel_name = str(spec)
    else:
        path = Path(spec)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"{path.name}: cannot read panel ({exc.strerror}). "
                "Use --panel default, --panel extended or a panel TSV path."
            ) from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path.name}: panel is not UTF-8 text") from exc
        version, hotspots = parse_panel_tsv(text, path.name)
        sha256 = hashlib.sha256(raw).hexdigest()
        version = version or f"custom-{sha256[:12]}"
        panel_name = path.stem
    if names is not None:
        wanted = [n.strip() for n in names if n.strip()]
        known = {h.name for h in hotspots}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ConfigError(
                f"unknown hotspot {', '.join(unknown)} in panel {panel_name}; "
                f"known: {', '.join(h.name for h in hotspots)}"
            )
        hotspots = tuple(h for h in hotspots if h.name in set(wanted))
        panel_name = f"{panel_name}[{','.join(h.name for h in hotspots)}]"
    return Panel(name=panel_name, version=version, sha256=sha256, hotspots=hotspots)


def __getattr__(name: str) -> tuple[Hotspot, ...]:
    """``HOTSPOTS``, the default 11-hotspot panel in report order, loaded on first use (so that
    a command that reads no panel does not load it)."""
    if name == "HOTSPOTS":
        return load_panel().hotspots
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PANEL_FORMATS = ("tsv", "bed", "vcf", "json")
CHROM_NAMES = ("chr6", "6")


def default_chrom(build: Build) -> str:
    """``chr6`` (UCSC style) for GRCh38, ``6`` (Ensembl/b37 style) for GRCh37."""
    return "chr6" if build is Build.GRCH38 else "6"


def vcf_contig_line(build: Build, chrom: str | None = None) -> str:
    """The ``##contig`` header line of chr6 in ``build``, named ``default_chrom`` unless given."""
    length, assembly = build.chr6_length, build.value
    return f"##contig=<ID={chrom or default_chrom(build)},length={length},assembly={assembly}>"


def vcf_info_hgvs(hgvs_c: str, hgvs_p: str) -> tuple[str, str]:
    """HGVS c. and p. as VCF INFO shows them: c. without the transcript accession, p. without
    the parentheses of a predicted change.

    >>> vcf_info_hgvs("NM_000125.4:c.1613A>G", "p.(Asp538Gly)")
    ('c.1613A>G', 'p.Asp538Gly')
    """
    return hgvs_c.split(":")[-1], hgvs_p.replace("(", "").replace(")", "")


def export_panel(panel: Panel, build: Build, fmt: str, chrom: str | None = None) -> str:
    """The panel as TSV, BED (0-based), VCF 4.2 sites (for force-calling) or JSON."""
    chrom = chrom or default_chrom(build)
    if chrom not in CHROM_NAMES:
        raise ConfigError(f"chromosome name {chrom!r} is not supported; use chr6 or 6")
    rows = sorted(panel, key=lambda h: (h.pos(build), h.name))
    if fmt == "tsv":
        head = ["name", "hgvs_c", "hgvs_p", "chrom", "pos", "ref", "alt", "build", "exon",
                "codon", "ref_codon", "cosmic", "evidence"]  # fmt: skip
        body = [
            [h.name, h.hgvs_c, h.hgvs_p, chrom, str(h.pos(build)), h.ref, h.alt, build.value,
             str(h.exon), h.codon_group, h.ref_codon, h.cosmic, h.evidence]
            for h in panel
        ]  # fmt: skip
        return "\n".join("\t".join(r) for r in [head, *body]) + "\n"
    if fmt == "bed":
        return "".join(
            f"{chrom}\t{h.pos(build) - 1}\t{h.pos(build) - 1 + len(h.ref)}\t{h.name}\n"
            for h in rows  # BED is 0-based, half-open: the VCF REF span
        )
    if fmt == "vcf":
        merged: dict[tuple[int, str], list[Hotspot]] = {}
        for h in rows:
            merged.setdefault((h.pos(build), h.ref), []).append(h)
        header = [
            "##fileformat=VCFv4.2",
            f"##source=esr1calls panel {panel.name} version {panel.version}",
            f"##reference={build.value}",
            vcf_contig_line(build, chrom),
            f'##INFO=<ID=HOTSPOT,Number=A,Type=String,Description="ESR1 hotspot ({ACCESSION})">',
            f'##INFO=<ID=HGVSC,Number=A,Type=String,Description="HGVS c. on {ACCESSION}">',
            f'##INFO=<ID=HGVSP,Number=A,Type=String,Description="HGVS p. on {PROTEIN_ACCESSION}">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        ]
        records: list[str] = []
        for (pos, ref), group in merged.items():
            shown = [vcf_info_hgvs(h.hgvs_c, h.hgvs_p) for h in group]
            info = ";".join(
                f"{key}={','.join(values)}"
                for key, values in (
                    ("HOTSPOT", [h.name for h in group]),
                    ("HGVSC", [c for c, _ in shown]),
                    ("HGVSP", [p for _, p in shown]),
                )
            )
            ids = ";".join(h.cosmic for h in group if h.cosmic) or "."
            alts = ",".join(h.alt for h in group)
            records.append(f"{chrom}\t{pos}\t{ids}\t{ref}\t{alts}\t.\t.\t{info}")
        return "\n".join(header + records) + "\n"
    if fmt == "json":
        entries = [
            {"name": h.name, "hgvs_c": h.hgvs_c, "hgvs_p": h.hgvs_p, "chrom": chrom,
             "pos": h.pos(build), "ref": h.ref, "alt": h.alt, "build": build.value,
             "exon": h.exon, "codon": h.codon_group, "ref_codon": h.ref_codon,
             "protein_change": h.change.short, "cosmic": h.cosmic or None,
             "evidence": h.evidence, "in_default_panel": h.in_default_panel}
            for h in panel
        ]  # fmt: skip
        document = {"panel": panel.describe(), "build": build.value, "hotspots": entries}
        return json.dumps(document, indent=2) + "\n"
    raise ConfigError(f"unknown panel format {fmt!r}; use one of {', '.join(PANEL_FORMATS)}")


def panel_from_options(spec: str | Path = DEFAULT_PANEL, hotspots: str | None = None) -> Panel:
    """The panel that ``--panel`` and ``--hotspots`` (a comma-separated subset) name."""
    return load_panel(spec, hotspots.split(",") if hotspots else None)
