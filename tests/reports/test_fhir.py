"""calls.fhir.json: valid FHIR (R4B models: the R4 resources used are unchanged there) and
conformant to the Genomics Reporting IG's Variant and genomics-report profiles."""

from __future__ import annotations

import dataclasses
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.specimen import Specimen

from esr1calls.hotspots import load_panel
from esr1calls.model import Build
from esr1calls.pcr.run import call_pcr
from esr1calls.pcr.settings import make_settings
from esr1calls.reports.calls_json import to_json_document
from esr1calls.reports.document import tested_calls as calls_tested  # not collected as a test
from esr1calls.reports.fhir import VALUE_CODES, fhir_bundle, render_fhir_bundle
from esr1calls.reports.options import ReportOptions
from esr1calls.testing.plates import DEMO_MAP, demo_plate
from esr1calls.testing.runs import (
    DPCR_COMMAND,
    NGS_COMMAND,
    PCR_COMMAND,
    dpcr_run,
    ngs_run,
    pcr_run,
)

IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
OPTIONS = ReportOptions(PCR_COMMAND, reproducible=True)


def resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def component(observation, code):
    found = [c for c in observation["component"] if c["code"]["coding"][0]["code"] == code]
    return found[0] if found else None


@pytest.fixture(scope="module")
def pcr_bundle():
    return json.loads(render_fhir_bundle(to_json_document(pcr_run(), OPTIONS)))


@pytest.fixture(scope="module")
def ngs_bundle():
    return json.loads(render_fhir_bundle(to_json_document(ngs_run(), OPTIONS)))


@pytest.fixture(scope="module")
def dpcr_document():
    return to_json_document(dpcr_run(), ReportOptions(DPCR_COMMAND, reproducible=True))


@pytest.fixture(scope="module")
def dpcr_bundle(dpcr_document):
    return json.loads(render_fhir_bundle(dpcr_document))


@pytest.mark.parametrize("which", ["pcr_bundle", "ngs_bundle", "dpcr_bundle"])
def test_bundle_is_valid_fhir(which, request):
    bundle = request.getfixturevalue(which)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        if kind == "Observation":
            Observation.model_validate(entry["resource"])
        elif kind == "DiagnosticReport":
            DiagnosticReport.model_validate(entry["resource"])
        elif kind == "Specimen":
            Specimen.model_validate(entry["resource"])
        elif kind == "Patient":
            Patient.model_validate(entry["resource"])
    # every reference resolves inside the bundle
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for report in resources(bundle, "DiagnosticReport"):
        assert {r["reference"] for r in report["result"]} <= urls
    for observation in resources(bundle, "Observation"):
        assert observation["device"]["reference"] in urls


@pytest.mark.parametrize(
    "damage",
    [
        lambda o: o.pop("code"),  # required element missing
        lambda o: o.update(valueCodeableConcept="Present"),  # wrong type
        lambda o: o.update(interpretationText="x"),  # no such element in R4
        lambda o: o["component"][0].pop("code"),
    ],
)
def test_a_broken_resource_is_refused_by_the_validator(pcr_bundle, damage):
    """The validation above can fail."""
    from pydantic import ValidationError

    broken = json.loads(json.dumps(resources(pcr_bundle, "Observation")[0]))
    damage(broken)
    with pytest.raises(ValidationError):
        Observation.model_validate(broken)


# fhir.resources checks structure and types, not required code bindings: checked here (R4 4.0.1)
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown"}  # fmt: skip
REPORT_STATUS = {"registered", "partial", "preliminary", "final", "amended", "corrected",
                 "appended", "cancelled", "entered-in-error", "unknown"}  # fmt: skip


@pytest.mark.parametrize("which", ["pcr_bundle", "ngs_bundle", "dpcr_bundle"])
def test_required_code_bindings(which, request):
    bundle = request.getfixturevalue(which)
    assert {o["status"] for o in resources(bundle, "Observation")} <= OBSERVATION_STATUS
    assert {r["status"] for r in resources(bundle, "DiagnosticReport")} <= REPORT_STATUS
    for observation in resources(bundle, "Observation"):  # LL1971-2 is a required binding
        value = observation["valueCodeableConcept"]["coding"][0]
        assert value["system"] == "http://loinc.org"
        assert (value["code"], value["display"]) in {(c, d) for d, c in VALUE_CODES.items()}


