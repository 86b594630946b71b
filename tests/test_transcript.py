from __future__ import annotations

import pytest

from esr1calls.model import Build
from esr1calls.transcript import (
    OutsideCdsError,
    RefMismatchError,
    effect_of_cds_edit,
    effect_of_genomic_change,
    genomic_to_cds_edit,
    transcript,
    translate,
)


def test_cds_is_a_complete_orf_of_595_residues():
    tx = transcript()
    assert len(tx.cds) == 1788
    assert tx.protein.endswith("*") and tx.protein.count("*") == 1
    assert len(tx.protein) == 596


def test_lbd_residues_match_the_hotspot_names():
    protein = transcript().protein
    for residue in ("E380", "V422", "S463", "L469", "V534", "P535", "L536", "Y537", "D538"):
        assert protein[int(residue[1:]) - 1] == residue[0], residue
    assert protein[532:542] == "VVPLYDLLLE"  # c.1597-1626, the exon 8 hotspot stretch


@pytest.mark.parametrize("build", list(Build))
def test_exon_model_round_trips_every_coding_base(build):
    tx = transcript()
    for c_pos in range(1, len(tx.cds) + 1):
        assert tx.genomic_to_c(tx.c_to_genomic(c_pos, build), build) == c_pos


def test_builds_differ_by_a_constant_offset_in_the_cds():
    tx = transcript()
    offsets = {
        tx.c_to_genomic(c, Build.GRCH37) - tx.c_to_genomic(c, Build.GRCH38) for c in range(1, 1789)
    }
    assert offsets == {321_135}


def test_intronic_positions_map_to_no_c_position():
    tx = transcript()
    exon5_end = tx.exons[4].genomic_end(Build.GRCH38)
    assert tx.genomic_to_c(exon5_end, Build.GRCH38) == 1235
    assert tx.genomic_to_c(exon5_end + 1, Build.GRCH38) is None


@pytest.mark.parametrize(
    "pos, ref, alt, expected",
    [
        (152098785, "TC", "AG", ["L536Q"]),  # MNV
        (152098785, "TC", "AA", ["L536Q"]),  # the other Gln codon
        (152098785, "T", "A", ["L536H"]),
        (152098787, "TA", "AC", ["Y537T"]),  # two changes in one codon: neither N nor S
        (152098788, "ATGA", "CTGG", ["Y537S", "D538G"]),  # complex in-cis record
        (152061016, "ATGG", "A", ["V422del"]),  # left-aligned
        (152061017, "TGGT", "T", ["V422del"]),  # shifted one base
        (152061019, "GTGG", "G", ["V422del"]),  # 3' form with anchor
        (152061016, "ATGGTG", "ATG", ["V422del"]),  # padded representation
        (152098790, "GA", "GA", []),  # no change
        (152098786, "C", "T", []),  # synonymous CTC>CTT
        (152098791, "A", "AG", ["D538fs"]),
    ],
)
def test_genomic_changes_are_judged_by_their_codon_effect(pos, ref, alt, expected):
    assert [p.short for p in effect_of_genomic_change(pos, ref, alt, Build.GRCH38)] == expected


def test_ref_mismatch_names_the_expected_bases():
    with pytest.raises(RefMismatchError, match="expected A"):
        effect_of_genomic_change(152098791, "C", "G", Build.GRCH38)


def test_change_reaching_into_an_intron_has_no_codon_effect():
    tx = transcript()
    last = tx.exons[4].genomic_end(Build.GRCH38)
    with pytest.raises(OutsideCdsError):
        effect_of_genomic_change(last, tx.cds[1234] + "N", tx.cds[1234], Build.GRCH38)


def test_genomic_changes_map_to_the_cds_edit_or_to_none_outside_one_exon():
    tx = transcript()
    last = tx.exons[4].genomic_end(Build.GRCH38)  # c.1235, the last base of coding exon 5
    assert genomic_to_cds_edit(152098788, "ATGA", "CTGG", Build.GRCH38) == (1610, 1613, "CTGG")
    assert genomic_to_cds_edit(152098791, "A", "AG", Build.GRCH38) == (1614, 1613, "G")
    assert genomic_to_cds_edit(last - 1, "NN", "NC", Build.GRCH38) == (1235, 1235, "C")
    assert genomic_to_cds_edit(last, "NN", "CC", Build.GRCH38) is None  # reaches into the intron
    assert genomic_to_cds_edit(last, "N", "NG", Build.GRCH38) is None  # inserted in the intron


def test_insertion_effect_names_flanking_residues():
    (change,) = effect_of_cds_edit(1611, 1610, "GGC")  # in-frame insertion after c.1610
    assert change.kind in {"ins", "delins"}


def test_translate_marks_incomplete_codons():
    assert translate("ATGNNN") == "MX"
