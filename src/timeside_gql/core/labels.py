"""Labelled time ranges and the interchange formats annotation tools read.

Annotations and event/segment results both come down to a :class:`Layer` of :class:`Label`
records (start, stop or ``None`` for an instant, text); each writer is a pure function of a
layer, so the server's routes, a script or a notebook produce the same files:

============  =====================================================================
JAMS          JSON, one ``tag_open`` (events) or ``segment_open`` annotation; times in s
SVL           Sonic Visualiser layer: sparse model, ``timeinstants`` or ``regions``; frames
EAF           ELAN 3.0: TIME_ORDER slots in ms, ALIGNABLE_ANNOTATIONs on non-overlapping tiers
Audacity      label track text: ``start<TAB>stop<TAB>label`` per line, seconds (µs)
CSV           ``start,stop,label`` with a header; an instant has an empty stop
============  =====================================================================
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from timeside_gql.core.results import AnalyzerResult

JAMS_VERSION = "0.3.4"
#: SVL counts in sample frames; without the item's rate, this one keeps ms precision and more.
DEFAULT_SAMPLERATE = 44100


@dataclass(frozen=True, slots=True)
class Label:
    start: float
    stop: float | None  # None: an instant (an event)
    text: str

    @property
    def end(self) -> float:
        return self.start if self.stop is None else self.stop


@dataclass(frozen=True, slots=True)
class Layer:
    """Labels in time order plus what formats record about their source."""

    name: str
    labels: Sequence[Label]
    duration: float | None = None  # of the audio, seconds
    samplerate: int | None = None
    title: str = ""
    artist: str = ""
    media_url: str = ""
    source: str = "timeside-gql"  # who made the labels: a user, a processor
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


# ---------------------------------------------------------------------------------------------
# From results


def from_result(result: AnalyzerResult) -> list[Label]:
    """Events become instants and segments ranges, labelled by name (label mode) or value."""
    if result.time_mode not in ("event", "segment"):
        raise ValueError(f"{result.id} is {result.time_mode}: only event and segment results")
    starts = np.atleast_1d(np.asarray(result.time, dtype=float))
    stops = starts + result.data_object.duration if result.time_mode == "segment" else None
    texts = _texts(result)
    return [
        Label(float(start), None if stops is None else float(stops[i]), texts[i])
        for i, start in enumerate(starts)
    ]


def _texts(result: AnalyzerResult) -> list[str]:
    if result.data_mode == "label":
        names = result.data_object.label_metadata.label
        return [names.get(int(v), str(int(v))) for v in result.data]
    values = result.data.reshape(len(result.data), -1)
    return [" ".join(f"{v:g}" for v in row) for row in values]


# ---------------------------------------------------------------------------------------------
# Writers


def to_csv(layer: Layer) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start", "stop", "label"])
    for label in layer.labels:
        writer.writerow(
            [repr(label.start), "" if label.stop is None else repr(label.stop), label.text]
        )
    return out.getvalue()


def to_audacity(layer: Layer) -> str:
    """Audacity's own precision (µs); tabs and line breaks in labels become spaces."""
    return "".join(
        f"{label.start:.6f}\t{label.end:.6f}\t{' '.join(label.text.split())}\n"
        for label in layer.labels
    )


