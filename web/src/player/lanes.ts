/** Which lanes an item's results, audio analysis and analysis tracks give, and how each is
 * fetched and drawn for a time window. */

import { request } from "./api";
import { type Boxes, drawEvents, drawLine, drawSegments, drawWaveform } from "./draw";
import { h } from "./dom";
import { SERIES, STRUCTURE, TRACK_SERIES, TRACK_VISUAL, VISUAL, WAVEFORM } from "./queries";
import type { AnalysisTrack, AudioAnalysis, Interval, Result, Series, View, Waveform } from "./types";

/** The parts of the audio analysis drawn, each a lane: sections as boxes, bars and beats as ticks. */
const PARTS = ["sections", "bars", "beats"] as const;
type Part = (typeof PARTS)[number];
const TICK_COLORS: Record<Exclude<Part, "sections">, string> = { bars: "#1d3557", beats: "#8d5ba6" };

export type LaneKind = "waveform" | "line" | "events" | "segments" | "image" | Part;

export interface Lane {
  key: string;
  label: string;
  kind: LaneKind;
  /** A result's id (with `output`), or an analysis track's (`track`: the track knows its output). */
  id: string;
  output: string | null;
  track?: boolean;
  color?: string;
}

/** The ingest's own waveform result is the waveform lane; the audio analysis is drawn from its
 * typed field (structureLanes); encoders have nothing to draw. */
const HIDDEN = new Set(["waveform_analyzer", "audio_analysis"]);

/** Every drawable output of the done results; global outputs are listed, not drawn. */
export function lanesOf(results: Result[]): Lane[] {
  const lanes: Lane[] = [];
  for (const result of results) {
    const processor = result.preset.processor;
    if (result.status !== "DONE" || HIDDEN.has(processor.pid) || processor.kind === "ENCODER") continue;
    if (processor.kind === "GRAPHER") {
      lanes.push({ key: `${result.id}:`, label: processor.name, kind: "image", id: result.id, output: null });
      continue;
    }
    for (const output of result.outputs ?? []) {
      const kind = kindOf(output.timeMode, output.dimensions);
      if (!kind) continue;
      const unit = output.unit ? ` (${output.unit})` : "";
      lanes.push({ key: `${result.id}:${output.id}`, label: `${output.name}${unit}`, kind, id: result.id, output: output.id });
    }
  }
  return lanes;
}

/** Sections, bars and beats once an `audio_analysis` result is done (`Item.audioAnalysis` reads
 * the newest). */
export function structureLanes(results: Result[]): Lane[] {
  const done = results.some((r) => r.status === "DONE" && r.preset.processor.pid === "audio_analysis");
  return done ? PARTS.map((part) => ({ key: `structure:${part}`, label: part, kind: part, id: "", output: null })) : [];
}

/** Sections as labelled boxes: "A" is 0, "B" 1… so a label keeps its colour in every window. */
function boxes(sections: Interval[]): Boxes {
  const id = (label = "") => Math.abs([...label].reduce((n, c) => n * 26 + c.charCodeAt(0) - 64, 0) - 1);
  return {
    times: sections.map((s) => s.start),
    durations: sections.map((s) => s.duration),
    labels: sections.map((s) => id(s.label)),
    labelNames: [...new Set(sections.map((s) => s.label ?? ""))].map((name) => ({ id: id(name), name })),
  };
}

function summary(track: AudioAnalysis["track"]): string {
  if (!track) return "";
  const mode = track.mode === 1 ? "major" : "minor";
  return ` · ${track.tempo.toFixed(0)} BPM · ${track.keyName} ${mode} · ${track.timeSignature}/4`;
}

