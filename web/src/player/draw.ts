/** Drawing of the lanes on canvases: every lane maps [view.start, view.stop] to its width, so
 * the waveform, lines, marks and segments line up under the audio player's time. */

import type { Series, View, Waveform } from "./types";

const PALETTE = ["#457b9d", "#e63946", "#2a9d8f", "#e9c46a", "#8d5ba6", "#f4a261", "#264653"];

/** A canvas sized to its CSS box in device pixels; returns its context and size in CSS px. */
export function prepare(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

export function xOf(t: number, view: View, w: number): number {
  return ((t - view.start) / (view.stop - view.start)) * w;
}

/** Min/max peaks as one vertical bar per column, amplitude ±1 over the lane's height. */
export function drawWaveform(canvas: HTMLCanvasElement, wave: Waveform, view: View): void {
  const { ctx, w, h } = prepare(canvas);
  const mid = h / 2;
  ctx.strokeStyle = "#bbb";
  ctx.beginPath();
  ctx.moveTo(0, mid);
  ctx.lineTo(w, mid);
  ctx.stroke();
  ctx.fillStyle = PALETTE[0];
  const column = Math.max(1, w / Math.max(wave.times.length, 1));
  wave.times.forEach((t, i) => {
    const top = mid - wave.max[i] * mid;
    const bottom = mid - wave.min[i] * mid;
    ctx.fillRect(xOf(t, view, w) - column / 2, top, column, Math.max(1, bottom - top));
  });
  canvas.dataset.columns = String(wave.times.length);
  canvas.dataset.window = `${wave.start}-${wave.stop}`;
  canvas.dataset.peak = Math.max(0, ...wave.max).toFixed(3);
}

function finite(values: (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

/** A one-dimension framewise output: its mean as a line, its min/max as a band. */
export function drawLine(canvas: HTMLCanvasElement, series: Series, view: View, color = PALETTE[1]): [number, number] | null {
  const { ctx, w, h } = prepare(canvas);
  const values = series.values ?? [];
  const all = finite([...values, ...(series.min ?? []), ...(series.max ?? [])]);
  canvas.dataset.points = String(series.times.length);
  if (!all.length) return null;
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  // A near-constant output (a steady pitch) stays a flat line, not magnified noise.
  const floor = Math.max(0.1 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-6);
  if (hi - lo < floor) [lo, hi] = [(lo + hi - floor) / 2, (lo + hi + floor) / 2];
  const y = (v: number) => h - 4 - ((v - lo) / (hi - lo)) * (h - 8);
  if (series.min && series.max) {
    ctx.fillStyle = color;
    ctx.globalAlpha = 0.25;
    series.times.forEach((t, i) => {
      const [a, b] = [series.min![i], series.max![i]];
      if (a === null || b === null) return;
      ctx.fillRect(xOf(t, view, w) - 1, y(b), 2, Math.max(1, y(a) - y(b)));
    });
    ctx.globalAlpha = 1;
  }
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let drawing = false;
  series.times.forEach((t, i) => {
    const v = values[i] ?? null;
    if (v === null || !Number.isFinite(v)) {
      drawing = false; // a gap (unvoiced frames) stays a gap
      return;
    }
    if (drawing) ctx.lineTo(xOf(t, view, w), y(v));
    else ctx.moveTo(xOf(t, view, w), y(v));
    drawing = true;
  });
  ctx.stroke();
  return [lo, hi];
}

/** Events as vertical marks. */
export function drawEvents(canvas: HTMLCanvasElement, series: Pick<Series, "times">, view: View, color = PALETTE[2]): void {
  const { ctx, w, h } = prepare(canvas);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  for (const t of series.times) {
    const x = xOf(t, view, w);
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, h);
    ctx.stroke();
  }
  canvas.dataset.points = String(series.times.length);
}

/** What segments need: a start, a duration and a label (or a value to name it) each. */
export type Boxes = Pick<Series, "times" | "durations" | "labels" | "labelNames"> & Partial<Pick<Series, "values">>;

/** Segments as boxes coloured and named by label. */
export function drawSegments(canvas: HTMLCanvasElement, series: Boxes, view: View): void {
  const { ctx, w, h } = prepare(canvas);
  const names = new Map(series.labelNames.map((l) => [l.id, l.name]));
  ctx.font = "11px system-ui, sans-serif";
  series.times.forEach((t, i) => {
    const label = series.labels?.[i] ?? i;
    const x0 = xOf(t, view, w);
    const x1 = xOf(t + (series.durations?.[i] ?? 0), view, w);
    ctx.fillStyle = PALETTE[label % PALETTE.length] + "88";
    ctx.fillRect(x0, 2, Math.max(1, x1 - x0), h - 4);
    ctx.fillStyle = "#111";
    const name = names.get(label) ?? (series.values?.[i] ?? "").toString();
    const [left, right] = [Math.max(x0, 0), Math.min(x1, w)]; // the visible part of the box
    if (right - left > 24) ctx.fillText(name, left + 3, h / 2 + 4, right - left - 6);
  });
  canvas.dataset.points = String(series.times.length);
}
