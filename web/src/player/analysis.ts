/** Start a task on the item with the chosen processors and follow it until it ends; the task
 * follower is shared with the analysis catalogue's compute button. */

import { request, subscribe } from "./api";
import { h } from "./dom";
import { CREATE_EXPERIENCE, CREATE_PRESET, PROCESSORS, RUN_TASK, TASK_UPDATES } from "./queries";

interface Processor {
  id: string;
  pid: string;
  name: string;
}

interface TaskUpdate {
  kind: string;
  task: { status: string; error: string | null; itemsTotal: number; itemsDone: number; itemsFailed: number };
  job: { progress: number } | null;
  result: { status: string; preset: { processor: { pid: string } } } | null;
}

export type Payload = { __typename: string; id?: string; message?: string };

const DEFAULTS = new Set(["pitch", "onsets", "spectrogram_analyzer", "tempo", "silence"]);
const ENDED = new Set(["DONE", "FAILED", "CANCELLED"]);

/** The id a mutation answered, or its typed error thrown. */
export function payload(value: Payload): string {
  if (!value.id) throw new Error(value.message ?? value.__typename);
  return value.id;
}

export interface TaskFollower {
  element: HTMLElement;
  /** Shows "starting…" until `follow`. */
  starting(): void;
  /** Follows the task's updates with a progress bar that never goes back, until it ends. */
  follow(taskId: string): Promise<void>;
  failed(error: unknown): void;
}

export function taskFollower(): TaskFollower {
  const progress = h("progress", { max: 1, value: 0 });
  const status = h("span", { class: "task-status" });
  const element = h("div", { class: "task", "data-status": "NONE" }, progress, status);

  function show(update: TaskUpdate): void {
    const { task, job } = update;
    const fraction = task.itemsTotal ? task.itemsDone / task.itemsTotal : 0;
    // Never backwards: result events come with no job, before itemsDone counts the item.
    progress.value = ENDED.has(task.status) ? 1 : Math.max(progress.value, fraction, job?.progress ?? 0);
    const finished = update.result ? ` · ${update.result.preset.processor.pid} ${update.result.status.toLowerCase()}` : "";
    status.textContent = `${task.status}${task.error ? `: ${task.error}` : ""}${ENDED.has(task.status) ? "" : ` ${Math.round(progress.value * 100)}%${finished}`}`;
    element.dataset.status = task.status;
  }

  return {
    element,
    starting() {
      element.dataset.status = "STARTING";
      progress.value = 0;
      status.textContent = "starting…";
    },
    follow: (taskId) => subscribe<{ taskUpdates: TaskUpdate }>(TASK_UPDATES, { id: taskId }, ({ taskUpdates }) => show(taskUpdates)).done,
    failed(error) {
      element.dataset.status = "ERROR";
      status.textContent = error instanceof Error ? error.message : String(error);
    },
  };
}

export function analysisPanel(itemId: string, onDone: () => void): HTMLElement {
  const choices = h("div", { class: "processors" });
  const task = taskFollower();
  const button = h("button", { type: "submit" }, "Analyse");

  void request<{ analyzers: { nodes: Processor[] }; graphers: { nodes: Processor[] } }>(PROCESSORS).then(({ analyzers, graphers }) => {
    const all = [...analyzers.nodes, ...graphers.nodes].filter((p) => p.pid !== "waveform_analyzer");
    choices.replaceChildren(
      ...all.map((p) =>
        h("label", { title: p.name }, h("input", { type: "checkbox", name: "processor", value: p.id, "data-pid": p.pid, checked: DEFAULTS.has(p.pid) }), ` ${p.pid}`),
      ),
    );
  });

  async function start(event: Event): Promise<void> {
    event.preventDefault();
    const chosen = [...choices.querySelectorAll<HTMLInputElement>("input:checked")];
    if (!chosen.length) return;
    button.disabled = true;
    task.starting();
    try {
      const presets: string[] = [];
      for (const input of chosen) {
        const { createPreset } = await request<{ createPreset: Payload }>(CREATE_PRESET, { processor: input.value });
        presets.push(payload(createPreset));
      }
      const title = `player: ${chosen.map((input) => input.dataset.pid).join(", ")}`;
      const { createExperience } = await request<{ createExperience: Payload }>(CREATE_EXPERIENCE, { title, presets });
      const experience = payload(createExperience);
      const { createTask } = await request<{ createTask: Payload }>(RUN_TASK, { experience, item: itemId });
      await task.follow(payload(createTask));
      onDone();
    } catch (error) {
      task.failed(error);
    } finally {
      button.disabled = false;
    }
  }

  return h("form", { class: "analysis", onsubmit: (e: Event) => void start(e) }, h("h3", {}, "Analyse"), choices, button, task.element);
}
