// A few DOM helpers in place of a framework. Text from the node (aliases, statuses, a peer's
// reasons) is only ever set as text, never parsed as HTML.

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined>;

/** `<tag attributes>children</tag>`; `class`, `data-*` and other attributes by name. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, "");
    else if (typeof value === "string") element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child) element.append(child);
  }
  return element;
}

/** Replaces the children of `parent`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => !!c));
}

/**
 * Makes the children of `parent` one element per item, in order, keyed by `key`: an item
 * seen before keeps its element (and so a half-typed amount and the focus in its form), and
 * `update` refreshes it; a new item gets `create`; a gone item's element is removed.
 */
export function syncKeyed<T, E extends HTMLElement>(
  parent: HTMLElement,
  items: T[],
  key: (item: T) => string,
  create: (item: T) => E,
  update: (element: E, item: T) => void,
): void {
  const existing = new Map<string, E>();
  for (const child of Array.from(parent.children)) {
    const id = (child as HTMLElement).dataset.key;
    if (id !== undefined) existing.set(id, child as E);
    else child.remove();
  }
  let previous: Element | null = null;
  for (const item of items) {
    const id = key(item);
    let element = existing.get(id);
    existing.delete(id);
    if (!element) {
      element = create(item);
      element.dataset.key = id;
    }
    update(element, item);
    const expected: Element | null = previous ? previous.nextElementSibling : parent.firstElementChild;
    if (expected !== element) parent.insertBefore(element, expected);
    previous = element;
  }
  for (const gone of existing.values()) gone.remove();
}

/** `0x1234…cdef`: a long hex id shortened for reading; the full id goes in a title. */
export function short(id: string): string {
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

/** A local time of day, or the date and time for anything older than today. */
export function when(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}
