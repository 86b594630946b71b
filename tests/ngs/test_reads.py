"""Read counting from BAM/CRAM: every expected count below is traced to the molecules written.

The main BAM holds groups of fragments (paired 2x100 reads of 150 bp molecules, so the mates
overlap over the codons). Each group's comment says what it is at each codon it covers; the
expected totals are the sums of those lines, written out by hand.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esr1calls.errors import AlignmentFormatError, ConfigError, ReferenceFastaError
from esr1calls.hotspots import Panel, load_panel
from esr1calls.model import AlleleCounts, Build
from esr1calls.ngs.reads import (
    _EXCLUDED_FLAGS,
    ClassKind,
    DuplicateState,
    ReadClass,
    Unusable,
    _fetch_regions,
    _filter_reason,
    _Region,
    _windows,
    count_hotspots,
    count_regions,
    duplicate_programs,
)
from esr1calls.testing.bams import (
    DUPLICATE,
    MARKDUP_PG,
    QC_FAIL,
    SECONDARY,
    SUPPLEMENTARY,
    Edit,
    Fragment,
    around,
    bam_to_cram,
    codon_edit,
    esr1_reference,
    fragment_reads,
    g,
    make_header,
    write_alignments,
    write_fasta,
)
from esr1calls.transcript import ProteinChange

UNMAPPED = 0x4
PANEL = load_panel()
EXTENDED = load_panel("extended")
RG = {"RG": "rg1"}


def group(
    prefix: str,
    n: int,
    c_pos: int,
    *,
    reverse: int = 0,
    build: Build = Build.GRCH38,
    **kwargs: Any,
) -> list[Fragment]:
    """``n`` 150 bp fragments with ``c_pos`` 60-63 bases in; the first ``reverse`` are F2R1."""
    kwargs.setdefault("tags", RG)
    return [
        Fragment(f"{prefix}{i}", around(c_pos, 60 + i % 4, build), 150, r1_reverse=i < reverse,
                 **kwargs)
        for i in range(n)
    ]  # fmt: skip


def cod(aa: int, codon: str) -> tuple[Edit, ...]:
    return (codon_edit(aa, codon),)


def main_fragments() -> list[Fragment]:
    ins_y537 = Edit(g(1609), "T", "TG")  # insertion between c.1609 and c.1610
    del_y537 = Edit(g(1609), "TA", "T")  # c.1610 deleted
    return [
        # --- E380 (GAA) ---
        *group("e380_ref", 20, 1138, reverse=10),  # reference
        *group("e380_q", 3, 1138, reverse=1, edits=cod(380, "CAA")),  # E380Q (1 F2R1)
        *group("e380_k", 2, 1138, edits=cod(380, "AAA")),  # other: E380K
        *group("e380_n", 1, 1138, edits=(Edit(g(1139), "A", "N"),)),  # ambiguous base
        # --- M421-V422-E423 (ATG GTG GAG), V422del in five representations ---
        *group("v422_ref", 10, 1261),
        *group("v422_del_a", 3, 1261, edits=(Edit(g(1261), "ATGG", "A"),)),  # left-aligned
        *group("v422_del_b", 2, 1261, edits=(Edit(g(1262), "TGGT", "T"),)),
        *group("v422_del_c", 2, 1261, edits=(Edit(g(1263), "GGTG", "G"),)),  # c.1264_1266
        *group("v422_del_d", 2, 1261, reverse=2, edits=(Edit(g(1264), "GTGG", "G"),)),  # 3'
        # a mismatch plus a shifted deletion that spell the same molecule (ATGGAG)
        *group("v422_del_e", 1, 1261, edits=(Edit(g(1265), "T", "A"), Edit(g(1266), "GGAG", "G"))),
        *group("v422_e423del", 2, 1261, edits=(Edit(g(1265), "TGGA", "T"),)),  # indel, not V422
        *group("v422_fs", 1, 1261, edits=(Edit(g(1264), "GT", "G"),)),  # frameshift: indel
        *group("v422_e423d", 2, 1261, edits=cod(423, "GAT")),  # other: E423D
        # low-quality base inside the region in both mates: unusable
        *group("v422_lowq", 1, 1261, edits=(Edit(g(1261), "ATGG", "A"),),
               low_quality_r1=(g(1266),), low_quality_r2=(g(1266),)),
        # single read ending inside the region: not spanning
        Fragment("v422_partial", g(1265) - 99, 100, paired=False, tags=RG),
        # V422del reads ending on the base after the region (counted) and on its last base
        # (not spanning: a deletion could still be hidden past the read's end)
        Fragment("v422_edge_in", g(1270) - 102, 103, edits=(Edit(g(1261), "ATGG", "A"),),
                 paired=False, tags=RG),
        Fragment("v422_edge_out", g(1269) - 102, 103, edits=(Edit(g(1261), "ATGG", "A"),),
                 paired=False, tags=RG),
        # --- S463 (TCC) ---
        *group("s463_ref", 15, 1387),
        *group("s463_p", 4, 1387, edits=cod(463, "CCC")),  # S463P
        *group("s463_l", 2, 1387, edits=cod(463, "CTC")),  # double change T>C + C>T = Leu
        *group("s463_f", 2, 1387, edits=cod(463, "TTC")),  # S463F (extended panel only)
        *group("s463_lowmq", 3, 1387, edits=cod(463, "CCC"), mapq=10),  # filtered: MAPQ 10
        # --- exon 8: L536 (CTC) Y537 (TAT) D538 (GAC); every group spans all three codons ---
        *group("x8_ref", 30, 1609, reverse=15),
        *group("l536_h", 5, 1609, edits=cod(536, "CAC")),
        *group("l536_p", 6, 1609, edits=cod(536, "CCC")),
        *group("l536_r", 7, 1609, edits=cod(536, "CGC")),
        *group("l536_q_ag", 5, 1609, reverse=2, edits=cod(536, "CAG")),  # the MNV, not L536H
        *group("l536_q_aa", 3, 1609, edits=cod(536, "CAA")),  # the other Gln MNV
        *group("l536_syn", 3, 1609, edits=cod(536, "CTG")),  # synonymous: reference Leu
        *group("y537_c", 9, 1609, edits=cod(537, "TGT")),
        *group("y537_n", 10, 1609, edits=cod(537, "AAT")),
        *group("y537_s", 9, 1609, reverse=4, edits=cod(537, "TCT")),
        # one mate low quality at c.1610, met first (read 1) or second: the other decides
        *group("y537_s_r1lowq", 1, 1609, edits=cod(537, "TCT"), low_quality_r1=(g(1610),)),
        *group("y537_s_r2lowq", 1, 1609, edits=cod(537, "TCT"), low_quality_r2=(g(1610),)),
        *group("y537_t", 3, 1609, edits=cod(537, "ACT")),  # TAT>ACT = Thr: other, not N or S
        *group("y537_d", 2, 1609, edits=cod(537, "GAT")),  # Y537D (extended panel only)
        # both mates low quality at c.1610: unusable
        *group("y537_s_2lowq", 4, 1609, edits=cod(537, "TCT"),
               low_quality_r1=(g(1610),), low_quality_r2=(g(1610),)),
        *group("y537_dis_sr", 3, 1609, r1_edits=cod(537, "TCT")),  # mates S / reference
        *group("y537_dis_cs", 1, 1609, r1_edits=cod(537, "TGT"), r2_edits=cod(537, "TCT")),
        *group("y537_del", 2, 1609, edits=(del_y537,)),  # 1 bp deletion in the codon
        *group("y537_ins", 1, 1609, edits=(ins_y537,)),  # insertion inside the codon
        # single read ending at c.1610: L536 reference, Y537 not spanning, D538 not touched
        Fragment("y537_partial", g(1610) - 99, 100, paired=False, tags=RG),
        # single read soft-clipped through c.1609 (aligned from c.1610): Y537 not spanning
        Fragment("y537_clipped", g(1600), 100, paired=False, clip_r1=10, tags=RG),
        *group("cis_s_g", 2, 1609, edits=(*cod(537, "TCT"), *cod(538, "GGC"))),  # in cis
        *group("d538_g", 12, 1609, reverse=4, edits=cod(538, "GGC")),
        *group("d538_n", 2, 1609, edits=cod(538, "AAC")),  # other: D538N
        *group("d538_lowq", 1, 1609, edits=cod(538, "GGC"),
               low_quality_r1=(g(1613),), low_quality_r2=(g(1613),)),
        # excluded records, all carrying a hotspot so a leak would show
        *group("dup", 5, 1609, edits=cod(538, "GGC"), flags=DUPLICATE),
        *group("sec", 1, 1609, edits=cod(537, "TCT"), flags=SECONDARY),
        *group("supp", 1, 1609, edits=cod(537, "TCT"), flags=SUPPLEMENTARY),
        *group("qcfail", 1, 1609, edits=cod(537, "TCT"), flags=QC_FAIL),
        Fragment("unmapped", g(1609), 100, paired=False, flags=UNMAPPED, tags=RG),
    ]  # fmt: skip


EXPECTED_CODONS: dict[str, dict[str, Any]] = {
    "E380": {
        "reference": 20,
        "hotspots": {"E380Q": 3},
        "other_changes": {"E380K": 2},
        "unusable_reasons": {"ambiguous_base": 1},
        "filtered_reads": {},
    },
    "M421_E423": {
        "reference": 10,
        "hotspots": {"V422del": 11},  # 3 + 2 + 2 + 2 + 1 representations, + v422_edge_in
        "other_changes": {"E423D": 2},
        # the low-quality read shows V422del: marked, still unusable
        "unusable_reasons": {"indel": 3, "low_base_quality@V422del": 1, "not_spanning": 2},
        "filtered_reads": {},
    },
    "S463": {
        "reference": 15,
        "hotspots": {"S463P": 4},
        "other_changes": {"S463F": 2, "S463L": 2},
        "unusable_reasons": {},
        "filtered_reads": {"low_mapping_quality@S463P": 6},  # they show S463P
    },
    "L536": {
        # x8_ref 30, l536_syn 3, every Y537/D538 group (9+10+9+2+3+2+4+3+1+2+1+2+12+2+1 = 63)
        # and y537_partial 1
        "reference": 97,
        "hotspots": {"L536H": 5, "L536P": 6, "L536R": 7, "L536Q": 8},
        "other_changes": {},
        "unusable_reasons": {},
        "filtered_reads": {"duplicate": 10, "qc_fail": 2, "secondary": 2, "supplementary": 2},
    },
    "Y537": {
        # x8_ref 30, L536 groups 5+6+7+5+3+3 = 29, D538 groups 12+2+1 = 15
        "reference": 74,
        "hotspots": {"Y537C": 9, "Y537N": 10, "Y537S": 13},  # S: 9 + 2 (one mate low) + 2 cis
        "other_changes": {"Y537D": 2, "Y537T": 3},
        "unusable_reasons": {
            "indel": 3,
            "low_base_quality@Y537S": 4,  # y537_s_2lowq: both mates low, showing Y537S
            "mates_disagree": 4,
            "not_spanning": 2,
        },
        "filtered_reads": {
            "duplicate": 10,
            "qc_fail": 2,
            "secondary": 2,
            "supplementary": 2,
            "unmapped": 1,
        },
    },
    "D538": {
        # x8_ref 30, L536 groups 29, Y537 groups 9+10+9+2+3+2+4+3+1+2+1 = 46, y537_clipped 1
        "reference": 106,
        "hotspots": {"D538G": 14},  # 12 + 2 in cis
        "other_changes": {"D538N": 2},
        "unusable_reasons": {"low_base_quality@D538G": 1},
        "filtered_reads": {"duplicate": 10, "qc_fail": 2, "secondary": 2, "supplementary": 2},
    },
}


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reads")


@pytest.fixture(scope="session")
def fasta38(workdir: Path) -> Path:
    return write_fasta(esr1_reference(Build.GRCH38), workdir / "esr1_grch38.fa.gz")


@pytest.fixture(scope="session")
def main_bam(workdir: Path) -> Path:
    return write_alignments(workdir / "main.bam", main_fragments(), esr1_reference(Build.GRCH38))


@pytest.fixture(scope="session")
def main_cram(workdir: Path, main_bam: Path, fasta38: Path) -> Path:
    return bam_to_cram(main_bam, workdir / "main.cram", fasta38)


@pytest.fixture(scope="session")
def main_counts(main_bam: Path) -> Any:
    return count_hotspots(main_bam, PANEL)


def codon_summary(counts: Any, window: str) -> dict[str, Any]:
    codon = next(c for c in counts.codons if c.window == window)
    return {
        "reference": codon.reference,
        "hotspots": dict(codon.hotspots),
        "other_changes": dict(codon.other_changes),
        "unusable_reasons": dict(codon.unusable_reasons),
        "filtered_reads": dict(codon.filtered_reads),
    }


# ------------------------------------------------------------------ classification, exact


@pytest.mark.parametrize("window", list(EXPECTED_CODONS))
def test_codon_totals_are_exact(main_counts, window):
    assert codon_summary(main_counts, window) == EXPECTED_CODONS[window]


def test_allele_counts_x_and_n_are_exact(main_counts):
    got = {c.hotspot: (c.alt_count, c.depth) for c in main_counts.allele_counts}
    assert got == {
        "E380Q": (3, 25),  # 20 + 3 + 2
        "V422del": (11, 23),  # 10 + 11 + 2
        "S463P": (4, 23),  # 15 + 4 + 2 + 2
        "L536H": (5, 123),
        "L536P": (6, 123),
        "L536R": (7, 123),
        "L536Q": (8, 123),  # 97 + 5 + 6 + 7 + 8
        "Y537C": (9, 111),
        "Y537N": (10, 111),
        "Y537S": (13, 111),  # 74 + 9 + 10 + 13 + 5
        "D538G": (14, 122),  # 106 + 14 + 2
    }
    assert [c.hotspot for c in main_counts.allele_counts] == list(PANEL.names)


def test_mnv_counts_as_l536q_never_as_l536h(main_counts):
    # 5 CAG + 3 CAA fragments; only the 5 real CTC>CAC fragments are L536H
    assert main_counts["L536Q"].alt_count == 8
    assert main_counts["L536H"].alt_count == 5


def test_same_codon_double_change_is_other_never_n_or_s(main_counts):
    codon = main_counts.codon_of("Y537S")
    assert codon.other_changes["Y537T"] == 3
    assert main_counts["Y537N"].alt_count == 10 and main_counts["Y537S"].alt_count == 13


def test_every_v422del_representation_counts(main_counts):
    codon = main_counts.codon_of("V422del")
    assert (codon.window, codon.start, codon.end) == ("M421_E423", g(1261), g(1269))
    assert codon.hotspots == {"V422del": 11}


def test_strands_follow_read_one(main_counts):
    # F2R1 fragments (read 1 on the reverse strand) are reverse
    strands = {c.hotspot: (c.alt_forward, c.alt_reverse) for c in main_counts.allele_counts}
    assert strands["D538G"] == (10, 4)  # 12 with 4 F2R1, + 2 in cis (F1R2)
    assert strands["Y537S"] == (9, 4)  # 9 with 4 F2R1, + 2 + 2
    assert strands["E380Q"] == (2, 1)
    assert strands["L536Q"] == (6, 2)
    assert strands["V422del"] == (9, 2)
    for counts in main_counts.allele_counts:
        assert counts.alt_forward + counts.alt_reverse == counts.alt_count  # fragments: one strand


def test_strand_of_a_fragment_seen_by_read_two_only(tmp_path):
    # 300 bp fragments: read 2 alone covers D538 (c.1613 is 250 bases in)
    d538g = cod(538, "GGC")
    fragments = [
        *[Fragment(f"f{i}", around(1613, 250), 300, edits=d538g, tags=RG) for i in range(3)],
        *[Fragment(f"r{i}", around(1613, 250), 300, edits=d538g, r1_reverse=True, tags=RG)
          for i in range(2)],
    ]  # fmt: skip
    bam = write_alignments(tmp_path / "r2.bam", fragments, esr1_reference(Build.GRCH38))
    counts = count_hotspots(bam, PANEL)["D538G"]
    # F1R2: read 2 is reverse, the fragment forward; F2R1: read 2 forward, fragment reverse
    assert (counts.alt_count, counts.alt_forward, counts.alt_reverse) == (5, 3, 2)


def _hand_aligned_read(
    header: Any, name: str, start: int, cigar: list[tuple[int, int]], seq: str
) -> Any:
    read = pysam.AlignedSegment(header)
    read.query_name = name
    read.flag = 0
    read.reference_id = 0
    read.reference_start = start - 1  # pysam is 0-based
    read.mapping_quality = 60
    read.cigartuples = cigar
    read.query_sequence = seq
    read.query_qualities = pysam.qualitystring_to_array("?" * len(seq))
    read.set_tag("RG", "rg1")
    return read


def test_cigar_indels_inside_a_codon_are_unusable_even_if_the_bases_spell_a_hotspot(tmp_path):
    ref = esr1_reference(Build.GRCH38)
    header = make_header(ref)
    start = g(1609) - 50
    # c.1609 T, an inserted C, c.1610 deleted, c.1611 T: the bases read "TCT" (Ser)
    y537 = _hand_aligned_read(
        header, "ins_del", start, [(0, 51), (1, 1), (2, 1), (0, 49)],
        ref.seq(start, g(1609)) + "C" + ref.seq(g(1611), g(1611) + 48),
    )  # fmt: skip
    # in the V422 region an inserted T then a deleted T spell the reference: sequence decides
    v_start = g(1264) - 50
    v422 = _hand_aligned_read(
        header, "v_ins_del", v_start, [(0, 51), (1, 1), (2, 1), (0, 49)],
        ref.seq(v_start, g(1264)) + "T" + ref.seq(g(1266), g(1266) + 48),
    )  # fmt: skip
    path = tmp_path / "hand.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for read in sorted([y537, v422], key=lambda r: r.reference_start):
            out.write(read)
    pysam.index(str(path))
    counts = count_hotspots(path, PANEL)
    assert counts.codon_of("Y537S").unusable_reasons == {"indel": 1}
    assert counts["Y537S"].alt_count == 0
    v422_codon = counts.codon_of("V422del")
    assert (v422_codon.reference, v422_codon.unusable) == (1, 0)


def test_allele_counts_record_source_place_and_fields(main_counts, main_bam):
    counts = main_counts["Y537S"]
    assert isinstance(counts, AlleleCounts)
    assert counts.source == "bam"
    assert counts.place == f"main.bam, chr6:{g(1609)}-{g(1611)} (Y537)"
    assert counts.fields["unit"] == "fragments"
    assert counts.fields["min_base_quality"] == "20"
    assert counts.fields["min_mapping_quality"] == "20"
    assert "duplicate" in counts.fields["excluded_flags"]
    assert counts.filters == ()
    assert main_counts.build is Build.GRCH38
    assert main_counts.build_evidence == "@SQ chr6 LN:170805979"
    assert main_counts.sample_id == "TUMOUR"
    assert main_counts.path == str(main_bam)


def test_codon_evidence_is_json_ready(main_counts):
    document = json.loads(json.dumps([c.as_dict() for c in main_counts.codons]))
    y537 = next(d for d in document if d["window"] == "Y537")
    assert y537["depth"] == 111
    assert y537["region"] == f"chr6:{g(1609)}-{g(1611)}"
    assert y537["unusable"] == 13


def test_extended_panel_counts_the_extra_hotspots(main_bam):
    counts = count_hotspots(main_bam, EXTENDED)
    assert counts["Y537D"].alt_count == 2
    assert counts["S463F"].alt_count == 2
    assert counts.codon_of("Y537D").other_changes == {"Y537T": 3}
    assert counts["Y537D"].depth == counts["Y537S"].depth == 111
    # codons with no mutant molecules are still counted, at their real depth: every exon 8
    # fragment except the one clipped through c.1609 (the same 123 as L536)
    assert (counts["P535H"].alt_count, counts["P535H"].depth) == (0, 123)
    assert (counts["V534E"].alt_count, counts["V534E"].depth) == (0, 123)


def test_hotspot_subset_counts_only_its_codons(main_bam):
    counts = count_hotspots(main_bam, load_panel(names=["D538G"]))
    assert [c.window for c in counts.codons] == ["D538"]
    assert (counts["D538G"].alt_count, counts["D538G"].depth) == (14, 122)


def test_count_regions_are_the_codons_read(main_counts):
    assert count_regions(PANEL, Build.GRCH38) == (
        (g(1138), g(1140)),
        (g(1260), g(1270)),  # M421-E423 and the base on each side
        (g(1387), g(1389)),
        (g(1606), g(1614)),  # L536, Y537, D538 in one fetch
    )
    spans = [(c.start, c.end) for c in main_counts.codons]
    assert spans[1] == (g(1261), g(1269))


# ------------------------------------------------------------------ BAM and CRAM


def test_cram_counts_equal_bam_counts(main_counts, main_cram, fasta38):
    cram = count_hotspots(main_cram, PANEL, reference=fasta38)
    assert cram.file_format == "cram"
    assert cram.codons == main_counts.codons
    for from_cram, from_bam in zip(cram.allele_counts, main_counts.allele_counts, strict=True):
        assert from_cram.source == "cram"
        assert dataclasses.replace(from_cram, source="bam", place="") == dataclasses.replace(
            from_bam, place=""
        )


def test_cram_without_reference_is_an_error(main_cram):
    with pytest.raises(
        AlignmentFormatError, match=r"^main\.cram: a CRAM needs the reference FASTA"
    ):
        count_hotspots(main_cram, PANEL)


def test_cram_reference_without_fai_is_an_error(main_cram, fasta38, tmp_path):
    copy = tmp_path / "copy.fa.gz"
    copy.write_bytes(fasta38.read_bytes())
    with pytest.raises(
        ReferenceFastaError, match=r"^copy\.fa\.gz: .*run: samtools faidx copy\.fa\.gz"
    ):
        count_hotspots(main_cram, PANEL, reference=copy)


def test_cram_with_other_build_reference_is_an_error(main_cram, tmp_path):
    small = tmp_path / "other.fa"
    small.write_text(">6\nACGT\n")
    pysam.faidx(str(small))
    with pytest.raises(ReferenceFastaError, match=r"^other\.fa: has no contig chr6 \(found: 6\)"):
        count_hotspots(main_cram, PANEL, reference=small)


def test_cram_with_wrong_length_reference_is_an_error(main_cram, tmp_path):
    short = tmp_path / "short.fa"
    short.write_text(">chr6\nACGT\n")
    pysam.faidx(str(short))
    with pytest.raises(
        ReferenceFastaError, match=r"chr6 is 4 bp but the CRAM header says 170,805,979"
    ):
        count_hotspots(main_cram, PANEL, reference=short)


def _reference_with_change(pos: int) -> Any:
    ref = esr1_reference(Build.GRCH38)
    segments = []
    for start, bases in ref.segments:
        if start <= pos < start + len(bases):
            k = pos - start
            bases = bases[:k] + ("A" if bases[k] != "A" else "C") + bases[k + 1 :]
        segments.append((start, bases))
    return dataclasses.replace(ref, segments=tuple(segments))


def test_cram_reference_with_other_bases_at_a_codon_is_an_error(main_cram, workdir):
    fasta = write_fasta(_reference_with_change(g(1610)), workdir / "codon_changed.fa.gz")
    with pytest.raises(ReferenceFastaError, match=r"reads TCT, but NM_000125\.4 has TAT there"):
        count_hotspots(main_cram, PANEL, reference=fasta)


def test_cram_reference_differing_under_the_reads_is_an_error(main_cram, workdir):
    # not at a codon, so only htslib's MD5 check on the slice can see it
    fasta = write_fasta(_reference_with_change(g(1600)), workdir / "flank_changed.fa.gz")
    with pytest.raises(
        AlignmentFormatError, match=r"does not match the one the CRAM was written with"
    ):
        count_hotspots(main_cram, PANEL, reference=fasta)


# ------------------------------------------------------------------ thresholds at the boundary


@pytest.mark.parametrize(
    "min_base_quality, y537s, low_quality",
    [
        (9, 17, 0),  # Q10 bases pass: the 4 both-mates-low fragments count as Y537S
        (10, 17, 0),  # at the floor: still usable
        (11, 13, 4),  # above: unusable
        (20, 13, 4),  # the default
    ],
)
def test_base_quality_floor_at_the_boundary(main_bam, min_base_quality, y537s, low_quality):
    counts = count_hotspots(main_bam, PANEL, min_base_quality=min_base_quality)
    codon = counts.codon_of("Y537S")
    assert counts["Y537S"].alt_count == y537s
    # the low-quality fragments show Y537S: marked, left out of x and n, and counted apart
    assert codon.unusable_reasons.get("low_base_quality@Y537S", 0) == low_quality
    assert counts["Y537S"].excluded_alt == low_quality
    assert counts["Y537S"].fields["min_base_quality"] == str(min_base_quality)


@pytest.mark.parametrize(
    "min_mapping_quality, s463p, filtered",
    [(9, 7, 0), (10, 7, 0), (11, 4, 6)],
)
def test_mapping_quality_floor_at_the_boundary(main_bam, min_mapping_quality, s463p, filtered):
    counts = count_hotspots(main_bam, PANEL, min_mapping_quality=min_mapping_quality)
    assert counts["S463P"].alt_count == s463p
    # the excluded reads show S463P: marked, and counted against a NOT_DETECTED
    assert counts.codon_of("S463P").filtered_reads.get("low_mapping_quality@S463P", 0) == filtered
    assert (
        counts["S463P"].excluded_alt == filtered // 2
    )  # reads are counted, excluded_alt: fragments


def test_base_quality_zero_still_rejects_n(main_bam):
    counts = count_hotspots(main_bam, PANEL, min_base_quality=0)
    assert counts.codon_of("E380Q").unusable_reasons == {"ambiguous_base": 1}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_base_quality": -1}, "min_base_quality must be 0-93"),
        ({"min_base_quality": 94}, "min_base_quality must be 0-93"),
        ({"min_mapping_quality": 255}, "min_mapping_quality must be 0-254"),
        ({"min_family_size": 0}, "min_family_size must be at least 1"),
        ({"build": "hg18"}, "unknown genome build 'hg18'"),
    ],
)
def test_bad_settings_are_config_errors(main_bam, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        count_hotspots(main_bam, PANEL, **kwargs)


def test_unsupported_hotspot_kind_is_a_config_error(main_bam):
    odd = dataclasses.replace(PANEL["D538G"], change=ProteinChange(538, 539, "delins", "DL", "G"))
    panel = Panel("odd", "1", "0", (odd,))
    with pytest.raises(ConfigError, match="D538G: read counting supports single-residue"):
        count_hotspots(main_bam, panel)


# ------------------------------------------------------------------ the two classification paths


def _exon8_region() -> _Region:
    (region,) = [r for r in _fetch_regions(_windows(PANEL, Build.GRCH38)) if len(r) == 3]
    return _Region(region, 20)


@settings(max_examples=300, deadline=None)
@given(
    bases=st.lists(st.sampled_from("ACGTN"), min_size=9, max_size=9),
    quals=st.lists(st.sampled_from([2, 10, 19, 20, 21, 37]), min_size=9, max_size=9),
    reference_bias=st.lists(st.booleans(), min_size=9, max_size=9),
)
def test_memoised_block_path_equals_the_general_path(bases, quals, reference_bias):
    """Reads aligned as one block use a memo; it must agree with the read-by-read rules."""
    region = _exon8_region()
    reference = esr1_reference(Build.GRCH38).seq(region.start0 + 1, region.end0)
    pairs = zip(reference, bases, reference_bias, strict=True)
    seq = "".join(r if keep else b for r, b, keep in pairs)
    qual_text = "".join(chr(q + 33) for q in quals)
    mask = qual_text.translate(region.quality_mask)
    fast = region.classes_of_span(seq + mask)
    general = region.classes_of_read(region.start0, region.end0, [(0, 9)], seq, qual_text, range(3))
    assert fast == general


# ------------------------------------------------------------------ samples and builds


@pytest.fixture(scope="session")
def two_sample_bam(workdir: Path) -> Path:
    ref = esr1_reference(Build.GRCH38)
    header = make_header(ref, (("rg1", "TUMOUR"), ("rg2", "NORMAL")))
    normal = {"RG": "rg2"}
    fragments = [
        *group("t_s", 5, 1609, edits=cod(537, "TCT")),
        *group("t_ref", 10, 1609),
        *group("n_s", 2, 1609, edits=cod(537, "TCT"), tags=normal),
        *group("n_ref", 20, 1609, tags=normal),
    ]
    return write_alignments(workdir / "two_samples.bam", fragments, ref, header=header)


def test_several_samples_need_a_choice(two_sample_bam):
    with pytest.raises(
        AlignmentFormatError, match=r"several samples \(NORMAL, TUMOUR\); choose one"
    ):
        count_hotspots(two_sample_bam, PANEL)


@pytest.mark.parametrize(
    "sample, x, n, other_sample_reads", [("TUMOUR", 5, 15, 44), ("NORMAL", 2, 22, 30)]
)
def test_sample_selects_its_read_groups(two_sample_bam, sample, x, n, other_sample_reads):
    counts = count_hotspots(two_sample_bam, PANEL, sample=sample)
    assert (counts["Y537S"].alt_count, counts["Y537S"].depth) == (x, n)
    assert counts.codon_of("Y537S").filtered_reads == {"other_sample": other_sample_reads}
    assert counts.sample_id == sample


def test_unknown_sample_lists_the_samples(two_sample_bam):
    with pytest.raises(
        AlignmentFormatError, match=r"sample 'X' not found \(found: NORMAL, TUMOUR\)"
    ):
        count_hotspots(two_sample_bam, PANEL, sample="X")


@pytest.fixture(scope="session")
def unlabelled_bam(workdir: Path) -> Path:
    """TUMOUR's rg1 (5 Y537S in 15), rg2 with no SM (4 Y537S in 6) and 3 pairs with no RG tag."""
    ref = esr1_reference(Build.GRCH38)
    header_dict = make_header(ref).to_dict()
    header_dict["RG"].append({"ID": "rg2", "PL": "ILLUMINA"})  # no SM
    header = pysam.AlignmentHeader.from_dict(header_dict)
    fragments = [
        *group("t_s", 5, 1609, edits=cod(537, "TCT")),
        *group("t_ref", 10, 1609),
        *group("u_s", 4, 1609, edits=cod(537, "TCT"), tags={"RG": "rg2"}),
        *group("u_ref", 2, 1609, tags={"RG": "rg2"}),
        *group("none", 3, 1609, tags={}),
    ]
    return write_alignments(workdir / "unlabelled.bam", fragments, ref, header=header)


