"""Label layers written to JAMS, SVL, EAF, Audacity and CSV, then parsed back exactly."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from timeside_gql.core import labels as lb
from timeside_gql.core.results import AnalyzerResult, DataObject, LabelMetadata

JAMS_SCHEMAS = Path(__file__).parent / "fixtures" / "jams"

# Times exact in binary, in ms and in frames at 8 kHz; one overlap (1.0-2.5 with 2.0-3.0),
# one instant, a label with a comma, quotes and a non-ASCII letter.
LABELS = [
    lb.Label(0.0, 1.0, "intro"),
    lb.Label(1.0, 2.5, 'verse, "A"'),
    lb.Label(2.0, 3.0, "chœur"),
    lb.Label(3.5, None, "clap"),
]
LAYER = lb.Layer(
    name="structure", labels=LABELS, duration=4.0, samplerate=8000, title="song", artist="me"
)


def spans(labels: list[lb.Label]) -> list[tuple[float, float | None, str]]:
    return [(label.start, label.stop, label.text) for label in labels]


def test_csv_round_trip() -> None:
    rows = list(csv.DictReader(io.StringIO(lb.to_csv(LAYER))))
    parsed = [
        (float(r["start"]), float(r["stop"]) if r["stop"] else None, r["label"]) for r in rows
    ]
    assert parsed == spans(LABELS)


def test_audacity_labels() -> None:
    lines = lb.to_audacity(LAYER).splitlines()
    assert lines[1] == '1.000000\t2.500000\tverse, "A"'
    parsed = [line.split("\t") for line in lines]
    assert [(float(a), float(b), text) for a, b, text in parsed] == [
        (label.start, label.end, label.text) for label in LABELS
    ]
    multiline = lb.Layer(name="x", labels=[lb.Label(0.25, 0.5, "two\tparts\nhere")])
    assert lb.to_audacity(multiline) == "0.250000\t0.500000\ttwo parts here\n"


def jams_validate(document: dict) -> None:
    """The document schema, then each observation's value against its namespace's schema."""
    schema = json.loads((JAMS_SCHEMAS / "jams_schema.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    for annotation in document["annotations"]:
        namespace = annotation["namespace"]
        spec = json.loads((JAMS_SCHEMAS / f"{namespace}.json").read_text())[namespace]
        for observation in annotation["data"]:
            jsonschema.validate(observation["value"], spec["value"])


def test_jams_is_valid_and_exact() -> None:
    document = json.loads(lb.to_jams(LAYER))
    jams_validate(document)
    [annotation] = document["annotations"]
    assert annotation["namespace"] == "segment_open"
    assert document["file_metadata"]["duration"] == 4.0
    assert [(o["time"], o["duration"], o["value"]) for o in annotation["data"]] == [
        (0.0, 1.0, "intro"),
        (1.0, 1.5, 'verse, "A"'),
        (2.0, 1.0, "chœur"),
        (3.5, 0.0, "clap"),
    ]
    events = lb.Layer(name="onsets", labels=[lb.Label(0.5, None, "onset")])
    document = json.loads(lb.to_jams(events))
    jams_validate(document)
    assert document["annotations"][0]["namespace"] == "tag_open"
    with pytest.raises(jsonschema.ValidationError):  # the validation does check
        jams_validate({**document, "annotations": [{"namespace": "tag_open", "data": []}]})


def test_svl_regions_and_instants() -> None:
    root = ET.fromstring(lb.to_svl(LAYER))
    model = root.find("data/model")
    assert model is not None
    assert (model.get("sampleRate"), model.get("dimensions"), model.get("subtype")) == (
        "8000",
        "3",
        "region",
    )
    points = root.findall("data/dataset/point")
    parsed = [
        (
            int(p.get("frame")) / 8000,
            (int(p.get("frame")) + int(p.get("duration"))) / 8000,
            p.get("label"),
        )
        for p in points
    ]
    assert parsed == [(label.start, label.end, label.text) for label in LABELS]
    assert root.find("display/layer").get("type") == "regions"

    instants = lb.Layer(name="beats", labels=[lb.Label(0.5, None, "1"), lb.Label(1.0, None, "2")])
    root = ET.fromstring(lb.to_svl(instants))
    assert root.find("display/layer").get("type") == "timeinstants"
    assert [(p.get("frame"), p.get("label")) for p in root.iter("point")] == [
        ("22050", "1"),
        ("44100", "2"),
    ]
    assert "duration" not in root.find("data/dataset/point").attrib


def test_eaf_structure_and_tiers() -> None:
    root = ET.fromstring(lb.to_eaf(LAYER))
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0"
    children = [child.tag for child in root]
    assert children == ["HEADER", "TIME_ORDER", "TIER", "TIER", "LINGUISTIC_TYPE"]
    assert root.find("HEADER").get("TIME_UNITS") == "milliseconds"
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    values = [int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")]
    assert values == sorted(values)
    found = []
    for tier in root.iter("TIER"):
        assert tier.get("LINGUISTIC_TYPE_REF") == "default-lt"
        spans_ms = []
        for annotation in tier.iter("ALIGNABLE_ANNOTATION"):
            start = slots[annotation.get("TIME_SLOT_REF1")]
            stop = slots[annotation.get("TIME_SLOT_REF2")]
            spans_ms.append((start, stop))
            found.append((start / 1000, stop / 1000, annotation.find("ANNOTATION_VALUE").text))
        assert all(a[1] <= b[0] for a, b in pairwise(spans_ms))
    assert [t.get("TIER_ID") for t in root.iter("TIER")] == ["structure", "structure 2"]
    assert sorted(found) == sorted((label.start, label.end, label.text) for label in LABELS)
    ids = [a.get("ANNOTATION_ID") for a in root.iter("ALIGNABLE_ANNOTATION")]
    assert len(set(ids)) == len(ids) == 4


def test_labels_from_segment_and_event_results() -> None:
    segments = AnalyzerResult(
        "label",
        "segment",
        data_object=DataObject(
            label=[0, 1, 0],
            time=[0.0, 0.5, 1.75],
            duration=[0.5, 1.25, 0.25],
            label_metadata=LabelMetadata(label={0: "Silence", 1: "Not Silence"}),
        ),
    )
    assert spans(lb.from_result(segments)) == [
        (0.0, 0.5, "Silence"),
        (0.5, 1.75, "Not Silence"),
        (1.75, 2.0, "Silence"),
    ]
    events = AnalyzerResult(
        "value", "event", data_object=DataObject(value=np.array([0.5, 2.0]), time=[0.25, 1.5])
    )
    events.audio_metadata.start = 10.0  # times are absolute in the source
    assert spans(lb.from_result(events)) == [(10.25, None, "0.5"), (11.5, None, "2")]
    with pytest.raises(ValueError, match="only event and segment"):
        lb.from_result(AnalyzerResult("value", "framewise"))
