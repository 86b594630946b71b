"""calls.fhir.json: valid FHIR (R4B models: the R4 resources used are unchanged there) and
conformant to the Genomics Reporting IG's Variant and genomics-report profiles."""

from __future__ import annotations

import dataclasses
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation

from esr1calls.hotspots import load_panel
from esr1calls.model import Build
from esr1calls.pcr.run import call_pcr
from esr1calls.reports.fhir import VALUE_CODES, fhir_bundle, render_fhir_bundle
from esr1calls.reports.write import ReportOptions, to_json_document
from esr1calls.testing.plates import DEMO_MAP, demo_plate
from esr1calls.testing.runs import NGS_COMMAND, PCR_COMMAND, ngs_run, pcr_run

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


@pytest.mark.parametrize("which", ["pcr_bundle", "ngs_bundle"])
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


@pytest.mark.parametrize("which", ["pcr_bundle", "ngs_bundle"])
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
    assert len(reports) == len(document["samples"]) == 9
    for report, sample in zip(reports, document["samples"], strict=True):
        assert report["meta"]["profile"] == [IG + "genomics-report"]
        assert report["status"] == "partial"  # unverified: esr1calls never signs out
        assert report["category"][0]["coding"][0]["code"] == "GE"
        assert report["code"]["coding"][0]["code"] == "81247-9"
        assert report["subject"]["identifier"]["value"] == sample["sample_id"]
        assert report["specimen"][0]["identifier"]["value"] == sample["sample_id"]
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
    result = call_pcr([demo_plate()], DEMO_MAP, panel=load_panel("extended"))
    bundle = fhir_bundle(to_json_document(result, OPTIONS))
    report = resources(bundle, "DiagnosticReport")[0]
    assert len(result.samples[0].calls) == 18 and len(report["result"]) == 11


def test_hostile_sample_names_stay_plain_strings():
    names = ('=HYPERLINK("x")', "<script>alert(1)</script>")
    bundle = fhir_bundle(to_json_document(ngs_run(names), ReportOptions(NGS_COMMAND)))
    Bundle.model_validate(bundle)
    reports = resources(bundle, "DiagnosticReport")
    assert [r["subject"]["identifier"]["value"] for r in reports] == list(names)
    assert not any("text" in r for r in reports)  # no XHTML narrative to inject into


def test_time_is_recorded_unless_reproducible():
    timed = fhir_bundle(
        to_json_document(pcr_run(), dataclasses.replace(OPTIONS, reproducible=False))
    )
    assert timed["timestamp"].endswith("Z")
    assert resources(timed, "DiagnosticReport")[0]["issued"] == timed["timestamp"]
    bare = fhir_bundle(to_json_document(pcr_run(), OPTIONS))
    assert "timestamp" not in bare and "issued" not in resources(bare, "DiagnosticReport")[0]