@pytest.mark.parametrize("sample", [None, "TUMOUR"], ids=["sample-from-header", "sample-given"])
def test_read_groups_without_sm_are_left_out_and_named(unlabelled_bam, sample):
    """They were counted silently as TUMOUR's (no --sample) or dropped silently as another
    sample's (--sample TUMOUR): 4 Y537S fragments of nobody's read group made 9 of 21."""
    counts = count_hotspots(unlabelled_bam, PANEL, sample=sample)
    assert (counts["Y537S"].alt_count, counts["Y537S"].depth) == (5, 15)
    assert counts.codon_of("Y537S").filtered_reads == {"unlabelled_read_group": 18}
    assert counts.notices == (
        "unlabelled.bam: no sample name (@RG SM) for read group rg2 (12 reads at the hotspots); "
        "6 reads without a read group (RG tag): not counted as sample TUMOUR. If they are "
        "TUMOUR's reads, add --include-unlabelled-read-groups, or add SM to their @RG header "
        "lines (samtools reheader)",
    )
    assert counts.settings["read_groups"] == "rg1"
    assert counts.settings["unlabelled_read_groups"] == "not counted"


def test_read_groups_without_sm_are_counted_when_asked(unlabelled_bam):
    counts = count_hotspots(unlabelled_bam, PANEL, include_unlabelled_read_groups=True)
    assert (counts["Y537S"].alt_count, counts["Y537S"].depth) == (9, 24)
    assert counts.codon_of("Y537S").filtered_reads == {}
    assert counts.notices == (
        "unlabelled.bam: no sample name (@RG SM) for read group rg2 (12 reads at the hotspots); "
        "6 reads without a read group (RG tag): counted as sample TUMOUR "
        "(--include-unlabelled-read-groups)",
    )
    assert counts.settings["read_groups"] == "rg1,rg2,(reads without RG)"


