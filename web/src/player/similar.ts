/** The items nearest to the open one by their similarity descriptors, each a link that opens
 * it (`#item=<id>`), with its distance. */

import { request } from "./api";
import { h } from "./dom";
import { SIMILAR } from "./queries";
import type { SimilarEdge } from "./types";

export interface SimilarList {
  element: HTMLElement;
  /** Asks the server anew (after each load of the item: descriptors may have been computed). */
  reload(): Promise<void>;
}

export function similarList(itemId: string): SimilarList {
  const list = h("ol", {});
  const note = h("p", { class: "note" });
  const element = h("section", { class: "similar" }, h("h3", {}, "Similar items"), note, list);

  async function reload(): Promise<void> {
    const { item } = await request<{ item: { similar: { edges: SimilarEdge[] } | null } | null }>(SIMILAR, { id: itemId });
    const edges = item?.similar?.edges ?? [];
    element.dataset.state = !item?.similar ? "none" : edges.length ? "listed" : "empty";
    note.textContent = !item?.similar ? "No descriptors yet: analyse with similarity_descriptors." : edges.length ? "" : "No other item has descriptors.";
    list.replaceChildren(
      ...edges.map(({ distance, node }) =>
        h(
          "li",
          { "data-id": node.id },
          h("a", { href: `#item=${node.id}` }, node.title || "(untitled)"),
          node.artist ? ` · ${node.artist}` : "",
          h("span", { class: "distance" }, distance.toFixed(3)),
        ),
      ),
    );
  }

  return { element, reload };
}
