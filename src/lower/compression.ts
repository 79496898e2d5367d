// gzip (ngx_http_gzip_module) and brotli (ngx_brotli) → Compression settings in
// effect at a level, and the report line of each directive.
import type { Directive } from '../parse/ast.js';
import type { Compression } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { directiveFamily, familyOfNames, type Level, parseSize, srcOf } from './util.js';
import { argCount, argValue, argValues } from '../parse/args.js';

const NGINX_GZIP_MIN_LENGTH = 20;
const NGINX_GZIP_LEVEL = 1;
const BROTLI_DEFAULT_LEVEL = 6;

/** Every directive compressionAt reads: a level without any of them has its parent's compression. */
export const COMPRESSION_DIRECTIVES: ReadonlySet<string> = new Set([
  'gzip', 'brotli', 'gzip_types', 'brotli_types', 'gzip_min_length', 'brotli_min_length', 'gzip_comp_level', 'brotli_comp_level', 'gzip_vary', 'gzip_proxied',
]);

/** The family of COMPRESSION_DIRECTIVES (see util.ts directiveFamily). */
export const COMPRESSION_FAMILY = familyOfNames(COMPRESSION_DIRECTIVES);

/** Every name markCompression may report (its reasons are all for g… and b… names). */
export const COMPRESSION_MARKED = directiveFamily((name) => name.startsWith('g') || name.startsWith('b'));

function on(levels: Level[], name: string): boolean {
  const d = effectiveSimple(levels, name);
  return d !== undefined && argValue(d, 0) === 'on';
}

function types(levels: Level[], name: string): string[] {
  const d = effectiveSimple(levels, name);
  // nginx always compresses text/html; it cannot be listed away. Duplicates are dropped, first kept.
  const out = ['text/html'];
  const n = d ? argCount(d) : 0;
  for (let i = 0; i < n; i++) {
    const v = argValue(d!, i)!.toLowerCase();
    if (v === '*') return ['*'];
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

function num(levels: Level[], name: string, dflt: number): number {
  const d = effectiveSimple(levels, name);
  const v = d && argValue(d, 0);
  if (v === undefined) return dflt;
  const n = name.endsWith('min_length') ? parseSize(v) : Number(v);
  return n === null || Number.isNaN(n) ? dflt : n;
}

/** The compression in effect at the innermost of `levels`, or null when neither gzip nor brotli is on. */
export function compressionAt(levels: Level[]): Compression | null {
  const gzip = on(levels, 'gzip');
  const brotli = on(levels, 'brotli');
  if (!gzip && !brotli) return null;
  const at = effectiveSimple(levels, gzip ? 'gzip' : 'brotli')!;
  const gzTypes = types(levels, 'gzip_types');
  const brTypes = types(levels, 'brotli_types');
  return {
    gzip,
    brotli,
    // one compressor filter per library; the gzip list wins when both are on and differ (reported)
    types: gzip ? gzTypes : brTypes,
    minLength: gzip ? num(levels, 'gzip_min_length', NGINX_GZIP_MIN_LENGTH) : num(levels, 'brotli_min_length', NGINX_GZIP_MIN_LENGTH),
    gzipLevel: num(levels, 'gzip_comp_level', NGINX_GZIP_LEVEL),
    brotliLevel: num(levels, 'brotli_comp_level', BROTLI_DEFAULT_LEVEL),
    vary: on(levels, 'gzip_vary'),
    proxied: proxiedOf(effectiveSimple(levels, 'gzip_proxied')),
    source: srcOf(at),
  };
}

function proxiedOf(d: Directive | undefined): string[] {
  return d ? argValues(d) : ['off'];
}

/** Report the compression directives of one level. */
export function markCompression(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    const m = reason(d);
    if (m) r.mark(d, m[0], m[1]);
  }
}

function reason(d: Directive): ['translated' | 'approximated' | 'ignored' | 'unsupported', string] | null {
  // Every directive of every level comes through here: leave the others before reading arguments.
  if (!d.name.startsWith('g') && !d.name.startsWith('b')) return null;
  const v = argValue(d, 0) ?? '';
  switch (d.name) {
    case 'gzip':
      return ['translated', v === 'on' ? 'envoy.filters.http.compressor with the gzip library' : 'no compression here (the compressor is disabled on these routes)'];
    case 'brotli':
      return ['translated', v === 'on' ? 'envoy.filters.http.compressor with the brotli library' : 'no brotli here'];
    case 'gzip_types':
    case 'brotli_types':
      return hasArg(d, '*')
        ? ['approximated', '`*` (any type): Envoy takes a list; its default list (html, css, js, json, plain, xml, svg) is used']
        : ['translated', 'compressor content_type (text/html always included, as nginx does)'];
    case 'gzip_min_length':
    case 'brotli_min_length':
      return ['translated', 'compressor min_content_length (both compare the Content-Length; responses without one are compressed)'];
    case 'gzip_comp_level':
      return ['translated', 'gzip compression_level'];
    case 'brotli_comp_level':
      return ['translated', 'brotli quality'];
    case 'gzip_vary':
      return v === 'on' ? ['translated', 'Envoy adds Vary: Accept-Encoding to compressed responses'] : ['approximated', 'Envoy always adds Vary: Accept-Encoding to responses it may compress'];
    case 'gzip_proxied':
      return hasArg(d, 'any')
        ? ['translated', 'responses are compressed whatever the request\'s Via header (Envoy\'s behaviour)']
        : ['approximated', `\`${argValues(d).join(' ')}\`: nginx compresses responses to proxied requests (with Via) only under these conditions; Envoy compresses them all`];
    case 'gzip_disable':
      return ['approximated', 'Envoy compresses for every client that accepts gzip: the User-Agent exclusion is not applied'];
    case 'gzip_http_version':
      return v === '1.0'
        ? ['translated', 'HTTP/1.0 and later, like Envoy (which does not look at the protocol version)']
        : ['approximated', 'Envoy also compresses for HTTP/1.0 clients that accept gzip (nginx only from HTTP/1.1 on)'];
    case 'gzip_buffers':
    case 'brotli_buffers':
    case 'brotli_window':
      return ['ignored', 'compression buffer tuning'];
    case 'gzip_static':
    case 'brotli_static':
      return v === 'off' ? ['translated', 'default'] : ['unsupported', 'pre-compressed files are served by nginx from disk: no Envoy equivalent'];
    case 'gunzip':
    case 'gunzip_buffers':
      return v === 'off' ? ['translated', 'default'] : ['unsupported', 'decompressing responses for clients without gzip support is not translated'];
    default:
      return null;
  }
}

function hasArg(d: Directive, word: string): boolean {
  return argValues(d).includes(word);
}
