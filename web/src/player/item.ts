/** One item: its audio, the waveform and chosen analysis lanes aligned under it, zoom and
 * pan (each change queries the server for that window), and the analysis panel. */

import { request, subscribe } from "./api";
import { analysisPanel } from "./analysis";
import { cataloguePanel } from "./catalogue";
import { debounce, formatTime, h } from "./dom";
import { type Lane, type LaneView, laneView, lanesOf, structureLanes, trackLanes } from "./lanes";
import { ITEM, ITEM_UPDATES } from "./queries";
import { similarList } from "./similar";
import type { Item, View } from "./types";

const MIN_WINDOW_S = 0.05;
const INGESTING = new Set(["PENDING", "RUNNING"]);
/** Results whose global values the page shows its own way (similar items, the sections' caption). */
const SHOWN_ELSEWHERE = new Set(["similarity_descriptors", "audio_analysis"]);

export interface ItemView {
  element: HTMLElement;
  destroy(): void;
}

export function itemView(id: string): ItemView {
  const element = h("section", { class: "item", "data-id": id }, h("p", {}, "loading…"));
  const chosen = new Set<string>();
  const known = new Set<string>();
  let stopUpdates = () => {};
  let frame = 0;
  let destroyed = false;
  let saved: View | null = null; // the window, kept across reloads (new results, tracks chosen)
  // Kept across reloads (a finished analysis reloads the results): playback and task state.
  const analysis = analysisPanel(id, () => void load());
  const catalogue = cataloguePanel(id, () => void load());
  const similar = similarList(id);
  const audio = h("audio", { controls: true, preload: "metadata" });

  async function load(): Promise<void> {
    const { item } = await request<{ item: Item | null }>(ITEM, { id });
    if (destroyed) return;
    if (!item) {
      element.replaceChildren(h("p", {}, "No such item, or it is private: log in."));
      return;
    }
    show(item);
    void similar.reload().catch((error) => (similar.element.dataset.error = String(error)));
    if (INGESTING.has(item.ingestStatus)) followIngest();
  }

  function followIngest(): void {
    const updates = subscribe<{ itemUpdates: { item: { ingestStatus: string } } }>(ITEM_UPDATES, { id }, ({ itemUpdates }) => {
      if (!INGESTING.has(itemUpdates.item.ingestStatus)) {
        updates.stop();
        void load();
      }
    });
    stopUpdates = updates.stop;
  }

  function show(item: Item): void {
    cancelAnimationFrame(frame);
    const duration = item.audioDuration ?? 0;
    let view: View = saved ?? { start: 0, stop: duration || 1 };
    const lanes = [...lanesOf(item.results), ...structureLanes(item.results), ...trackLanes(item.analysisTracks)];
    for (const lane of lanes.filter((l) => !known.has(l.key))) {
      known.add(lane.key); // new tracks show; those you hid stay hidden
      chosen.add(lane.key);
    }
    if (item.streamUrl && audio.src !== item.streamUrl) audio.src = item.streamUrl;
    const range = h("span", { class: "range" });
    const cursor = h("div", { class: "cursor" });
    const waveform: Lane = { key: "waveform", label: "waveform", kind: "waveform", id: "", output: null };
    const views: LaneView[] = [waveform, ...lanes.filter((l) => chosen.has(l.key))].map((lane) => laneView(item.id, lane));
    const stack = h("div", { class: "lanes" }, ...views.map((v) => v.element), cursor);

    const render = debounce(() => {
      range.textContent = `${formatTime(view.start)} – ${formatTime(view.stop)}`;
      stack.dataset.start = String(view.start);
      stack.dataset.stop = String(view.stop);
      const width = stack.clientWidth;
      for (const v of views) void v.render(view, width).catch((error) => (v.element.dataset.error = String(error)));
    }, 80);

    function setView(start: number, stop: number): void {
      const length = Math.min(Math.max(stop - start, MIN_WINDOW_S), duration || stop - start);
      const begin = Math.min(Math.max(start, 0), Math.max(0, (duration || stop) - length));
      view = saved = { start: begin, stop: begin + length };
      render();
    }

    const zoom = (factor: number, around = (view.start + view.stop) / 2) => {
      const length = (view.stop - view.start) * factor;
      const at = (around - view.start) / (view.stop - view.start);
      setView(around - at * length, around - at * length + length);
    };
    const timeAt = (event: MouseEvent) => {
      const box = stack.getBoundingClientRect();
      return view.start + ((event.clientX - box.left) / box.width) * (view.stop - view.start);
    };
    stack.addEventListener("click", (event) => {
      audio.currentTime = Math.max(0, timeAt(event));
    });
    stack.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(event.deltaY > 0 ? 1.25 : 0.8, timeAt(event));
    });

    const tick = () => {
      const t = audio.currentTime;
      const length = view.stop - view.start;
      if (!audio.paused && (t > view.stop || t < view.start)) setView(t, t + length); // follow
      cursor.style.left = `${((t - view.start) / length) * 100}%`;
      cursor.hidden = t < view.start || t > view.stop;
      frame = requestAnimationFrame(tick);
    };

    const toolbar = h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", name: "zoom-in", title: "zoom in", onclick: () => zoom(0.5, audio.paused ? undefined : audio.currentTime) }, "+"),
      h("button", { type: "button", name: "zoom-out", title: "zoom out", onclick: () => zoom(2) }, "−"),
      h("button", { type: "button", name: "fit", title: "whole item", onclick: () => setView(0, duration || 1) }, "fit"),
      h("button", { type: "button", name: "back", title: "earlier", onclick: () => setView(view.start - (view.stop - view.start) / 2, view.stop - (view.stop - view.start) / 2) }, "◀"),
      h("button", { type: "button", name: "forward", title: "later", onclick: () => setView(view.start + (view.stop - view.start) / 2, view.stop + (view.stop - view.start) / 2) }, "▶"),
      range,
    );

    const choices = h(
      "details",
      { class: "tracks" },
      h("summary", {}, `Tracks (${lanes.length})`),
      ...lanes.map((lane) =>
        h(
          "label",
          {},
          h("input", {
            type: "checkbox",
            checked: chosen.has(lane.key),
            onchange: (event: Event) => {
              if ((event.target as HTMLInputElement).checked) chosen.add(lane.key);
              else chosen.delete(lane.key);
              show(item);
            },
          }),
          ` ${lane.label}`,
        ),
      ),
    );
    const globals = item.results.filter((r) => !SHOWN_ELSEWHERE.has(r.preset.processor.pid)).flatMap((result) =>
      (result.outputs ?? [])
        .filter((o) => o.timeMode === "global" && o.value !== null)
        .map((o) => h("li", {}, `${o.name}: ${JSON.stringify(o.value)}${o.unit ? ` ${o.unit}` : ""}`)),
    );
    const failed = item.results.filter((r) => r.status === "FAILED").map((r) => h("li", { class: "failed" }, `${r.preset.processor.pid}: ${r.error ?? "failed"}`));

    element.replaceChildren(
      h("h2", {}, item.title || "(untitled)"),
      h("p", { class: "meta" }, [item.artist, item.album, duration ? formatTime(duration) : null, `ingest ${item.ingestStatus.toLowerCase()}`, item.ingestError].filter(Boolean).join(" · ")),
      audio,
      toolbar,
      stack,
      choices,
      h("ul", { class: "globals" }, ...globals, ...failed),
      similar.element,
      catalogue.element,
      analysis,
    );
    catalogue.show(item.analysisTracks);
    render();
    frame = requestAnimationFrame(tick);
  }

  void load().catch((error) => element.replaceChildren(h("p", { class: "error" }, String(error))));
  return {
    element,
    destroy() {
      destroyed = true;
      stopUpdates();
      cancelAnimationFrame(frame);
    },
  };
}