def test_a_bam_naming_no_sample_counts_every_read_without_a_notice(tmp_path):
    ref = esr1_reference(Build.GRCH38)
    header = pysam.AlignmentHeader.from_dict(
        {**make_header(ref).to_dict(), "RG": [{"ID": "rg1"}, {"ID": "rg2"}]}
    )
    fragments = [*group("a", 3, 1609), *group("b", 2, 1609, tags={"RG": "rg2"})]
    bam = write_alignments(tmp_path / "nameless.bam", fragments, ref, header=header)
    counts = count_hotspots(bam, PANEL)
    assert (counts.sample_id, counts["Y537S"].depth, counts.notices) == (None, 5, ())
    assert counts.settings["read_groups"] == "all"


def test_grch37_bam_with_contig_6_is_detected(tmp_path):
    ref = esr1_reference(Build.GRCH37)
    fragments = [
        *group("g", 3, 1613, build=Build.GRCH37, edits=(codon_edit(538, "GGC", Build.GRCH37),)),
        *group("r", 7, 1613, build=Build.GRCH37),
    ]
    bam = write_alignments(tmp_path / "b37.bam", fragments, ref)
    counts = count_hotspots(bam, PANEL)
    assert (counts.build, counts.chrom) == (Build.GRCH37, "6")
    assert counts.build_evidence == "@SQ 6 LN:171115067"
    assert (counts["D538G"].alt_count, counts["D538G"].depth) == (3, 10)
    assert (
        counts["D538G"].place
        == f"b37.bam, 6:{g(1612, Build.GRCH37)}-{g(1614, Build.GRCH37)} (D538)"
    )