def to_jams(layer: Layer) -> str:
    segments = any(label.stop is not None for label in layer.labels)
    observations = [
        {
            "time": label.start,
            "duration": label.end - label.start,
            "value": label.text,
            "confidence": None,
        }
        for label in layer.labels
    ]
    file_metadata: dict[str, object] = {
        "title": layer.title,
        "artist": layer.artist,
        "jams_version": JAMS_VERSION,
        "identifiers": {},
    }
    if layer.duration is not None:
        file_metadata["duration"] = layer.duration
    document = {
        "file_metadata": file_metadata,
        "annotations": [
            {
                "namespace": "segment_open" if segments else "tag_open",
                "annotation_metadata": {
                    "corpus": layer.name,
                    "annotator": {"name": layer.source},
                    "annotation_tools": "timeside-gql",
                    "data_source": layer.source,
                },
                "data": observations,
                "time": 0.0,
                "duration": layer.duration,
                "sandbox": {},
            }
        ],
        "sandbox": {},
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def to_svl(layer: Layer) -> str:
    """A time-instants layer when every label is an instant, a regions layer otherwise."""
    rate = layer.samplerate or DEFAULT_SAMPLERATE
    regions = any(label.stop is not None for label in layer.labels)
    frames = [(round(label.start * rate), round(label.end * rate)) for label in layer.labels]
    end = max((stop for _, stop in frames), default=0)
    root = ET.Element("sonic-visualiser")
    data = ET.SubElement(root, "data")
    model = {
        "id": "1",
        "name": layer.name,
        "sampleRate": str(rate),
        "start": str(min((start for start, _ in frames), default=0)),
        "end": str(end),
        "type": "sparse",
        "dimensions": "3" if regions else "1",
        "resolution": "1",
        "notifyOnAdd": "true",
        "dataset": "0",
    }
    if regions:
        model |= {"subtype": "region", "valueQuantization": "0", "minimum": "0", "maximum": "0"}
    ET.SubElement(data, "model", model)
    dataset = ET.SubElement(data, "dataset", id="0", dimensions=model["dimensions"])
    for (start, stop), label in zip(frames, layer.labels, strict=True):
        point = {"frame": str(start), "label": label.text}
        if regions:
            point |= {"value": "0", "duration": str(stop - start)}
        ET.SubElement(dataset, "point", point)
    display = ET.SubElement(root, "display")
    kind = "regions" if regions else "timeinstants"
    ET.SubElement(display, "layer", id="2", type=kind, name=layer.name, model="1")
    return _xml(root, doctype="<!DOCTYPE sonic-visualiser>\n")


def to_eaf(layer: Layer) -> str:
    """ELAN forbids overlaps within a tier: overlapping labels go to extra tiers ("name 2")."""
    root = ET.Element(
        "ANNOTATION_DOCUMENT",
        {
            "AUTHOR": layer.source,
            "DATE": layer.created.isoformat(timespec="seconds"),
            "FORMAT": "3.0",
            "VERSION": "3.0",
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
        },
    )
    header = ET.SubElement(root, "HEADER", MEDIA_FILE="", TIME_UNITS="milliseconds")
    if layer.media_url:
        ET.SubElement(header, "MEDIA_DESCRIPTOR", MEDIA_URL=layer.media_url, MIME_TYPE="audio/*")
    order = ET.SubElement(root, "TIME_ORDER")
    tiers = _tiers(layer.labels)
    slots = sorted(
        (ms, n, side)
        for n, label in enumerate(layer.labels)
        for side, ms in enumerate((_ms(label.start), _ms(label.end)))
    )
    slot_ids = {}
    for number, (ms, n, side) in enumerate(slots, start=1):
        slot_ids[n, side] = f"ts{number}"
        ET.SubElement(order, "TIME_SLOT", TIME_SLOT_ID=f"ts{number}", TIME_VALUE=str(ms))
    for t, members in enumerate(tiers):
        name = layer.name if t == 0 else f"{layer.name} {t + 1}"
        tier = ET.SubElement(root, "TIER", LINGUISTIC_TYPE_REF="default-lt", TIER_ID=name)
        for n in members:
            annotation = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION")
            annotation.set("ANNOTATION_ID", f"a{n + 1}")
            annotation.set("TIME_SLOT_REF1", slot_ids[n, 0])
            annotation.set("TIME_SLOT_REF2", slot_ids[n, 1])
            ET.SubElement(annotation, "ANNOTATION_VALUE").text = layer.labels[n].text
    ET.SubElement(
        root,
        "LINGUISTIC_TYPE",
        GRAPHIC_REFERENCES="false",
        LINGUISTIC_TYPE_ID="default-lt",
        TIME_ALIGNABLE="true",
    )
    return _xml(root)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _tiers(labels: Sequence[Label]) -> list[list[int]]:
    """Greedy interval partitioning: each label joins the first tier it does not overlap."""
    tiers: list[list[int]] = []
    ends: list[int] = []
    for n in sorted(range(len(labels)), key=lambda n: (labels[n].start, labels[n].end)):
        start = _ms(labels[n].start)
        tier = next((t for t, end in enumerate(ends) if end <= start), None)
        if tier is None:
            tiers.append([])
            ends.append(0)
            tier = len(tiers) - 1
        tiers[tier].append(n)
        ends[tier] = _ms(labels[n].end)
    return tiers


def _xml(root: ET.Element, doctype: str = "") -> str:
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}{body}\n'


@dataclass(frozen=True, slots=True)
class Format:
    write: Callable[[Layer], str]
    media_type: str
    extension: str


FORMATS: dict[str, Format] = {
    "jams": Format(to_jams, "application/json", "jams"),
    "svl": Format(to_svl, "application/xml", "svl"),
    "eaf": Format(to_eaf, "application/xml", "eaf"),
    "txt": Format(to_audacity, "text/plain", "txt"),  # Audacity labels
    "csv": Format(to_csv, "text/csv", "csv"),
}
