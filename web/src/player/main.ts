/** The player page: items on the left, the open item on the right (`#item=<id>` in the URL). */

import "./player.css";

import { h } from "./dom";
import { type ItemView, itemView } from "./item";
import { library } from "./library";
import { sessionBar } from "./session";

const main = h("main", {}, h("p", { class: "hint" }, "Choose an item, or upload a file."));
let current: ItemView | null = null;

function open(id: string): void {
  current?.destroy();
  current = itemView(id);
  main.replaceChildren(current.element);
  if (location.hash !== `#item=${id}`) history.replaceState(null, "", `#item=${id}`);
}

const items = library(open);
const header = sessionBar(() => {
  void items.reload();
  const id = new URLSearchParams(location.hash.slice(1)).get("item");
  if (id) open(id);
});

// A link to another item (the similar items' list) opens it.
window.addEventListener("hashchange", () => {
  const id = new URLSearchParams(location.hash.slice(1)).get("item");
  if (id && id !== current?.element.dataset.id) open(id);
});

document.getElementById("app")!.replaceChildren(header, h("div", { class: "layout" }, items.element, main));