def test_one_variant_observation_per_tested_hotspot(pcr_bundle):
    document = to_json_document(pcr_run(), OPTIONS)
    reports = resources(pcr_bundle, "DiagnosticReport")
    by_url = {e["fullUrl"]: e["resource"] for e in pcr_bundle["entry"]}
    assert resources(pcr_bundle, "Patient") == []
    assert len(resources(pcr_bundle, "Specimen")) == 9
    assert len(reports) == len(document["samples"]) == 9
    for report, sample in zip(reports, document["samples"], strict=True):
        assert report["meta"]["profile"] == [IG + "genomics-report"]
        assert report["status"] == "partial"  # unverified: esr1calls never signs out
        assert report["category"][0]["coding"][0]["code"] == "GE"
        assert report["code"]["coding"][0]["code"] == "81247-9"
        # no patient id recorded: no subject, never a Patient made from the sample id
        assert "subject" not in report
        specimen = by_url[report["specimen"][0]["reference"]]
        assert specimen["identifier"][0]["value"] == sample["sample_id"]
        assert len(report["result"]) == len(sample["calls"]) == 11
        assert sample["summary"] in report["conclusion"] and "Unreviewed" in report["conclusion"]


def test_observation_values_follow_the_call_status(pcr_bundle):
    document = to_json_document(pcr_run(), OPTIONS)
    calls = [c for s in document["samples"] for c in s["calls"]]
    observations = resources(pcr_bundle, "Observation")
    assert len(observations) == len(calls)
    expected = {"DETECTED": "Present", "NOT_DETECTED": "Absent", "INDETERMINATE": "Indeterminate",
                "INVALID": "No call"}  # fmt: skip
    seen = set()
    for call, observation in zip(calls, observations, strict=True):
        value = observation["valueCodeableConcept"]["coding"][0]
        assert value["display"] == expected[call["status"]]
        assert value["code"] == VALUE_CODES[value["display"]]
        assert observation["meta"]["profile"] == [IG + "variant"]
        assert observation["status"] == "preliminary"
        assert observation["code"]["coding"][0]["code"] == "69548-6"
        assert observation["method"]["coding"][0]["code"] == "LA26419-4"  # qPCR
        assert (
            component(observation, "48004-6")["valueCodeableConcept"]["coding"][0]["code"]
            == (call["hgvs_c"])
        )
        assert component(observation, "48005-3") is not None
        assert component(observation, "81258-6") is None  # a PCR fraction is not measured
        seen.add(call["status"])
    assert seen == set(expected)  # the demo plate exercises all four


def test_pcr_coordinates_default_to_grch38_and_follow_build(pcr_bundle):
    d538g = next(
        o for o in resources(pcr_bundle, "Observation")
        if component(o, "48004-6")["valueCodeableConcept"]["coding"][0]["code"].endswith("1613A>G")
    )  # fmt: skip
    assert component(d538g, "81254-5")["valueRange"]["low"]["value"] == 152098791
    assert component(d538g, "62374-4")["valueCodeableConcept"]["coding"][0]["display"] == "GRCh38"
    assert component(d538g, "48013-7")["valueCodeableConcept"]["coding"][0]["code"] == (
        "NC_000006.12"
    )
    grch37 = fhir_bundle(to_json_document(pcr_run(), OPTIONS), default_build=Build.GRCH37)
    first = resources(grch37, "Observation")[0]  # E380Q
    assert component(first, "81254-5")["valueRange"]["low"]["value"] == 152332832
    assert component(first, "69547-8")["valueString"] == "G"


def test_ngs_fraction_and_counts_when_measured(ngs_bundle):
    observations = resources(ngs_bundle, "Observation")
    assert all(o["method"]["coding"][0]["code"] == "LA26398-0" for o in observations)
    detected = [o for o in observations if o["valueCodeableConcept"]["text"] == "Present"]
    assert len(detected) == 1
    fraction = component(detected[0], "81258-6")["valueQuantity"]
    assert fraction["value"] == pytest.approx(148 / 11890) and fraction["code"] == "1"
    assert component(detected[0], "82121-5")["valueQuantity"]["value"] == 148
    uncovered = next(o for o in observations if "NO_COVERAGE" in o["note"][0]["text"])
    assert uncovered["valueCodeableConcept"]["text"] == "Indeterminate"
    assert component(uncovered, "81258-6") is None


def test_dpcr_method_is_the_ll4048_6_pcr_answer_with_the_snomed_digital_pcr_concept(dpcr_bundle):
    """LL4048-6 has no digital PCR answer; the extensible binding takes "PCR" (LA26418-6), and
    SNOMED CT 1303992007 says which PCR. Never the qPCR answer of ARMS-PCR."""
    observations = resources(dpcr_bundle, "Observation")
    assert observations
    for observation in observations:
        method = observation["method"]
        assert method["text"] == "Digital PCR"
        assert method["coding"] == [
            {"system": "http://loinc.org", "code": "LA26418-6", "display": "PCR"},
            {
                "system": "http://snomed.info/sct",
                "code": "1303992007",
                "display": "Digital polymerase chain reaction technique (qualifier value)",
            },
        ]


