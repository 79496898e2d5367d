// headers-more's edits of the response and request headers, as the module runs
// them (openresty/headers-more-nginx-module, checked against the module 0.34 with
// nginx 1.22): in order, each command only when its -s statuses and -t types
// match; a set replaces every header of the name, an empty value or a clear
// removes it, a name ending in `*` clears every header starting with the rest,
// -r replaces only a header the request has. Plain data in and out.
import type { Src } from '../../ir/types.js';

/** One header of a headers-more command for one request: its value evaluated (null: cleared). */
export interface HeaderEdit {
  name: string;
  value: string | null;
  statuses?: number[];
  types?: string[];
  replaceOnly?: true;
  append?: true;
  source: Src;
}

/** Headers by lowercase name, values in order. */
export type HeaderMap = Record<string, string[]>;

/**
 * Upstream response headers nginx does not pass on (ngx_http_proxy_hide_headers:
 * Date, Server, X-Pad, X-Accel-*: nginx writes its own Date and Server), nor any
 * named by proxy_hide_header.
 */
export function proxiedResponseBase(upstream: HeaderMap, hidden: string[] = []): HeaderMap {
  const own = new Set(['date', 'server', 'x-pad', ...hidden.map((h) => h.toLowerCase())]);
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(upstream)) {
    const key = k.toLowerCase();
    if (!own.has(key) && !key.startsWith('x-accel-')) out[key] = [...v];
  }
  return out;
}

/** The response headers after headers-more's output edits, for a response of `status` and `contentType`. */
export function editResponseHeaders(base: HeaderMap, edits: HeaderEdit[], status: number, contentType: string | null): HeaderMap {
  const out = copy(base);
  for (const e of edits) {
    if (e.statuses && !e.statuses.includes(status)) continue;
    if (e.types && !typeMatches(e.types, contentType)) continue;
    apply(out, e, false);
  }
  return sorted(out);
}

/** The request headers after headers-more's input edits (-t tests the request's Content-Type). */
export function editRequestHeaders(base: HeaderMap, edits: HeaderEdit[]): HeaderMap {
  const out = copy(base);
  const contentType = out['content-type']?.[0] ?? null;
  for (const e of edits) {
    if (e.types && !typeMatches(e.types, contentType)) continue;
    apply(out, e, e.replaceOnly === true);
  }
  return sorted(out);
}

function apply(out: HeaderMap, e: HeaderEdit, onlyExisting: boolean): void {
  const key = e.name.toLowerCase();
  if (key.endsWith('*')) {
    const prefix = key.slice(0, -1);
    for (const k of Object.keys(out)) if (k.startsWith(prefix)) delete out[k];
    return;
  }
  if (onlyExisting && !out[key]) return;
  if (e.value === null || e.value === '') delete out[key];
  else if (e.append) out[key] = [...(out[key] ?? []), e.value];
  else out[key] = [e.value];
}

/** -t: the media type (parameters left out), compared without case. */
function typeMatches(types: string[], contentType: string | null): boolean {
  if (contentType === null) return false;
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  return types.some((t) => t.toLowerCase() === media);
}

function copy(m: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(m)) out[k.toLowerCase()] = [...v];
  return out;
}

function sorted(m: HeaderMap): HeaderMap {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
