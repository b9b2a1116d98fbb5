/** The player's transport: GraphQL over HTTP (fetch) and over graphql-transport-ws, both with
 * the API token; the streaming upload route. */

import { type Client, createClient } from "graphql-ws";

import { authHeaders, connectionParams, getToken, wsUrl } from "../token";

export class ApiError extends Error {}

/** One operation over HTTP; GraphQL errors become an ApiError. */
export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  if (!response.ok && !response.headers.get("content-type")?.includes("json")) {
    throw new ApiError(`${response.status} ${await response.text()}`);
  }
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new ApiError(body.errors.map((e) => e.message).join("; "));
  return body.data as T;
}

let client: { token: string; ws: Client } | null = null;

/** The WebSocket client, made again when the token changes (it authenticates at connect). */
function ws(): Client {
  const token = getToken();
  if (client?.token !== token) {
    void client?.ws.dispose();
    client = { token, ws: createClient({ url: wsUrl(), connectionParams: () => connectionParams(token) }) };
  }
  return client.ws;
}

/** Calls `onData` with each payload until the server completes the subscription or `stop()`. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
): { done: Promise<void>; stop(): void } {
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    stop = ws().subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(new ApiError(result.errors.map((e) => e.message).join("; ")));
          else if (result.data) onData(result.data as T);
        },
        error: (error) => reject(error instanceof Error ? error : new ApiError(String(error))),
        complete: resolve,
      },
    );
  });
  return { done, stop: () => stop() };
}

export interface UploadedItem {
  id: string;
  title: string;
  ingest_status: string;
}

/** POST /media/items: the file streamed as the request body (no multipart, no size cap but
 * the server's). */
export async function upload(file: File, title: string): Promise<UploadedItem> {
  const params = new URLSearchParams({ filename: file.name, title: title || file.name });
  const response = await fetch(`/media/items?${params}`, {
    method: "POST",
    headers: { "Content-Type": file.type || "application/octet-stream", ...authHeaders() },
    body: file,
  });
  const body = await response.json();
  if (!response.ok) throw new ApiError(body.error ?? `upload refused (${response.status})`);
  return body as UploadedItem;
}