def test_dpcr_fraction_is_measured_and_partitions_are_not_reads(dpcr_bundle, dpcr_document):
    observations = iter(resources(dpcr_bundle, "Observation"))
    for sample in dpcr_document["samples"]:
        for call in calls_tested(sample):
            observation = next(observations)
            fraction = component(observation, "81258-6")
            if call["allele_fraction"] is None:
                assert fraction is None
            else:
                assert fraction["valueQuantity"]["value"] == call["allele_fraction"]
            assert component(observation, "82121-5") is None  # partitions are not reads
            note = observation["note"][0]["text"]
            if call["alt_count"] is not None:
                assert f"{call['alt_count']:,} of {call['depth']:,} accepted partitions" in note
                assert f"(k_req {call['evidence']['k_req']})" in note
    specimen = {e["fullUrl"]: e["resource"] for e in dpcr_bundle["entry"]}
    d538g = next(
        o for o in resources(dpcr_bundle, "Observation")
        if specimen[o["specimen"]["reference"]]["identifier"][0]["value"] == "P1"
        and component(o, "48005-3")
        and "Asp538Gly" in component(o, "48005-3")["valueCodeableConcept"]["coding"][0]["code"]
    )  # fmt: skip
    assert d538g["valueCodeableConcept"]["text"] == "Present"
    assert component(d538g, "81254-5")["valueRange"]["low"]["value"] == 152098791


def test_a_drop_off_region_call_names_its_region_and_no_allele(dpcr_bundle):
    """The region call has no HGVS: an empty c.HGVS code would be invalid FHIR."""
    regions = [o for o in resources(dpcr_bundle, "Observation") if component(o, "47999-8")]
    assert len(regions) == 4  # one per sample
    for observation in regions:
        assert component(observation, "47999-8")["valueString"] == (
            "ESR1 codons 536-538 (c.1606-1614)"
        )
        assert component(observation, "48004-6") is None
        assert component(observation, "81254-5") is None  # no genomic position either
    assert {o["valueCodeableConcept"]["text"] for o in regions} == {
        "Present", "Absent", "Indeterminate"
    }  # fmt: skip


def test_audit_trail_on_every_report(pcr_bundle):
    document = to_json_document(pcr_run(), OPTIONS)
    for report in resources(pcr_bundle, "DiagnosticReport"):
        ext = {}
        for item in report["extension"]:
            ext.setdefault(item["url"].rsplit("/", 1)[-1], []).append(
                item.get("valueString") or item.get("valueCode")
            )
        assert ext["review-status"] == ["unreviewed"]
        assert ext["command"] == [PCR_COMMAND]
        assert ext["generated-by"] == [f"esr1calls {document['tool']['version']}"]
        assert document["run"]["kit"]["sha256"] in ext["kit"][0] and "PLACEHOLDER" in ext["kit"][0]
        assert document["run"]["panel"]["sha256"] in ext["panel"][0]
        assert [i.split(" sha256:")[1] for i in ext["input"]] == [
            i["sha256"] for i in document["run"]["inputs"]
        ]
    device = resources(pcr_bundle, "Device")[0]
    assert device["version"][0]["value"] == document["tool"]["version"]


def test_hotspots_the_kit_does_not_test_are_left_out():
    result = call_pcr([demo_plate()], DEMO_MAP, make_settings(panel=load_panel("extended")))
    bundle = fhir_bundle(to_json_document(result, OPTIONS))
    report = resources(bundle, "DiagnosticReport")[0]
    assert len(result.samples[0].calls) == 18 and len(report["result"]) == 11


def test_hostile_sample_names_stay_plain_strings():
    names = ('=HYPERLINK("x")', "<script>alert(1)</script>")
    bundle = fhir_bundle(to_json_document(ngs_run(names), ReportOptions(NGS_COMMAND)))
    Bundle.model_validate(bundle)
    specimens = resources(bundle, "Specimen")
    assert [s["identifier"][0]["value"] for s in specimens] == list(names)
    reports = resources(bundle, "DiagnosticReport")
    assert not any("text" in r for r in reports)  # no XHTML narrative to inject into


