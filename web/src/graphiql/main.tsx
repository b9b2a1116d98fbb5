/** The playground: GraphiQL with the explorer, subscriptions over graphql-transport-ws and the
 * API token sent on every request and in the WebSocket's connection_init payload. */

import "graphiql/setup-workers/vite";
// graphiql/style.css without its 400 kB of embedded Roboto and Fira Code: system fonts instead.
import "@graphiql/react/style.css";
import "@graphiql/plugin-doc-explorer/style.css";
import "@graphiql/plugin-history/style.css";
import "@graphiql/plugin-explorer/style.css";
import "graphiql/graphiql.css";
import "./graphiql.css";

import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL, HISTORY_PLUGIN } from "graphiql";
import { StrictMode, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";

import { authHeaders, connectionParams, getToken, setToken, wsUrl } from "../token";

const DEFAULT_QUERY = `# The API token above is sent as "Authorization: Bearer <token>" and,
# for subscriptions, in the WebSocket's connection_init payload.
# audioAnalysis (the structure) is null until an audio_analysis result is done; similar (the
# nearest items by descriptor distance) until a similarity_descriptors result is.
query Items {
  me { username }
  items(first: 10) {
    totalCount
    nodes {
      id title artist audioDuration
      audioAnalysis(start: 0, stop: 30) {
        track { tempo keyName mode timeSignature }
        sections { start duration label confidence }
        bars { start }
        beats { start confidence }
      }
      similar(first: 5, by: ALL) {
        edges { distance node { id title } }
      }
    }
  }
}
`;

const explorer = explorerPlugin();

function TokenBar({ token, onChange }: { token: string; onChange(token: string): void }) {
  return (
    <form
      className="token-bar"
      onSubmit={(event) => {
        event.preventDefault();
        const field = new FormData(event.currentTarget).get("token");
        onChange(typeof field === "string" ? field.trim() : "");
      }}
    >
      <strong>timeside-gql</strong>
      <label>
        API token{" "}
        <input name="token" type="password" defaultValue={token} autoComplete="off" size={40} />
      </label>
      <button type="submit">Use token</button>
      <span className="token-state">{token ? "authenticated requests" : "anonymous"}</span>
      <a href="/">player</a>
    </form>
  );
}

function Playground() {
  const [token, setState] = useState(getToken);
  const fetcher = useMemo(
    () =>
      createGraphiQLFetcher({
        url: "/graphql",
        subscriptionUrl: wsUrl(),
        headers: authHeaders(token),
        wsConnectionParams: connectionParams(token),
      }),
    [token],
  );
  const change = (next: string) => {
    setToken(next);
    setState(next);
  };
  return (
    <div className="playground">
      <TokenBar token={token} onChange={change} />
      <GraphiQL
        key={token /* a new fetcher: reload the schema with the new credentials */}
        fetcher={fetcher}
        plugins={[HISTORY_PLUGIN, explorer]}
        defaultQuery={DEFAULT_QUERY}
      />
    </div>
  );
}

createRoot(document.getElementById("graphiql")!).render(
  <StrictMode>
    <Playground />
  </StrictMode>,
);
