/** The analysis catalogue on an item: its tracks and their state, a form adding one from the
 * public analyses, and a button computing the missing ones as one task. */

import { request } from "./api";
import { type Payload, payload, taskFollower } from "./analysis";
import { h } from "./dom";
import { ANALYSES, COMPUTE_TRACKS, CREATE_TRACK } from "./queries";
import type { AnalysisTrack } from "./types";

interface Analysis {
  id: string;
  title: string;
  renderType: string;
}

export interface CataloguePanel {
  element: HTMLElement;
  /** Lists the item's tracks anew (after each load of the item). */
  show(tracks: AnalysisTrack[]): void;
}

export function cataloguePanel(itemId: string, onChange: () => void): CataloguePanel {
  const list = h("ul", { class: "analysis-tracks" });
  const analysis = h("select", { name: "analysis", required: true });
  const color = h("input", { type: "color", name: "color", value: "#2a9d8f" });
  const add = h("button", { type: "submit", name: "add-track" }, "Add track");
  const task = taskFollower();
  const compute = h("button", { type: "button", name: "compute-tracks", onclick: () => void run() }, "Compute");
  const error = h("p", { class: "error" });

  void request<{ analyses: { nodes: Analysis[] } }>(ANALYSES).then(({ analyses }) => {
    analysis.replaceChildren(...analyses.nodes.map((a) => h("option", { value: a.id }, `${a.title} (${a.renderType.toLowerCase()})`)));
  });

  const say = (e: unknown) => (error.textContent = e instanceof Error ? e.message : String(e));

  /** Runs one action with the buttons disabled, then reloads the item; `fail` shows its error. */
  async function act(work: () => Promise<void>, fail: (e: unknown) => void = say): Promise<void> {
    add.disabled = compute.disabled = true;
    error.textContent = "";
    try {
      await work();
      onChange();
    } catch (e) {
      fail(e);
    } finally {
      add.disabled = compute.disabled = false;
    }
  }

  const create = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const { createAnalysisTrack } = await request<{ createAnalysisTrack: Payload }>(CREATE_TRACK, { item: itemId, analysis: analysis.value, color: color.value });
      payload(createAnalysisTrack);
    });
  };

  const run = () =>
    act(async () => {
      task.starting();
      const { computeAnalysisTracks } = await request<{ computeAnalysisTracks: Payload }>(COMPUTE_TRACKS, { item: itemId });
      await task.follow(payload(computeAnalysisTracks));
    }, task.failed);

  const element = h(
    "section",
    { class: "catalogue" },
    h("h3", {}, "Analysis tracks"),
    list,
    h("form", { class: "add-track", onsubmit: create }, analysis, color, add),
    compute,
    task.element,
    error,
  );
  return {
    element,
    show(tracks) {
      list.replaceChildren(
        ...tracks.map((t) => {
          const li = h("li", { "data-id": t.id, "data-status": t.status }, `${t.title || t.analysis?.title || "(analysis)"}: ${t.status.toLowerCase()}`);
          li.style.borderLeftColor = t.color; // CSSOM: the CSP refuses style attributes
          return li;
        }),
      );
    },
  };
}