def test_time_is_recorded_unless_reproducible():
    timed = fhir_bundle(
        to_json_document(pcr_run(), dataclasses.replace(OPTIONS, reproducible=False))
    )
    assert timed["timestamp"].endswith("Z")
    assert resources(timed, "DiagnosticReport")[0]["issued"] == timed["timestamp"]
    bare = fhir_bundle(to_json_document(pcr_run(), OPTIONS))
    assert "timestamp" not in bare and "issued" not in resources(bare, "DiagnosticReport")[0]


def _two_plates(patients):
    """A merged document of two plates whose samples are both S1..S9; ``patients`` gives
    (plate index, sample id) -> (patient_id, collected)."""
    from pathlib import Path

    from esr1calls.reports.merge import LoadedCalls, merge_documents

    loaded = []
    for plate in (0, 1):
        document = to_json_document(pcr_run(), OPTIONS)
        for sample in document["samples"]:
            given = patients.get((plate, sample["sample_id"]))
            if given:
                sample["patient_id"], sample["collected"] = given
        path = Path(f"plate{plate + 1}/calls.json")
        loaded.append(LoadedCalls(path, str(plate) * 64, document))
    return merge_documents(loaded, ReportOptions("esr1calls report", reproducible=True))


def test_a_patient_only_from_a_patient_id_with_the_labs_system():
    """Two plates' S1 are two specimens, never one patient; a patient id (PT-7, sampled on both
    plates) is one Patient in the system the lab gives, and each specimen its own date."""
    cohort = _two_plates({(0, "S1"): ("PT-7", "2024-01-10"), (1, "S3"): ("PT-7", "2024-03-12")})
    system = "urn:oid:1.2.36.146.595.217.0.1"
    bundle = fhir_bundle(cohort, patient_system=system)
    Bundle.model_validate(bundle)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    patients = resources(bundle, "Patient")
    assert patients == [
        {
            "resourceType": "Patient",
            "identifier": [{"use": "usual", "system": system, "value": "PT-7"}],
        }
    ]
    Patient.model_validate(patients[0])
    specimens = resources(bundle, "Specimen")
    assert len(specimens) == 18
    labels = [s["identifier"][1]["value"] for s in specimens]
    assert labels[:2] == ["plate1:S1", "plate1:S2"] and labels[9] == "plate2:S1"
    assert [s["identifier"][0]["value"] for s in specimens].count("S1") == 2
    patient_url = next(u for u, r in by_url.items() if r["resourceType"] == "Patient")
    dated = {
        s["identifier"][1]["value"]: (s["collection"]["collectedDateTime"], s["subject"])
        for s in specimens
        if "subject" in s
    }
    assert dated == {
        "plate1:S1": ("2024-01-10", {"reference": patient_url}),
        "plate2:S3": ("2024-03-12", {"reference": patient_url}),
    }
    for report in resources(bundle, "DiagnosticReport"):
        specimen = by_url[report["specimen"][0]["reference"]]
        assert report.get("subject") == specimen.get("subject")
        for ref in report["result"]:
            observation = by_url[ref["reference"]]
            assert observation.get("subject") == specimen.get("subject")
            assert observation["specimen"] == report["specimen"][0]
    # the default system is the documented local URN
    default = fhir_bundle(cohort)
    assert resources(default, "Patient")[0]["identifier"][0]["system"] == (
        "urn:esr1calls:local-patient-id"
    )


def test_patient_id_system_option(run_cli, tmp_path):
    from esr1calls.testing import TESTDATA

    plate = TESTDATA / "vcf" / "mutect2" / "esr1_tumour_normal.vcf"
    out = tmp_path / "out"
    args = ["ngs", plate, "--patient", "PT-9", "--collected", "2024-05-01", "-o", out, "--fhir"]
    result = run_cli([*args, "--patient-id-system", "https://hospital.example/mrn"])
    assert result.exit_code == 0, result.stderr
    bundle = json.loads((out / "calls.fhir.json").read_text())
    assert resources(bundle, "Patient")[0]["identifier"][0] == {
        "use": "usual", "system": "https://hospital.example/mrn", "value": "PT-9"
    }  # fmt: skip
    assert resources(bundle, "Specimen")[0]["collection"] == {"collectedDateTime": "2024-05-01"}
    bad = run_cli([*args[:-1], "-o", tmp_path / "bad", "--fhir", "--patient-id-system", "MRN"])
    assert bad.exit_code == 2 and "'MRN' is not a URI" in bad.stderr
    alone = run_cli([*args[:-1], "-o", tmp_path / "alone", "--patient-id-system", "urn:x:y"])
    assert alone.exit_code == 2 and "goes with --fhir or --hl7" in alone.stderr
    assert not (tmp_path / "bad").exists() and not (tmp_path / "alone").exists()
