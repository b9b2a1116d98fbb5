/**
 * A typed timeside-gql client: items over HTTP with an API token, the items nearest to one,
 * then a task run and followed over a WebSocket (graphql-transport-ws) until it ends. The
 * operations' result and variable types are generated from schema.graphql (`npm run codegen`,
 * into src/gql/).
 *
 *   npm ci && npm run build
 *   TIMESIDE_URL=http://127.0.0.1:8000 TIMESIDE_TOKEN=... node dist/client.js [task id]
 *   TIMESIDE_URL=... TIMESIDE_TOKEN=... node dist/client.js --similar <item id>
 */

import type { ResultOf, TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { graphql } from "./gql/gql.js";

const Items = graphql(`
  query ClientItems($search: String) {
    items(first: 20, filter: { search: $search }) {
      totalCount
      nodes { id title audioDuration }
    }
  }
`);

const Similar = graphql(`
  query ClientSimilar($id: UUID!) {
    item(id: $id) {
      title
      similar(first: 10, by: ALL) { edges { distance node { id title } } }
    }
  }
`);

const Run = graphql(`
  mutation ClientRun($id: UUID!) {
    runTask(id: $id) {
      __typename
      ... on Task { status }
      ... on Error { message }
    }
  }
`);

const Follow = graphql(`
  subscription ClientFollow($id: UUID!) {
    taskUpdates(taskId: $id) {
      kind
      task { status itemsTotal itemsDone }
      job { progress }
    }
  }
`);

const url = process.env.TIMESIDE_URL ?? "http://127.0.0.1:8000";
const token = process.env.TIMESIDE_TOKEN ?? "";

/** One operation over HTTP; the result is typed by the document. */
async function request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: R; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(body.errors?.[0]?.message ?? "no data");
  return body.data;
}

/** Print each update of the task until the server completes the subscription. */
async function follow(taskId: string): Promise<string> {
  const client = createClient({
    url: url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  let status = "UNKNOWN";
  try {
    const updates = client.iterate({ query: print(Follow), variables: { id: taskId } });
    for await (const { data } of updates) {
      const update = (data as ResultOf<typeof Follow> | null | undefined)?.taskUpdates;
      if (!update) continue;
      status = update.task.status;
      const progress = update.job ? ` ${Math.round(update.job.progress * 100)}%` : "";
      console.log(`${update.kind} ${status} ${update.task.itemsDone}/${update.task.itemsTotal}${progress}`);
    }
  } finally {
    await client.dispose();
  }
  return status;
}

/** Print the items nearest to one, with their descriptor distance. */
async function similar(itemId: string): Promise<number> {
  const { item } = await request(Similar, { id: itemId });
  if (!item) {
    console.log("no such item");
    return 1;
  }
  if (!item.similar) {
    console.log(`${item.title}: no descriptors yet (run the similarity_descriptors preset)`);
    return 0;
  }
  console.log(`nearest to ${item.title}`);
  for (const { distance, node } of item.similar.edges) console.log(`  ${distance.toFixed(3)}  ${node.id}  ${node.title}`);
  return 0;
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--similar" && args[1]) return similar(args[1]);
  const taskId = args[0];
  const { items } = await request(Items, { search: null });
  console.log(`${items.totalCount} items`);
  for (const item of items.nodes) console.log(`  ${item.id}  ${item.title}`);
  if (!taskId) return 0;
  const { runTask } = await request(Run, { id: taskId });
  if (runTask.__typename !== "Task") {
    console.log(`runTask refused: ${runTask.message}`);
    return 1;
  }
  const status = await follow(taskId);
  console.log(`task ${status.toLowerCase()}`);
  return status === "DONE" ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
