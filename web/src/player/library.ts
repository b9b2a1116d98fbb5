/** The left column: search the items, open one, upload a file as a new item. */

import { request, upload } from "./api";
import { debounce, formatTime, h } from "./dom";
import { ITEMS } from "./queries";
import type { ItemSummary } from "./types";

export interface Library {
  element: HTMLElement;
  reload(): Promise<void>;
}

export function library(open: (id: string) => void): Library {
  const search = h("input", { type: "search", name: "search", placeholder: "search title, artist, album" });
  const count = h("p", { class: "count" });
  const list = h("ul", { class: "items" });
  const status = h("p", { class: "upload-status" });
  const file = h("input", { type: "file", name: "file", accept: "audio/*,video/*" });
  const title = h("input", { name: "title", placeholder: "title (default: file name)" });

  async function reload(): Promise<void> {
    const { items } = await request<{ items: { totalCount: number; nodes: ItemSummary[] } }>(ITEMS, {
      search: search.value.trim() || null,
    });
    count.textContent = `${items.totalCount} item${items.totalCount === 1 ? "" : "s"}`;
    list.replaceChildren(
      ...items.nodes.map((item) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", "data-id": item.id, onclick: () => open(item.id) },
            h("span", { class: "title" }, item.title || "(untitled)"),
            h("span", { class: "meta" }, [item.artist, item.audioDuration ? formatTime(item.audioDuration) : item.ingestStatus.toLowerCase()].filter(Boolean).join(" · ")),
          ),
        ),
      ),
    );
  }

  const send = async (event: Event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    status.textContent = `uploading ${chosen.name}…`;
    try {
      const item = await upload(chosen, title.value.trim());
      status.textContent = `uploaded: ${item.title}`;
      file.value = "";
      title.value = "";
      await reload();
      open(item.id);
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  };

  search.addEventListener("input", debounce(() => void reload(), 200));
  const element = h(
    "aside",
    {},
    search,
    count,
    list,
    h("form", { class: "upload", onsubmit: send }, h("h3", {}, "Upload"), file, title, h("button", { type: "submit" }, "Upload")),
    status,
  );
  return { element, reload };
}
