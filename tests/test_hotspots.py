from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pysam
import pytest

from esr1calls import hotspots
from esr1calls.errors import ConfigError
from esr1calls.hotspots import HOTSPOTS, PANEL_COLUMNS, export_panel, load_panel
from esr1calls.model import Build
from esr1calls.testing import REPO
from esr1calls.transcript import THREE_LETTER, transcript, translate

DEFAULT_11 = (
    "E380Q", "V422del", "S463P", "L536H", "L536P", "L536R", "L536Q",
    "Y537C", "Y537N", "Y537S", "D538G",
)  # fmt: skip
EXTENDED_EXTRA = {"Y537D", "S463F", "L469V", "V534E", "P535H", "L549P", "K303R"}


def test_default_panel_is_the_designed_11_in_order():
    assert tuple(h.name for h in HOTSPOTS) == DEFAULT_11


def test_extended_catalog_adds_the_fda_claim_names():
    assert set(load_panel("extended").names) - set(DEFAULT_11) == EXTENDED_EXTRA


@pytest.mark.parametrize("hotspot", load_panel("extended").hotspots, ids=lambda h: h.name)
def test_every_entry_agrees_with_the_transcript(hotspot):
    tx = transcript()
    # REF at the c. position (SNV/MNV) and the codon change translates to the named residue
    codon_first = 3 * hotspot.aa_pos - 2
    ref_codon = tx.bases(codon_first, codon_first + 2)
    assert translate(ref_codon) == hotspot.name[0]
    assert THREE_LETTER[hotspot.name[0]] in hotspot.hgvs_p
    if not hotspot.is_deletion:
        alt_codon = list(ref_codon)
        for offset, base in enumerate(hotspot.alt):
            alt_codon[hotspot.c_start - codon_first + offset] = base
        assert tx.bases(hotspot.c_start, hotspot.c_end) == hotspot.ref
        assert translate("".join(alt_codon)) == hotspot.name[-1]
    # both builds agree with the exon model
    for build in Build:
        if not hotspot.is_deletion:
            assert tx.c_to_genomic(hotspot.c_start, build) == hotspot.pos(build)
        assert tx.genomic_to_c(hotspot.codon_start(build), build) == codon_first
    assert hotspot.pos_grch37 - hotspot.pos_grch38 == 321_135


def test_v422del_is_the_left_aligned_vcf_form():
    v422 = load_panel()["V422del"]
    assert (v422.pos_grch38, v422.ref, v422.alt) == (152061016, "ATGG", "A")
    assert v422.hgvs_c.endswith("c.1265_1267del")


def test_subset_keeps_panel_order_and_names_the_selection():
    panel = load_panel("default", ["D538G", "E380Q"])
    assert panel.names == ("E380Q", "D538G")
    assert "D538G" in panel.name


def test_unknown_hotspot_is_a_config_error_listing_known_names():
    with pytest.raises(ConfigError, match=r"unknown hotspot D538X.*known: E380Q"):
        load_panel("default", ["D538X"])


