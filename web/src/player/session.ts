/** The header: the API token (shared with the playground) or a login that makes one. */

import { getToken, setToken } from "../token";
import { request } from "./api";
import { h } from "./dom";
import { LOGIN, ME } from "./queries";

export function sessionBar(onChange: () => void): HTMLElement {
  const who = h("span", { class: "who" });
  const token = h("input", { name: "token", type: "password", placeholder: "API token", size: 28, autocomplete: "off" });
  token.value = getToken();
  const user = h("input", { name: "username", placeholder: "username", size: 10 });
  const password = h("input", { name: "password", type: "password", placeholder: "password", size: 10 });

  async function refresh(): Promise<void> {
    try {
      const { me } = await request<{ me: { username: string } | null }>(ME);
      who.textContent = me ? `signed in as ${me.username}` : "anonymous";
    } catch (error) {
      who.textContent = String(error instanceof Error ? error.message : error);
    }
    onChange();
  }

  const useToken = h(
    "form",
    {
      class: "token",
      onsubmit: (event: Event) => {
        event.preventDefault();
        setToken(token.value.trim());
        void refresh();
      },
    },
    token,
    h("button", { type: "submit" }, "Use token"),
  );
  const login = h(
    "form",
    {
      class: "login",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const { login } = await request<{ login: { __typename: string; token?: string; message?: string } }>(LOGIN, {
          username: user.value,
          password: password.value,
        });
        if (login.token) {
          setToken(login.token);
          token.value = login.token;
          password.value = "";
          void refresh();
        } else who.textContent = login.message ?? "login refused";
      },
    },
    user,
    password,
    h("button", { type: "submit" }, "Log in"),
  );
  void refresh();
  return h("header", {}, h("strong", {}, "timeside-gql"), useToken, login, who, h("a", { href: "/graphql" }, "playground"));
}