def _bam_with_header(path: Path, **header_kwargs: Any) -> Path:
    ref = esr1_reference(Build.GRCH38)
    header = make_header(ref, **header_kwargs)
    return write_alignments(path, group("r", 2, 1609), ref, header=header)


@pytest.mark.parametrize("length", [150, 149_517_037], ids=["test-contig", "mouse-mm9"])
@pytest.mark.parametrize("build", [None, "GRCh38"], ids=["no-build", "build-given"])
def test_chr6_of_neither_build_is_refused_even_with_a_build(tmp_path, length, build):
    """A header whose chr6 is a 150 bp test contig or mouse chr6 is another genome: it was read
    with --build GRCh38 (as 11 NO_COVERAGE calls); the VCF reader refuses the same header."""
    bam = _bam_with_header(tmp_path / "odd.bam", contig_length=length)
    given = "" if build is None else " (the build option, GRCh38, cannot change that)"
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(bam, PANEL, build=build)
    assert str(caught.value) == (
        f"odd.bam: @SQ chr6 has length {length:,}, which is neither GRCh37 (171,115,067) nor "
        f"GRCh38 (170,805,979){given}; esr1calls supports alignments to GRCh37 and GRCh38: "
        "align the reads to one of them"
    )


def test_build_contradicting_the_header_is_an_error(main_bam):
    with pytest.raises(AlignmentFormatError, match=r"which is GRCh38, but build GRCh37 was given"):
        count_hotspots(main_bam, PANEL, build=Build.GRCH37)
    assert count_hotspots(main_bam, PANEL, build="hg38").build is Build.GRCH38