def _write_panel(tmp_path, rows, header=PANEL_COLUMNS):
    path = tmp_path / "lab_panel.tsv"
    path.write_text("\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows))
    return path


def test_lab_panel_in_the_same_shape_loads(tmp_path):
    path = _write_panel(tmp_path, [
        ["D538G", "NM_000125.4:c.1613A>G", "p.(Asp538Gly)", "152419926", "152098791", "A", "G"],
        ["Y537S", "c.1610A>C", "p.Tyr537Ser", "152419923", "152098788", "A", "C"],
    ])  # fmt: skip
    panel = load_panel(path)
    assert panel.names == ("D538G", "Y537S")
    assert panel.version.startswith("custom-")
    assert len(panel.sha256) == 64


@pytest.mark.parametrize(
    "row, message",
    [
        (
            ["D538G", "c.1613A>G", "p.(Asp538Gly)", "152419926", "152098791", "C", "G"],
            "REF C at 152419926 does not match",
        ),
        (["D538G", "c.1613A>G", "p.(Asp538Gly)", "152419927", "152098791", "A", "G"], "pos_grch37"),
        (
            ["D538N", "c.1613A>G", "p.(Asp538Asn)", "152419926", "152098791", "A", "G"],
            "gives D538G, not D538N",
        ),
        (
            ["D538G", "c.1613A>G", "p.(Asp538Ala)", "152419926", "152098791", "A", "G"],
            "does not match HGVS p",
        ),
        (
            ["D538G", "1613A>G", "p.(Asp538Gly)", "152419926", "152098791", "A", "G"],
            "cannot read HGVS c",
        ),
    ],
)
def test_bad_lab_panel_rows_are_precise_errors(tmp_path, row, message):
    path = _write_panel(tmp_path, [row])
    with pytest.raises(ConfigError, match=message) as info:
        load_panel(path)
    assert str(info.value).startswith("lab_panel.tsv, row 2 (D538")


def test_panel_missing_columns_lists_what_is_needed(tmp_path):
    path = _write_panel(tmp_path, [["D538G"]], header=("name",))
    with pytest.raises(ConfigError, match="missing column"):
        load_panel(path)


def test_duplicate_hotspot_in_lab_panel_is_refused(tmp_path):
    row = ["D538G", "c.1613A>G", "p.(Asp538Gly)", "152419926", "152098791", "A", "G"]
    with pytest.raises(ConfigError, match="listed twice"):
        load_panel(_write_panel(tmp_path, [row, row]))


@pytest.mark.parametrize("build", list(Build))
@pytest.mark.parametrize("chrom", ["chr6", "6"])
def test_vcf_export_is_well_formed_for_pysam(tmp_path, build, chrom):
    path = tmp_path / "panel.vcf"
    path.write_text(export_panel(load_panel("extended"), build, "vcf", chrom))
    with pysam.VariantFile(str(path)) as vcf:
        assert vcf.header.contigs[chrom].length == build.chr6_length
        records = list(vcf)
    names = [n for r in records for n in r.info["HOTSPOT"]]
    assert sorted(names) == sorted(load_panel("extended").names)
    for record in records:
        for alt, name in zip(record.alts, record.info["HOTSPOT"], strict=True):
            hotspot = load_panel("extended")[name]
            assert (record.pos, record.ref, alt) == (hotspot.pos(build), hotspot.ref, hotspot.alt)


@pytest.mark.parametrize("build", list(Build))
def test_bed_export_is_zero_based_and_readable_by_pysam(tmp_path, build):
    text = export_panel(load_panel(), build, "bed", "chr6")
    path = tmp_path / "panel.bed"
    path.write_text(text)
    compressed = pysam.tabix_index(str(path), preset="bed", force=True)
    with pysam.TabixFile(compressed) as bed:
        rows = list(bed.fetch("chr6", parser=pysam.asBed()))
    assert len(rows) == 11
    d538 = next(r for r in rows if r.name == "D538G")
    assert d538.start == load_panel()["D538G"].pos(build) - 1 and d538.end == d538.start + 1


def test_json_and_tsv_exports_carry_both_facts_and_panel_identity():
    document = json.loads(export_panel(load_panel(), Build.GRCH37, "json"))
    assert document["panel"]["version"] == load_panel().version
    assert {h["chrom"] for h in document["hotspots"]} == {"6"}
    tsv = export_panel(load_panel(), Build.GRCH38, "tsv").splitlines()
    assert tsv[0].split("\t")[:4] == ["name", "hgvs_c", "hgvs_p", "chrom"]
    assert len(tsv) == 12


def test_unknown_export_format_and_chrom_are_config_errors():
    with pytest.raises(ConfigError):
        export_panel(load_panel(), Build.GRCH38, "xml")
    with pytest.raises(ConfigError):
        export_panel(load_panel(), Build.GRCH38, "bed", "chrom6")


# --- the packaged catalog's checked form (data/hotspots.compiled.json) --------------------------

COMPILED = REPO / "esr1calls" / "data" / hotspots.COMPILED_PANEL


@pytest.fixture
def fresh_catalog():
    """The packaged catalog loaded anew in the test (and again after it)."""
    hotspots._packaged_catalog.cache_clear()
    yield
    hotspots._packaged_catalog.cache_clear()


def _full_check() -> tuple[str, tuple[hotspots.Hotspot, ...]]:
    text = (REPO / "esr1calls" / "data" / hotspots.PANEL_TSV).read_text(encoding="utf-8")
    return hotspots.parse_panel_tsv(text, "hotspots.tsv")


def test_compiled_panel_is_byte_for_byte_what_regenerating_writes():
    """The checked form can never drift from the catalog, the transcript or the checks: after
    any change, scripts/compile_panel.py must be run (docs/development.md)."""
    assert COMPILED.read_bytes() == hotspots.compile_panel().encode("utf-8"), (
        "esr1calls/data/hotspots.compiled.json is out of date: run scripts/compile_panel.py"
    )


def test_compiled_panel_names_the_hashes_of_the_files_it_was_checked_against():
    sources = json.loads(COMPILED.read_text(encoding="utf-8"))["sources"]
    data = REPO / "esr1calls" / "data"
    assert sources == {
        name: hashlib.sha256((data / name).read_bytes()).hexdigest()
        for name in ("hotspots.tsv", "NM_000125.4.fa", "esr1_cds_exons.tsv")
    }


def test_packaged_panel_comes_from_the_checked_form_and_equals_the_full_check(
    fresh_catalog, monkeypatch
):
    version, expected = _full_check()

    def no_full_check(text: str, source: str) -> None:
        raise AssertionError("the packaged panel was checked in full at load")

    monkeypatch.setattr(hotspots, "parse_panel_tsv", no_full_check)
    panel = load_panel("extended")
    assert panel.hotspots == expected
    assert panel.version == version
    tsv = (REPO / "esr1calls" / "data" / hotspots.PANEL_TSV).read_bytes()
    assert panel.sha256 == hashlib.sha256(tsv).hexdigest()
    assert load_panel().names == DEFAULT_11


def _with_compiled(monkeypatch, text: bytes) -> None:
    real = hotspots._data_bytes
    monkeypatch.setattr(
        hotspots,
        "_data_bytes",
        lambda name: text if name == hotspots.COMPILED_PANEL else real(name),
    )


def _moved_d538g(document: dict) -> dict:
    for fields in document["hotspots"]:
        if fields["name"] == "D538G":
            fields["pos_grch38"] += 3  # a wrong position the full check would refuse
    return document


@pytest.mark.parametrize("stale", ["hotspots.tsv", "NM_000125.4.fa", "esr1_cds_exons.tsv"])
def test_checked_form_made_from_other_files_is_not_used(fresh_catalog, monkeypatch, stale):
    """A catalog or transcript edited without regenerating: the checked form is ignored (its
    wrong D538G with it) and the catalog is checked in full."""
    document = _moved_d538g(json.loads(COMPILED.read_text(encoding="utf-8")))
    document["sources"][stale] = "0" * 64
    _with_compiled(monkeypatch, json.dumps(document).encode())
    assert load_panel("extended").hotspots == _full_check()[1]
    assert load_panel()["D538G"].pos_grch38 == 152098791


def test_checked_form_is_used_only_while_its_hashes_match(fresh_catalog, monkeypatch):
    """The same edited form with the true hashes is taken as it is: proof that the test above
    fails on a loader that ignores the hashes."""
    document = _moved_d538g(json.loads(COMPILED.read_text(encoding="utf-8")))
    _with_compiled(monkeypatch, json.dumps(document).encode())
    assert load_panel()["D538G"].pos_grch38 == 152098791 + 3


@pytest.mark.parametrize(
    "damaged",
    [b"", b"{not json", b'{"sources": {}}', json.dumps({"x": 1}).encode(), b"\xff\xfe"],
    ids=["empty", "not-json", "other-sources", "no-keys", "not-utf8"],
)
def test_damaged_checked_form_means_a_full_check_not_an_error(fresh_catalog, monkeypatch, damaged):
    _with_compiled(monkeypatch, damaged)
    assert load_panel("extended").hotspots == _full_check()[1]


def test_checked_form_with_matching_hashes_but_a_missing_field_means_a_full_check(
    fresh_catalog, monkeypatch
):
    document = json.loads(COMPILED.read_text(encoding="utf-8"))
    del document["hotspots"][0]["change"]
    _with_compiled(monkeypatch, json.dumps(document).encode())
    assert load_panel("extended").hotspots == _full_check()[1]


def test_hotspots_is_loaded_on_first_use():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, esr1calls.hotspots as h; "
         "print(h._packaged_catalog.cache_info().currsize); print(len(h.HOTSPOTS)); "
         "print(h._packaged_catalog.cache_info().currsize)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["0", "11", "1"]
    with pytest.raises(AttributeError):
        hotspots.NO_SUCH_NAME  # noqa: B018
