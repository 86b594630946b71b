"""The actionability knowledge file: the bundled one, a lab's own, and every refusal."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pytest

from esr1calls.errors import ConfigError
from esr1calls.knowledge import load_knowledge, parse_knowledge

BUNDLED = resources.files("esr1calls") / "data" / "knowledge" / "esr1-actionability.toml"
RAW = BUNDLED.read_bytes()


def test_the_bundled_file_holds_the_approvals_of_design_section_10():
    knowledge = load_knowledge()
    assert knowledge.sha256 == hashlib.sha256(RAW).hexdigest()
    approvals = {(t.drug, t.regulator, t.approved, t.regimen["en"]) for t in knowledge.therapies}
    assert ("elacestrant", "FDA", "2023-01-27", "monotherapy") in approvals
    assert ("imlunestrant", "FDA", "2025-09", "monotherapy") in approvals
    assert ("imlunestrant", "NMPA", "2026-06-22", "monotherapy") in approvals
    assert ("imlunestrant", "NMPA", "2026-06-22", "in combination with abemaciclib") in approvals
    for therapy in knowledge.therapies:
        assert "D538G" in therapy.mutations and "Y537S" in therapy.mutations
        assert "K303R" not in therapy.mutations  # hinge region, not the ligand-binding domain
        assert therapy.indication["en"] and therapy.indication["zh_CN"]


def test_relevant_lists_only_entries_the_detected_mutations_fit():
    knowledge = load_knowledge()
    found = knowledge.relevant(["D538G", "K303R", "D538G"])
    assert [t["mutations"] for t in found] == [["D538G"]] * len(knowledge.therapies)
    assert knowledge.relevant([]) == [] and knowledge.relevant(["K303R"]) == []


def _edited(old: str, new: str) -> bytes:
    text = RAW.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('version = "2026.12.1"\n', "", "[knowledge]: version must be a non-empty text"),
        ('approved = "2023-01-27"', 'approved = "2023-02-30"', "approved 2023-02-30 is not a"),
        ('approved = "2023-01-27"', 'approved = "27/01/2023"', "approved must be a date"),
        ('"L549P"]', '"L549X"]', "[mutations] esr1_lbd: 'L549X' is not a hotspot"),
        ('id = "imlunestrant-fda"', 'id = "elacestrant-fda"', "elacestrant-fda is given twice"),
        ('indication.zh_CN = "经至少一线', 'indication.fr = "经至少一线', "indication.zh_CN is"),
        ('mutations = "esr1_lbd"', 'mutations = "lbd"', "mutations = 'lbd' names no list"),
        (
            'label_source = "FDA prescribing information for ORSERDU (elacestrant), NDA 217639, '
            'approved 2023-01-27"',
            'label_source = " "',
            "1: label_source must be a non-empty",
        ),
        ("[[therapy]]", "[[therapy]", "not valid TOML"),
    ],
)
def test_a_damaged_lab_file_is_one_line_naming_the_file_and_the_key(old, new, message):
    with pytest.raises(ConfigError) as error:
        parse_knowledge(_edited(old, new), "lab.toml", "lab.toml")
    text = str(error.value)
    assert text.startswith("lab.toml") and "\n" not in text and "docs/clinical.md" in text
    assert message in text


def test_a_file_without_therapies_or_in_another_encoding_is_refused():
    with pytest.raises(ConfigError, match=r"lab.toml: no \[\[therapy\]\] entries"):
        parse_knowledge(RAW.split(b"[[therapy]]")[0], "lab.toml", "lab.toml")
    with pytest.raises(ConfigError, match=r"lab\.toml: the knowledge file is not UTF-8"):
        parse_knowledge(RAW.decode().encode("utf-16"), "lab.toml", "lab.toml")


def test_a_missing_file_says_how_to_get_the_bundled_one(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere\.toml: cannot read the knowledge file"):
        load_knowledge(tmp_path / "nothere.toml")


def test_the_run_records_the_file_and_positive_samples_quote_it(run_cli, tmp_path, testdata):
    lab = tmp_path / "lab.toml"
    lab.write_bytes(_edited('version = "2026.12.1"', 'version = "lab-7"'))
    out = tmp_path / "out"
    result = run_cli(
        ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
         testdata / "plates" / "esr1_demo_platemap.csv", "--knowledge", lab, "-o", out]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads((out / "calls.json").read_text())
    assert document["run"]["knowledge"]["version"] == "lab-7"
    assert document["run"]["knowledge"]["sha256"] == hashlib.sha256(lab.read_bytes()).hexdigest()
    for sample in document["samples"]:
        detected = [c["hotspot"] for c in sample["calls"] if c["status"] == "DETECTED"]
        if detected:
            assert {m for t in sample["actionability"] for m in t["mutations"]} == set(detected)
        else:
            assert "actionability" not in sample


def test_a_bad_knowledge_file_stops_the_run_before_any_report(run_cli, tmp_path, testdata):
    lab = tmp_path / "lab.toml"
    lab.write_bytes(_edited('approved = "2023-01-27"', 'approved = "soon"'))
    out = tmp_path / "out"
    result = run_cli(
        ["pcr", testdata / "plates" / "esr1_demo_plate.tsv", "--plate-map",
         testdata / "plates" / "esr1_demo_platemap.csv", "--knowledge", lab, "-o", out]
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("esr1calls: error: lab.toml, [[therapy]] 1: approved must")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