def test_no_chr6_contig_is_an_error(tmp_path):
    ref = esr1_reference(Build.GRCH38, contig="chr1")
    bam = write_alignments(tmp_path / "chr1.bam", group("r", 1, 1609), ref)
    with pytest.raises(
        AlignmentFormatError, match=r"^chr1\.bam: no chr6 or 6 contig in the header"
    ):
        count_hotspots(bam, PANEL)


# ------------------------------------------------------------------ unreadable inputs


def test_missing_index_is_an_error_with_the_fix(tmp_path):
    ref = esr1_reference(Build.GRCH38)
    bam = write_alignments(tmp_path / "x.bam", group("r", 1, 1609), ref, index=False)
    with pytest.raises(
        AlignmentFormatError, match=r"^x\.bam: no index .* run: samtools index x\.bam$"
    ):
        count_hotspots(bam, PANEL)
    assert not Path(f"{bam}.bai").exists()  # never written behind the user's back


def _unsorted_bam(path: Path, order: str | None) -> Path:
    """Exon 8 reads written as an aligner leaves them (E380's after exon 8's), with ``@HD SO``
    set to ``order`` (None: no SO, as ``bwa mem | samtools view -b`` writes)."""
    ref = esr1_reference(Build.GRCH38)
    header_dict = make_header(ref).to_dict()
    header_dict["HD"] = {"VN": "1.6", **({} if order is None else {"SO": order})}
    header = pysam.AlignmentHeader.from_dict(header_dict)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for fragments in (group("x8", 3, 1609), group("e380", 3, 1138)):
            reads = [r for f in fragments for r in fragment_reads(f, header, ref)]
            for read in sorted(reads, key=lambda r: r.reference_start):
                out.write(read)
    return path


@pytest.mark.parametrize(
    "order, why",
    [
        ("queryname", "@HD SO:queryname"),
        ("unsorted", "@HD SO:unsorted"),
        (None, f"chr6:{g(1138) - 62:,} comes after chr6:{g(1609) - 60 + 50:,}"),
        ("coordinate", f"chr6:{g(1138) - 62:,} comes after chr6:{g(1609) - 60 + 50:,}"),
    ],
    ids=["queryname", "unsorted", "no-order", "order-claimed"],
)
def test_unsorted_bam_names_sorting_not_indexing(tmp_path, order, why):
    """samtools index fails on an unsorted BAM, so 'run: samtools index' was the wrong fix."""
    bam = _unsorted_bam(tmp_path / "aligned.bam", order)
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(bam, PANEL)
    assert str(caught.value) == (
        f"aligned.bam: is not sorted by coordinate ({why}), so it cannot be indexed; sort it, "
        "then index the sorted file: samtools sort -o aligned.sorted.bam aligned.bam && "
        "samtools index aligned.sorted.bam"
    )
    failed = subprocess.run(["samtools", "index", str(bam)], capture_output=True, check=False)
    assert failed.returncode != 0  # the fix the old message gave fails
    fixed = tmp_path / "aligned.sorted.bam"
    subprocess.run(["samtools", "sort", "-o", str(fixed), str(bam)], check=True)
    subprocess.run(["samtools", "index", str(fixed)], check=True)
    assert count_hotspots(fixed, PANEL)["D538G"].depth == 3  # the fix the message gives works


def test_unsorted_bam_beside_another_files_index_names_sorting(main_bam, tmp_path):
    bam = _unsorted_bam(tmp_path / "aligned.bam", "queryname")
    Path(f"{bam}.bai").write_bytes(Path(f"{main_bam}.bai").read_bytes())
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(bam, PANEL)
    assert str(caught.value) == (
        "aligned.bam: is not sorted by coordinate (@HD SO:queryname), and its index is another "
        "file's; sort it, then index the sorted file: samtools sort -o aligned.sorted.bam "
        "aligned.bam && samtools index aligned.sorted.bam"
    )


def test_records_out_of_order_behind_an_index_are_an_error(tmp_path):
    """Two records swapped after indexing (same sizes, so the old index still finds them): the
    fetch returns them out of order, which no sorted, indexed file does."""
    ref = esr1_reference(Build.GRCH38)
    header = make_header(ref)
    fragments = [Fragment(f"f{i}", around(1609, 60 + i), 150, tags=RG) for i in range(2)]
    reads = sorted(
        (r for f in fragments for r in fragment_reads(f, header, ref)),
        key=lambda r: r.reference_start,
    )
    sorted_bam = _write(tmp_path / "sorted.bam", header, reads)
    swapped = tmp_path / "swapped.bam"
    with pysam.AlignmentFile(str(swapped), "wb", header=header) as out:
        for read in [reads[1], reads[0], *reads[2:]]:
            out.write(read)
    Path(f"{swapped}.bai").write_bytes(Path(f"{sorted_bam}.bai").read_bytes())
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(swapped, PANEL)
    assert str(caught.value) == (
        f"swapped.bam, chr6:{g(1606)}-{g(1614)}: records are out of coordinate order: the file "
        "is not sorted, or its index was made for another file; sort it, then index the sorted "
        "file: samtools sort -o swapped.sorted.bam swapped.bam && samtools index "
        "swapped.sorted.bam"
    )


def test_unaligned_bam_says_align_it_not_check_sq(tmp_path):
    path = tmp_path / "unaligned.bam"
    header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6"}, "RG": [{"ID": "a", "SM": "S"}]})
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        read = pysam.AlignedSegment(header)
        read.query_name, read.flag, read.query_sequence = "r1", 0x4, "ACGT"
        out.write(read)
    pysam.index(str(path))
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(path, PANEL)
    assert str(caught.value) == (
        "unaligned.bam: the header has no @SQ lines, so the reads are not aligned (an unaligned "
        "BAM?); align them to GRCh37 or GRCh38 first"
    )


@pytest.mark.parametrize("index", [b"", b"not an index\n"], ids=["empty", "garbage"])
def test_an_unreadable_index_is_named_as_such(main_bam, tmp_path, index):
    """A damaged .bai beside the BAM was reported as 'no index found'."""
    bam = tmp_path / "x.bam"
    bam.write_bytes(main_bam.read_bytes())
    Path(f"{bam}.bai").write_bytes(index)
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(bam, PANEL)
    assert str(caught.value) == (
        "x.bam: its index x.bam.bai cannot be read (damaged, or not an index); make it again: "
        "samtools index x.bam"
    )


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(AlignmentFormatError, match=r"^nothing\.bam: file not found$"):
        count_hotspots(tmp_path / "nothing.bam", PANEL)


def test_text_file_is_not_a_bam(tmp_path):
    path = tmp_path / "notes.bam"
    path.write_text("hello\n")
    with pytest.raises(AlignmentFormatError, match=r"^notes\.bam: "):
        count_hotspots(path, PANEL)


def _copy_with_index(bam: Path, target: Path, data: bytes) -> Path:
    target.write_bytes(data)
    Path(f"{target}.bai").write_bytes(Path(f"{bam}.bai").read_bytes())
    return target


