// JSON-RPC 2.0 calls to the node that served this page, over HTTP POST on the same origin
// (so no CORS is involved), with the API token in the Authorization header. The token never
// goes into a URL, where it would end up in logs and the browser's history.

/** An error the node (or the way to it) answered, kept as the API gives it. */
export class RpcError extends Error {
  /** The API's stable code (1000 unauthorized ... 1007 internal), or a JSON-RPC one. */
  readonly code: number;
  /** The API's category (`insufficient_funds`), or `unreachable` when the node did not answer. */
  readonly category: string;

  constructor(code: number, category: string, message: string) {
    super(message);
    this.code = code;
    this.category = category;
  }

  /** Whether the token was refused: the page then asks for it again. */
  get unauthorized(): boolean {
    return this.code === 1000;
  }

  /** `insufficient_funds (1003): the message`, as the user sees it. */
  describe(): string {
    return `${this.category} (${this.code}): ${this.message}`;
  }
}

interface ErrorObject {
  code: number;
  message: string;
  data?: { category?: string };
}

function fromErrorObject(error: ErrorObject): RpcError {
  return new RpcError(error.code, error.data?.category ?? "error", error.message);
}

let nextId = 1;

/** Calls `method` with named `params`; resolves to its result or rejects with an RpcError. */
export async function call<T>(token: string, method: string, params?: object): Promise<T> {
  const request = { jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) };
  let response: Response;
  try {
    response = await fetch("/", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(request),
      cache: "no-store",
    });
  } catch {
    throw new RpcError(-1, "unreachable", "the node does not answer; is it running?");
  }
  const body = (await response.json().catch(() => null)) as
    | { result?: T; error?: ErrorObject }
    | null;
  if (body?.error) throw fromErrorObject(body.error);
  if (!response.ok || !body || !("result" in body)) {
    throw new RpcError(response.status, "http", `the node answered HTTP ${response.status}`);
  }
  return body.result as T;
}