/** The done tracks: a picture (`IMAGE`), or their output drawn as a result's would be. */
export function trackLanes(tracks: AnalysisTrack[]): Lane[] {
  return tracks.flatMap((track) => {
    if (track.status !== "DONE" || !track.analysis) return [];
    const output = track.result?.outputs?.find((o) => o.id === track.analysis!.outputId);
    const kind = track.analysis.renderType === "IMAGE" ? "image" : output && kindOf(output.timeMode, output.dimensions);
    if (!kind) return [];
    return [{ key: `track:${track.id}`, label: track.title || track.analysis.title, kind, id: track.id, output: null, track: true, color: track.color || undefined }];
  });
}

function isPart(kind: LaneKind): kind is Part {
  return (PARTS as readonly string[]).includes(kind);
}

function kindOf(timeMode: string, dimensions: number): LaneKind | null {
  if (timeMode === "framewise") return dimensions === 1 ? "line" : "image";
  if (timeMode === "event") return "events";
  if (timeMode === "segment") return "segments";
  return null;
}

export interface LaneView {
  lane: Lane;
  element: HTMLElement;
  /** Fetch this lane's data for the window and draw it. */
  render(view: View, width: number): Promise<void>;
}

export function laneView(itemId: string, lane: Lane): LaneView {
  const caption = h("span", { class: "caption" }, lane.label);
  const canvas = h("canvas", { class: "lane-canvas" });
  const image = h("img", { class: "lane-image", alt: lane.label });
  const drawing = lane.kind === "image" ? image : canvas;
  const element = h("div", { class: `lane lane-${lane.kind}`, "data-key": lane.key, "data-kind": lane.kind }, drawing, caption);

  let latest = 0;

  async function render(view: View, width: number): Promise<void> {
    const asked = ++latest;
    const fresh = () => asked === latest; // a later window was asked for meanwhile: drop this one
    const window = { start: view.start, stop: view.stop };
    if (lane.kind === "waveform") {
      const { item } = await request<{ item: { waveform: Waveform | null } }>(WAVEFORM, { id: itemId, ...window, pixels: Math.max(1, Math.round(width)) });
      if (!fresh()) return;
      if (item.waveform) drawWaveform(canvas, item.waveform, view);
      element.dataset.ready = item.waveform ? "true" : "pending";
      return;
    }
    if (isPart(lane.kind)) {
      const part = lane.kind;
      const include = { sections: part === "sections", bars: part === "bars", beats: part === "beats" };
      const { item } = await request<{ item: { audioAnalysis: AudioAnalysis | null } }>(STRUCTURE, { id: itemId, ...window, ...include });
      if (!fresh()) return;
      const analysis = item.audioAnalysis;
      const intervals = analysis?.[part] ?? [];
      if (part === "sections") {
        drawSegments(canvas, boxes(intervals), view);
        caption.textContent = lane.label + summary(analysis?.track);
      } else drawEvents(canvas, { times: intervals.map((i) => i.start) }, view, TICK_COLORS[part]);
      element.dataset.ready = analysis ? "true" : "pending";
      return;
    }
    const target = lane.track ? { id: lane.id } : { id: lane.id, output: lane.output };
    if (lane.kind === "image") {
      const height = Math.round(image.clientHeight || 120);
      const { data } = await request<{ data: { visualUrl: string | null } }>(lane.track ? TRACK_VISUAL : VISUAL, { ...target, ...window, width: Math.round(width), height });
      if (!fresh()) return;
      if (data.visualUrl) image.src = data.visualUrl;
      element.dataset.ready = "true";
      return;
    }
    const { data } = await request<{ data: { series: Series | null } }>(lane.track ? TRACK_SERIES : SERIES, { ...target, ...window, points: Math.max(1, Math.round(width)) });
    const series = data.series;
    if (!series || !fresh()) return;
    if (lane.kind === "line") {
      const range = drawLine(canvas, series, view, lane.color);
      caption.textContent = range ? `${lane.label} ${range[0].toFixed(1)} – ${range[1].toFixed(1)}` : lane.label;
    } else if (lane.kind === "events") drawEvents(canvas, series, view, lane.color);
    else drawSegments(canvas, series, view);
    element.dataset.ready = "true";
  }

  return { lane, element, render };
}
