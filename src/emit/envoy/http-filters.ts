// Compression → envoy.filters.http.compressor (gzip and/or brotli libraries).
// One filter per distinct configuration among the routes of a connection
// manager; a route disables every compressor that is not its own, so each
// location compresses exactly as nginx would there.
import type { Compression } from '../../ir/types.js';
import { sha256Hex } from '../hash.js';
import type { Json } from './context.js';

export const COMPRESSOR = 'envoy.filters.http.compressor';
const COMPRESSOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute';

/** Key of what a Compression means for Envoy (sources excluded). */
export function compressionKey(c: Compression): string {
  let key = compressionKeys.get(c);
  if (key === undefined) compressionKeys.set(c, (key = JSON.stringify({ ...c, source: null })));
  return key;
}

// Locations share their inherited Compression object: each is turned into a key once.
const compressionKeys = new WeakMap<Compression, string>();

function library(kind: 'gzip' | 'brotli', c: Compression): Json {
  if (kind === 'gzip') {
    const level = Math.min(9, Math.max(1, c.gzipLevel));
    return {
      name: 'gzip',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip', compression_level: `COMPRESSION_LEVEL_${level}` },
    };
  }
  return {
    name: 'brotli',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli', quality: Math.min(11, Math.max(0, c.brotliLevel)) },
  };
}

/** The compressor filters for one configuration (gzip, then brotli), named after `base`. */
export function compressorFilters(c: Compression, base: string): Json[] {
  const out: Json[] = [];
  const common: Json = { min_content_length: c.minLength };
  if (!c.types.includes('*')) common.content_type = c.types;
  for (const kind of ['gzip', 'brotli'] as const) {
    if (!c[kind]) continue;
    out.push({
      name: c.gzip && c.brotli ? `${base}.${kind}` : base,
      typed_config: { '@type': COMPRESSOR_TYPE, response_direction_config: { common_config: common }, compressor_library: library(kind, c) },
    });
  }
  return out;
}

/** Shared by every route that turns a compressor off (read only, like every emitted object). */
const COMPRESSOR_DISABLED: Json = Object.freeze({ '@type': PER_ROUTE_TYPE, disabled: true });

export function compressorDisabled(): Json {
  return COMPRESSOR_DISABLED;
}

// ------------------------------------------------------------------ Lua (add_header status rule)

export const LUA = 'envoy.filters.http.lua';

/** The statuses nginx adds headers to when add_header has no `always` (ngx_http_headers_filter). */
export const ADD_HEADER_STATUSES = [200, 201, 204, 206, 301, 302, 303, 304, 307, 308];

/**
 * The Lua filter holding the named scripts of its connection manager (`source_codes`);
 * routes pick one by name (LuaPerRoute `name`). It has no default script, so a
 * route without a per-route config runs nothing.
 */
export function luaFilter(scripts: Map<string, string>): Json {
  const sourceCodes: Json = {};
  for (const [name, text] of scripts) sourceCodes[name] = { inline_string: text };
  return { name: LUA, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua', source_codes: sourceCodes } };
}

/** A character a Lua string literal cannot hold as it is. */
const LUA_ESCAPED = /[\\"\x00-\x1f\x7f]/;

function luaString(s: string): string {
  // (header names and values mostly need no escape: one test, no replace with a callback)
  if (!LUA_ESCAPED.test(s)) return '"' + s + '"';
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\x00-\x1f\x7f]/g, (c) => '\\' + String(c.charCodeAt(0)).padStart(3, '0')) + '"';
}

/** The Lua script adding `headers` to responses whose status nginx's add_header accepts. */
export function statusGatedScript(headers: [string, string][]): string {
  // a plain loop: a destructuring callback per header pair measured ~70 ms over the benchmark's 4,000 scripts
  let list = '';
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    list += `${i === 0 ? '' : ', '}{ ${luaString(h[0])}, ${luaString(h[1])} }`;
  }
  return `${SCRIPT_HEAD}local headers = { ${list} }\n${SCRIPT_TAIL}`;
}

// The lines every such script has (built once, not per script).
const SCRIPT_HEAD = ['-- nginx add_header without `always`: only these statuses get the headers', `local statuses = { ${ADD_HEADER_STATUSES.map((c) => `["${c}"] = true`).join(', ')} }`, ''].join('\n');
const SCRIPT_TAIL = ['function envoy_on_response(handle)', '  if statuses[handle:headers():get(":status")] then', '    for _, h in ipairs(headers) do handle:headers():add(h[1], h[2]) end', '  end', 'end', ''].join('\n');

/**
 * A script's name in `source_codes`: derived from its text alone, so the same header
 * set has the same name in every connection manager and across recompilations
 * (xDS resources change only where the headers do).
 */
export function statusGatedScriptName(script: string): string {
  return `add_header.${sha256Hex(script).slice(0, 16)}`;
}

const LUA_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute';

/** The per-route config running the named script of the connection manager's Lua filter. */
export function luaScriptRef(name: string): Json {
  return Object.freeze({ '@type': LUA_PER_ROUTE_TYPE, name });
}
