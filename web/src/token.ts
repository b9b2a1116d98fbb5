/** The API token, shared by the playground and the player through localStorage. */

const KEY = "timeside.token";

export function getToken(): string {
  return localStorage.getItem(KEY) ?? "";
}

export function setToken(token: string): void {
  if (token) localStorage.setItem(KEY, token.trim());
  else localStorage.removeItem(KEY);
}

/** HTTP headers for the token: `Authorization: Bearer <token>` when there is one. */
export function authHeaders(token: string = getToken()): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The graphql-transport-ws `connection_init` payload the server reads the token from. */
export function connectionParams(token: string = getToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The same-origin WebSocket URL of the API. */
export function wsUrl(path = "/graphql"): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}
