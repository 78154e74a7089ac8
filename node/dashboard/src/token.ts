// Where the page keeps the API token between reloads: sessionStorage, not localStorage.
//
// The token moves the node's funds. sessionStorage lives as long as the tab, is not shared
// with other tabs and is not left behind in the browser profile on disk when the tab closes,
// so a dashboard left open does not become a token stored on the machine for good. The cost
// is pasting it again in a new tab; "Forget token" clears it at once.

const KEY = "parley.api-token";

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