def test_truncated_bam_is_an_error(main_bam, tmp_path):
    data = main_bam.read_bytes()
    bam = _copy_with_index(main_bam, tmp_path / "cut.bam", data[: len(data) // 2])
    with pytest.raises(AlignmentFormatError) as caught:
        count_hotspots(bam, PANEL)
    assert str(caught.value) == (
        "cut.bam: not a readable BAM or CRAM file (no BGZF EOF marker; file may be truncated); "
        "the file is cut short: copy it again, or re-run the step that wrote it"
    )


@pytest.mark.parametrize("where", [0.3, 0.9])
def test_corrupt_block_is_a_clean_error_not_a_close_failure(main_bam, tmp_path, where):
    # a damaged block with the EOF marker intact: htslib fails while reading, then its close
    # fails too; the user must see the read error, with the region
    data = bytearray(main_bam.read_bytes())
    at = int(len(data) * where)
    data[at : at + 64] = bytes(64)
    bam = _copy_with_index(main_bam, tmp_path / "bad.bam", bytes(data))
    with pytest.raises(
        AlignmentFormatError,
        match=r"^bad\.bam, chr6:\d+-\d+: cannot decode reads .* truncated or corrupt, or its "
        r"index was made for another file \(copy the file again, or re-index it: samtools index "
        r"bad\.bam\)$",
    ):
        count_hotspots(bam, PANEL)


def test_sam_text_must_be_converted(tmp_path):
    ref = esr1_reference(Build.GRCH38)
    header = make_header(ref)
    path = tmp_path / "reads.sam"
    with pysam.AlignmentFile(str(path), "w", header=header) as out:
        for fragment in group("r", 1, 1609):
            for read in fragment_reads(fragment, header, ref):
                out.write(read)
    with pytest.raises(AlignmentFormatError, match=r"SAM text cannot be queried by region"):
        count_hotspots(path, PANEL)


# ------------------------------------------------------------------ mates named /1 and /2


def _suffixed_fragments(suffixes: bool) -> list[Fragment]:
    """20 overlapping pairs over exon 8 (5 D538G, 2 of them F2R1) and 3 Y537S pairs at MAPQ 5."""
    d538g = cod(538, "GGC")
    return [
        *group("ref", 15, 1609, reverse=7, mate_suffixes=suffixes),
        *group("mut", 5, 1609, reverse=2, edits=d538g, mate_suffixes=suffixes),
        *group("lowmq", 3, 1609, edits=cod(537, "TCT"), mapq=5, mate_suffixes=suffixes),
    ]


@pytest.mark.parametrize("umi", [False, True], ids=["fragments", "molecules"])
def test_mates_named_with_suffixes_are_one_fragment(tmp_path, umi):
    """Older aligners keep /1 and /2 on mate names: the pair is still one fragment (it was two,
    doubling n and x), and a low-MAPQ pair showing Y537S is one excluded fragment, not two."""
    ref = esr1_reference(Build.GRCH38)
    tagged = [
        dataclasses.replace(f, tags={**f.tags, "MI": f.name}) if umi else f
        for f in _suffixed_fragments(True)
    ]
    plain = [dataclasses.replace(f, mate_suffixes=False) for f in tagged]
    with_suffixes = write_alignments(tmp_path / "suffixed.bam", tagged, ref)
    without = write_alignments(tmp_path / "plain.bam", plain, ref)
    names = {r.query_name[-2:] for r in pysam.AlignmentFile(str(with_suffixes))}
    assert names == {"/1", "/2"}
    counts = count_hotspots(with_suffixes, PANEL, umi=umi)
    d538g = counts["D538G"]
    assert (d538g.alt_count, d538g.depth) == (5, 20)
    assert (d538g.alt_forward, d538g.alt_reverse) == (3, 2)
    assert counts["Y537S"].excluded_alt == 3
    assert counts.codons == count_hotspots(without, PANEL, umi=umi).codons


def _pair(header: Any, names: tuple[str, str], *, r2_mate_start: int | None = None) -> list[Any]:
    """One overlapping D538G pair over exon 8, its records renamed (and read 2's mate position
    moved, to point elsewhere)."""
    fragment = Fragment("p", around(1609, 60), 150, edits=cod(538, "GGC"), tags=RG)
    reads = fragment_reads(fragment, header, esr1_reference(Build.GRCH38))
    for read, name in zip(reads, names, strict=True):
        read.query_name = name
    if r2_mate_start is not None:
        reads[1].next_reference_start = r2_mate_start - 1  # pysam is 0-based
    return reads


def _write(path: Path, header: Any, reads: list[Any]) -> Path:
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for read in sorted(reads, key=lambda r: r.reference_start):
            out.write(read)
    pysam.index(str(path))
    return path


@pytest.mark.parametrize(
    "names, r2_mate_start, n",
    [
        (("t/1", "t/2"), None, 1),  # the suffixes name each record's own mate: one fragment
        (("t/2", "t/1"), None, 2),  # read 1 named /2: not a mate suffix, two names
        (("a/1", "b/2"), None, 2),  # different names, pointing at each other: still two
        (("w", "w/2"), None, 2),  # one named without a suffix: never joined to one with it
        (("t_1", "t_2"), None, 2),  # only /1 and /2 are mate suffixes
        (("t/1", "t/2"), g(1500), 2),  # read 2's mate is elsewhere: not read 1's mate
    ],
    ids=["mates", "swapped", "other-name", "bare-name", "underscore", "mate-elsewhere"],
)
def test_a_mate_suffix_joins_only_the_records_of_one_pair(tmp_path, names, r2_mate_start, n):
    header = make_header(esr1_reference(Build.GRCH38))
    bam = _write(tmp_path / "pair.bam", header, _pair(header, names, r2_mate_start=r2_mate_start))
    counts = count_hotspots(bam, PANEL)
    assert (counts["D538G"].alt_count, counts["D538G"].depth) == (n, n)


def test_unpaired_reads_keep_their_suffixed_names(tmp_path):
    header = make_header(esr1_reference(Build.GRCH38))
    reads = _pair(header, ("s/1", "s/2"))
    for read in reads:
        read.flag = read.flag & 0x10  # single-end records: only the strand stays
        read.next_reference_id, read.next_reference_start = -1, -1
    bam = _write(tmp_path / "single.bam", header, reads)
    assert count_hotspots(bam, PANEL)["D538G"].depth == 2


# ------------------------------------------------------------------ duplicates


@pytest.mark.parametrize(
    "program, kind",
    [
        ({"ID": "MarkDuplicates", "PN": "MarkDuplicates", "CL": "MarkDuplicates INPUT=[a.bam]"},
         "marking"),
        ({"ID": "picard", "CL": "java -jar /opt/picard.jar MarkDuplicates I=a.bam O=b.bam"},
         "marking"),
        ({"ID": "GATK MarkDuplicatesSpark", "CL": "gatk MarkDuplicatesSpark -I a.bam"}, "marking"),
        ({"ID": "samtools.3", "PN": "samtools", "CL": "samtools markdup -r s.bam m.bam"},
         "marking"),
        ({"ID": "sambamba", "CL": "markdup -t 8 in.bam out.bam"}, "marking"),
        ({"ID": "bammarkduplicates2", "PN": "bammarkduplicates2"}, "marking"),
        ({"ID": "SAMBLASTER", "CL": "samblaster -i a.sam"}, "marking"),
        ({"ID": "sentieon", "CL": "sentieon driver -t 8 -i a.bam --algo Dedup d.bam"}, "marking"),
        ({"ID": "umi_tools", "PN": "umi_tools", "CL": "umi_tools dedup -I a.bam"}, "marking"),
        ({"ID": "fgbio.CallMolecularConsensusReads"}, "marking"),
        ({"ID": "gencore", "CL": "gencore -i a.bam -o b.bam -r hg38.fa"}, "marking"),
        ({"ID": "dragen", "CL": "dragen -r ref --enable-duplicate-marking true"}, "marking"),
        ({"ID": "fgbio", "CL": "fgbio GroupReadsByUmi -i a.bam -o g.bam"}, "grouping"),
        ({"ID": "umi_tools", "CL": "umi_tools group -I a.bam --output-bam"}, "grouping"),
        # names that only look like it: a file name, another tool, dragen without marking
        ({"ID": "samtools", "CL": "samtools view -b x.markdup.bam -o dedup_done.bam"}, "neither"),
        ({"ID": "bwa", "PN": "bwa", "CL": "bwa mem -R @RG\\tID:dedup ref.fa r1.fq"}, "neither"),
        ({"ID": "dragen", "CL": "dragen --enable-duplicate-marking false"}, "neither"),
        ({"ID": "picard", "CL": "java -jar picard.jar SortSam I=a.bam O=b.bam"}, "neither"),
    ],
)  # fmt: skip
def test_duplicate_programs_are_matched_by_tool_not_file_name(program, kind):
    marking, grouping = duplicate_programs({"PG": [program]})
    found = "marking" if marking else "grouping" if grouping else "neither"
    assert found == kind


def _duplicate_test_bam(path: Path, n: int, programs: Sequence[Any] = (), **kwargs: Any) -> Path:
    """``n`` exon 8 pairs at distinct starts (one duplicate-flagged pair with ``flagged``)."""
    ref = esr1_reference(Build.GRCH38)
    flagged = kwargs.pop("flagged", 0)
    fragments = [
        Fragment(f"f{i}", around(1609, 50 + i % 40), 150 + i // 40, tags=RG) for i in range(n)
    ]
    if flagged:  # a secondary alignment flagged duplicate too: the flag is what counts
        fragments.append(Fragment("dup", around(1609, 50), 150, tags=RG, flags=flagged))
    header = make_header(ref, programs=programs)
    return write_alignments(path, fragments, ref, header=header)


@pytest.mark.parametrize(
    "n, programs, kwargs, state",
    [
        (1_000, (MARKDUP_PG,), {}, DuplicateState.MARKED),  # the @PG line says so
        (1_000, (), {"flagged": DUPLICATE}, DuplicateState.MARKED),  # a duplicate flag says so
        (1_000, (), {"flagged": DUPLICATE | SECONDARY}, DuplicateState.MARKED),
        (1_000, (), {}, DuplicateState.UNMARKED),  # neither, at 1,000 fragments
        (999, (), {}, DuplicateState.NOT_PRESUMED),  # ... and just below
        (1_000, (), {"reads_are_molecules": True}, DuplicateState.DECLARED),
        (1_000, (MARKDUP_PG,), {"reads_are_molecules": True}, DuplicateState.MARKED),
    ],
    ids=[
        "program",
        "flag",
        "flag-on-secondary",
        "unmarked",
        "below-threshold",
        "declared",
        "marked-and-declared",
    ],
)
def test_duplicate_state_comes_from_programs_flags_and_depth(tmp_path, n, programs, kwargs, state):
    flagged = kwargs.pop("flagged", 0)
    bam = _duplicate_test_bam(tmp_path / "d.bam", n, programs, flagged=flagged)
    counts = count_hotspots(bam, load_panel(names=["Y537S"]), **kwargs)
    assert counts.duplicates is not None
    assert counts.duplicates.state is state
    assert counts.duplicates.deepest == n
    assert counts.duplicates.amplicon is False
    assert counts.settings["duplicates"] == state.value


def test_umi_counting_is_its_own_duplicate_state(umi_bam):
    duplicates = count_hotspots(umi_bam, PANEL, umi=True).duplicates
    assert duplicates is not None and duplicates.state is DuplicateState.UMI
    as_fragments = count_hotspots(umi_bam, PANEL).duplicates
    assert as_fragments is not None and as_fragments.molecule_tags == ("MI", "UG", "cD")


def test_coordinates_count_the_molecules_behind_alt_fragments(tmp_path):
    """Reads of one molecule share its coordinates, whatever their names and soft clips."""
    ref = esr1_reference(Build.GRCH38)
    s = cod(537, "TCT")
    fragments = [
        # molecule A read 4 times as pairs, molecule B twice, C once (another end, same start)
        *[Fragment(f"a{i}", around(1609, 60), 150, edits=s, tags=RG) for i in range(4)],
        *[Fragment(f"b{i}", around(1609, 70), 150, edits=s, tags=RG) for i in range(2)],
        Fragment("c", around(1609, 60), 160, edits=s, tags=RG),
        # molecule D (F2R1) at A's start and end: another molecule to a duplicate marker
        Fragment("d", around(1609, 60), 150, edits=s, r1_reverse=True, tags=RG),
        # single reads: E twice, the second soft-clipped over its first 5 bases; F on the
        # reverse strand with E's start
        Fragment("e0", around(1609, 40), 100, edits=s, paired=False, tags=RG),
        Fragment("e1", around(1609, 40), 100, edits=s, paired=False, clip_r1=5, tags=RG),
        Fragment("f", around(1609, 40), 100, edits=s, paired=False, r1_reverse=True, tags=RG),
        *[Fragment(f"r{i}", around(1609, 50 + i), 150, tags=RG) for i in range(5)],
    ]
    header = make_header(ref, programs=())  # unmarked: where marking is known, none are kept
    bam = write_alignments(tmp_path / "coords.bam", fragments, ref, header=header)
    coordinates = count_hotspots(bam, PANEL).codon_of("Y537S").coordinates
    assert coordinates is not None
    assert coordinates.alt_distinct == {"Y537C": 0, "Y537N": 0, "Y537S": 6}  # A B C D E F
    assert (coordinates.fragments, coordinates.distinct) == (16, 11)  # 11 alt + 5 reference
    assert coordinates.top_share == pytest.approx((4 + 2 + 2 + 1) / 16)
    assert count_hotspots(bam, PANEL).codon_of("Y537S").as_dict()["coordinates"] == {
        "fragments": 16, "distinct": 11, "top_share": round(9 / 16, 4),
        "alt_distinct": {"Y537C": 0, "Y537N": 0, "Y537S": 6},
    }  # fmt: skip
    marked = write_alignments(tmp_path / "marked.bam", fragments, ref)  # samtools markdup @PG
    assert count_hotspots(marked, PANEL).codon_of("Y537S").coordinates is None


# ------------------------------------------------------------------ UMI


def consensus(name: str, c_pos: int, family: int, *, reverse: bool = False, **kw: Any) -> Fragment:
    tags = {**RG, "MI": name, "cD": family, "cM": max(1, family - 1)}
    tags.update(kw.pop("extra_tags", {}))
    return Fragment(f"c{name}", around(c_pos, 61), 150, r1_reverse=reverse, tags=tags, **kw)


def raw(name: str, molecule: Any, c_pos: int, tag: str = "MI", **kw: Any) -> Fragment:
    return Fragment(name, around(c_pos, 62), 150, tags={**RG, tag: molecule}, **kw)


def umi_fragments() -> list[Fragment]:
    s, c = cod(537, "TCT"), cod(537, "TGT")
    return [
        # fgbio consensus reads: one fragment per molecule, family size in cD
        *[consensus(f"{i}", 1609, 5, edits=s) for i in range(3)],  # Y537S, family 5
        *[consensus(f"{10 + i}", 1609, 3) for i in range(10)],  # reference, family 3
        consensus("50", 1609, 1, edits=s),  # singleton consensus, F1R2
        consensus("51", 1609, 1, edits=s, reverse=True),  # singleton consensus, F2R1
        # duplex consensus seen on both strands (aD, bD >= 1): D538G on both strands
        consensus("20", 1609, 5, edits=cod(538, "GGC"), extra_tags={"aD": 2, "bD": 3}),
        # the two single-strand consensuses of one duplex molecule: one molecule, family 5
        consensus("30/A", 1609, 3, edits=s),
        consensus("30/B", 1609, 2, edits=s, reverse=True),
        # ... and of one whose strands disagree
        consensus("31/A", 1609, 2, edits=s),
        consensus("31/B", 1609, 2, reverse=True),
        # raw reads grouped by fgbio GroupReadsByUmi (MI) and umi_tools group (UG)
        *[raw(f"m40_{i}", "40", 1609, edits=c) for i in range(3)],  # 3 agree: Y537C
        *[raw(f"m41_{i}", "41", 1609, edits=c) for i in range(2)],  # 2 of 3: Y537C
        raw("m41_2", "41", 1609),
        raw("m42_0", "42", 1609, edits=c),  # 1 against 1: no majority
        raw("m42_1", "42", 1609),
        *[raw(f"u7_{i}", 7, 1609, tag="UG") for i in range(2)],  # umi_tools group 7
        # consensus mates with different cD: the family is the larger, 3
        Fragment(
            "c60",
            around(1609, 61),
            150,
            tags={**RG, "MI": "60"},
            r1_tags={"cD": 3},
            r2_tags={"cD": 2},
        ),
    ]


@pytest.fixture(scope="session")
def umi_bam(workdir: Path) -> Path:
    return write_alignments(workdir / "umi.bam", umi_fragments(), esr1_reference(Build.GRCH38))


@pytest.mark.parametrize(
    "min_family_size, y537s, reference, small, disagree",
    [
        # S: 3 + 2 singletons + molecule 30; ref: 10 + UG 7 + duplex D538G + MI 60
        (1, 6, 13, 0, 2),
        (2, 4, 13, 2, 2),  # the two singletons drop out
        (3, 4, 12, 4, 1),  # and the families of 2 (UG 7, MI 42); MI 60 is 3, not 2
    ],
)
def test_umi_counts_molecules(umi_bam, min_family_size, y537s, reference, small, disagree):
    counts = count_hotspots(umi_bam, PANEL, umi=True, min_family_size=min_family_size)
    codon = counts.codon_of("Y537S")
    assert counts.unit == codon.unit == "molecules"
    assert counts["Y537S"].alt_count == y537s
    assert counts["Y537C"].alt_count == 2  # MI 40 and 41
    assert codon.reference == reference
    assert codon.unusable_reasons.get("small_family", 0) == small
    assert codon.unusable_reasons.get("family_disagrees", 0) == disagree
    assert counts["Y537S"].depth == y537s + reference + 2
    assert counts["Y537S"].fields["min_family_size"] == str(min_family_size)


def test_umi_family_sizes_and_strands(umi_bam):
    counts = count_hotspots(umi_bam, PANEL, umi=True)
    assert counts.codon_of("Y537S").family_sizes == {1: 2, 2: 2, 3: 13, 4: 1, 5: 5}
    # Y537S molecules: 3 F1R2, singletons one per strand, molecule 30 seen on both strands
    assert (counts["Y537S"].alt_forward, counts["Y537S"].alt_reverse) == (5, 2)
    # the duplex consensus read counts on both strands, once in x
    d538g = counts["D538G"]
    assert (d538g.alt_count, d538g.alt_forward, d538g.alt_reverse) == (1, 1, 1)


def test_umi_bam_counted_as_fragments_without_umi(umi_bam):
    counts = count_hotspots(umi_bam, PANEL)
    assert counts.unit == "fragments"
    # consensus fragments 3 + 2 + 2 (30/A, 30/B) + 1 (31/A): 8 Y537S fragments
    assert counts["Y537S"].alt_count == 8


def test_umi_without_molecule_tags_is_an_error(main_bam):
    with pytest.raises(
        AlignmentFormatError, match=r"has no MI or UG molecule tag; is this a UMI BAM"
    ):
        count_hotspots(main_bam, PANEL, umi=True)


def test_umi_with_ungrouped_barcodes_says_group_first(tmp_path):
    ref = esr1_reference(Build.GRCH38)
    bam = write_alignments(tmp_path / "bx.bam", [raw("b0", "ACGTACGT", 1609, tag="BX")], ref)
    with pytest.raises(AlignmentFormatError, match=r"not grouped: run fgbio GroupReadsByUmi"):
        count_hotspots(bam, PANEL, umi=True)


# ------------------------------------------------------------------ concordance with bcftools


def mpileup(bam: Path, fasta: Path, positions: Sequence[int]) -> dict[int, Any]:
    """bcftools mpileup AD/ADF/ADR at ``positions``, with the same read and base filters."""
    regions = ",".join(f"chr6:{p}-{p}" for p in positions)
    vcf = subprocess.run(
        ["bcftools", "mpileup", "-f", str(fasta), "-r", regions, "-a", "AD,ADF,ADR", "-B",
         "-Q", "20", "-q", "20", "-d", "100000",
         "--ns", "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY", str(bam)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    out = {}
    for line in vcf.splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        keys, values = fields[8].split(":"), fields[9].split(":")
        sample = dict(zip(keys, values, strict=True))
        alleles = [fields[3], *fields[4].split(",")]
        out[int(fields[1])] = {
            key: dict(zip(alleles, map(int, sample[key].split(",")), strict=True))
            for key in ("AD", "ADF", "ADR")
        }
    return out


def concordance_fragments(paired: bool) -> list[Fragment]:
    """Clean molecules mpileup and esr1calls must count alike, plus the MNV cases.

    Single reads of 100 bp, or 150 bp fragments whose two mates both cover the codons.
    """
    length, offset = (150, 60) if paired else (100, 40)
    fragments = []

    def add(prefix: str, n: int, c_pos: int, edits: tuple[Edit, ...] = (), rev: int = 0) -> None:
        for i in range(n):
            start = around(c_pos, offset + i % 5)
            fragments.append(
                Fragment(f"{prefix}{i}", start, length, edits=edits, paired=paired,
                         r1_reverse=i < rev, tags=RG)
            )  # fmt: skip

    add("e_ref", 40, 1138, rev=17)
    add("e_q", 6, 1138, cod(380, "CAA"), rev=2)
    add("s_ref", 30, 1387, rev=11)
    add("s_p", 5, 1387, cod(463, "CCC"), rev=3)
    add("x_ref", 60, 1609, rev=29)
    add("l_h", 4, 1609, cod(536, "CAC"), rev=1)
    add("l_p", 5, 1609, cod(536, "CCC"), rev=2)
    add("l_r", 3, 1609, cod(536, "CGC"))
    add("l_q", 6, 1609, cod(536, "CAG"), rev=3)  # MNV: mpileup sees an A at c.1607
    add("y_c", 7, 1609, cod(537, "TGT"), rev=4)
    add("y_n", 5, 1609, cod(537, "AAT"), rev=1)
    add("y_s", 8, 1609, cod(537, "TCT"), rev=5)
    add("y_t", 2, 1609, cod(537, "ACT"))  # double, F1R2: an A at c.1609 and a C at c.1610
    if not paired:  # reads ending exactly on the codon's last base, or starting on its first
        fragments.append(Fragment("y_end", g(1611) - 99, 100, edits=cod(537, "TCT"),
                                  paired=False, tags=RG))  # fmt: skip
        fragments.append(Fragment("y_start", g(1609), 100, edits=cod(537, "TCT"),
                                  paired=False, r1_reverse=True, tags=RG))  # fmt: skip
    add("d_g", 9, 1609, cod(538, "GGC"), rev=4)
    fragments.extend(group("dups", 3, 1609, edits=cod(538, "GGC"), flags=DUPLICATE))
    return fragments


@pytest.mark.slow
@pytest.mark.parametrize("paired", [False, True], ids=["single-reads", "overlapping-mates"])
def test_bcftools_mpileup_agrees_on_snv_hotspots(workdir, fasta38, paired):
    """Real bcftools on the same BAM: equal x, n and strands wherever a VCF can say it.

    mpileup counts bases, not codons, so it cannot express the L536Q MNV or the Y537T double
    change: their reads add to the L536H, Y537N and Y537S sites. The test asserts exactly that.
    With overlapping mates, htslib's overlap removal also counts a fragment once.
    """
    ref = esr1_reference(Build.GRCH38)
    bam = write_alignments(workdir / f"concord_{paired}.bam", concordance_fragments(paired), ref)
    counts = count_hotspots(bam, PANEL)
    y537t = counts.codon_of("Y537S").other_changes["Y537T"]
    assert (counts["L536H"].alt_count, counts["L536Q"].alt_count, y537t) == (4, 6, 2)
    # (extra alt reads, extra forward reads) mpileup adds at each SNV site
    unphased = {
        "L536H": (counts["L536Q"].alt_count, counts["L536Q"].alt_forward),
        "Y537N": (y537t, y537t),
        "Y537S": (y537t, y537t),
    }
    snvs = [h for h in PANEL if len(h.ref) == len(h.alt) == 1]
    pileup = mpileup(bam, fasta38, sorted({h.pos(Build.GRCH38) for h in snvs}))
    for hotspot in snvs:
        site, ours = pileup[hotspot.pos(Build.GRCH38)], counts[hotspot.name]
        extra_x, extra_forward = unphased.get(hotspot.name, (0, 0))
        assert sum(site["AD"].values()) == ours.depth, hotspot.name
        assert site["AD"][hotspot.alt] == ours.alt_count + extra_x, hotspot.name
        if not paired:  # a single read's strand is its fragment's strand
            assert site["ADF"][hotspot.alt] == ours.alt_forward + extra_forward, hotspot.name
            assert site["ADR"][hotspot.alt] == ours.alt_reverse + extra_x - extra_forward
    assert pileup[g(1607)]["AD"]["A"] == 10  # what an SNV-only caller would call L536H


def test_read_classes_are_typed_and_keep_their_report_spelling():
    """A read's class at each codon window is a ReadClass, never a string to parse: Y537S read
    at full quality is the hotspot; the same bases below the floor are unusable, marked with
    the hotspot they would have shown, spelt as calls.json always spelt them."""
    region = _exon8_region()
    reference = esr1_reference(Build.GRCH38).seq(region.start0 + 1, region.end0)
    y537s = reference[:4] + "C" + reference[5:]  # TAT>TCT at codon 537
    good, poor = "I" * 9, "I" * 4 + "#" + "I" * 4  # Phred 40; the changed base at Phred 2
    window = range(len(region.windows))
    classes = region.classes_of_read(region.start0, region.end0, [(0, 9)], y537s, good, window)
    assert [str(c) for c in classes] == ["reference", "Y537S", "reference"]
    assert classes[1] == ReadClass(ClassKind.HOTSPOT, "Y537S") and classes[1].usable
    classes = region.classes_of_read(region.start0, region.end0, [(0, 9)], y537s, poor, window)
    low = classes[1]
    assert low == ReadClass(ClassKind.UNUSABLE, Unusable.LOW_BASE_QUALITY, showed="Y537S")
    assert not low.usable and low.hotspot_shown == "Y537S"
    assert str(low) == "unusable:low_base_quality@Y537S"
    assert str(ReadClass(ClassKind.OTHER, "Y537T")) == "other:Y537T"


def test_a_record_with_several_excluding_flags_is_filtered_for_the_first_of_them():
    """Every combination of the excluding flag bits (unmapped, secondary, supplementary, QC fail,
    duplicate), with any other bits set, gives the reason of its first bit in that order, as a
    loop over the flags in that order would; then MAPQ, then the read group."""
    for size in range(1, len(_EXCLUDED_FLAGS) + 1):
        for chosen in combinations(_EXCLUDED_FLAGS, size):
            flag = sum(bit for bit, _ in chosen) | 0x1 | 0x40 | 0x10  # paired, read 1, reverse
            assert _filter_reason(flag, 60, 20) == chosen[0][1], hex(flag)
    assert _filter_reason(0x1 | 0x40, 10, 20) == "low_mapping_quality"
    assert _filter_reason(0x1 | 0x40, 60, 20) == "other_sample"
    assert [name for _, name in _EXCLUDED_FLAGS] == [
        "unmapped", "secondary", "supplementary", "qc_fail", "duplicate"
    ]  # fmt: skip
