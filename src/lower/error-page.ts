// error_page → ErrorPage entries in effect at a level, and the report lines.
// Envoy's local_reply_config rewrites only the replies Envoy makes itself (direct
// responses, 502/503/504 on upstream failure), which is also when nginx applies
// error_page without proxy_intercept_errors. A redirect target is expressible
// (status + Location); a URI or named location needs an internal redirect,
// which Envoy's local replies cannot make.
import type { Directive } from '../parse/ast.js';
import type { ErrorPage } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveArray } from './headers.js';
import { directivesOf, hasVariables, lastNamed, type Level, parseTemplate, runCache, srcOf } from './util.js';
import { argCount, argValue, argValues } from '../parse/args.js';

export function parseErrorPage(d: Directive): ErrorPage | null {
  const args = argValues(d);
  const target = args.pop();
  if (target === undefined) return null;
  let override: ErrorPage['override'] = null;
  const codes: number[] = [];
  for (const a of args) {
    if (a === '=') override = 'target';
    else if (/^=\d{3}$/.test(a)) override = Number(a.slice(1));
    else if (/^\d{3}$/.test(a)) codes.push(Number(a));
  }
  return { codes, override, target: parseTemplate(target), source: srcOf(d) };
}

/** Resolves a URI target to the file nginx would serve for it, or null. */
export type FileResolver = (uri: string) => string | null;

// Parsed once per directive list: effectiveArray gives every location below a level
// the same list, so the http level's error pages were parsed (and kept) per location.
const parsedByList = runCache<Directive[], ErrorPage[]>();

function parsedPages(ds: Directive[]): ErrorPage[] {
  let pages = parsedByList.get(ds);
  if (!pages) parsedByList.set(ds, (pages = pagesOf(ds)));
  return pages;
}

function pagesOf(ds: Directive[]): ErrorPage[] {
  const out: ErrorPage[] = [];
  for (let i = 0; i < ds.length; i++) {
    const e = pageOf(ds[i]!);
    if (e !== null) out.push(e);
  }
  return out;
}

// Each error_page is read once: for its report line and for the levels that inherit it.
const pages = runCache<Directive, ErrorPage | null>();

function pageOf(d: Directive): ErrorPage | null {
  let e = pages.get(d);
  if (e === undefined) pages.set(d, (e = parseErrorPage(d)));
  return e;
}

const NO_FILES: FileResolver = () => null;

// The pages in effect depend on the list and the server's file resolver only: the
// locations of a server that inherit one list share one answer.
const pagesByResolver = runCache<FileResolver, Map<Directive[], ErrorPage[]>>();

export function errorPagesAt(levels: Level[], resolve: FileResolver = NO_FILES): ErrorPage[] {
  const list = effectiveArray(levels, 'error_page');
  if (list.length === 0) return [];
  let byList = pagesByResolver.get(resolve);
  if (!byList) pagesByResolver.set(resolve, (byList = new Map()));
  let pages = byList.get(list);
  if (!pages) byList.set(list, (pages = withFiles(parsedPages(list), resolve)));
  return pages;
}

function withFiles(pages: ErrorPage[], resolve: FileResolver): ErrorPage[] {
  return pages.map((e) => {
    if (isRedirectTarget(e) || e.target.raw.startsWith('@') || hasVariables(e.target)) return e;
    const file = resolve(e.target.raw);
    return file ? { ...e, file } : e;
  });
}

const NOT_STATIC = new Set(['proxy_pass', 'grpc_pass', 'fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'memcached_pass', 'return', 'rewrite', 'alias', 'try_files', 'if', 'location', 'content_by_lua_block', 'content_by_lua_file', 'js_content']);

/**
 * The static file nginx serves for `uri` in a server: its `= uri` location, or
 * the longest plain prefix location when the server has no regex location
 * that could take it first; the location (or server, or http) `root` must be
 * an absolute path without variables. null when that is not certain.
 * Answers are kept per URI: the server's locations ask about the same pages.
 */
export function staticFileResolver(http: Directive[], server: Directive[]): FileResolver {
  const known = new Map<string, string | null>();
  return (uri) => {
    let file = known.get(uri);
    if (file === undefined) known.set(uri, (file = staticFile(http, server, uri)));
    return file;
  };
}

function staticFile(http: Directive[], server: Directive[], uri: string): string | null {
  if (!uri.startsWith('/') || uri.includes('?')) return null;
  const locs = server.filter((d) => d.name === 'location');
  let target = locs.find((l) => argCount(l) === 2 && argValue(l, 0) === '=' && argValue(l, 1) === uri);
  if (!target) {
    if (locs.some((l) => argValue(l, 0) === '~' || argValue(l, 0) === '~*')) return null;
    const prefixes = locs
      .map((l) => ({ l, p: argCount(l) === 1 ? argValue(l, 0)! : argValue(l, 0) === '^~' ? argValue(l, 1) ?? '' : null }))
      .filter((x): x is { l: Directive; p: string } => x.p !== null && x.p !== '' && !x.p.startsWith('@') && uri.startsWith(x.p))
      .sort((a, b) => b.p.length - a.p.length);
    target = prefixes[0]?.l;
  }
  if (!target) return null;
  const tds = directivesOf(target.block);
  if (tds.some((d) => NOT_STATIC.has(d.name))) return null;
  const root = [tds, server, http].map((ds) => lastNamed(ds, 'root')).find((d) => d !== undefined)?.args[0]?.value;
  if (!root || !root.startsWith('/') || root.includes('$')) return null;
  return root.replace(/\/+$/, '') + uri;
}

export function isRedirectTarget(e: ErrorPage): boolean {
  return /^https?:\/\//i.test(e.target.raw);
}

/** The status an error_page with a URL target answers: 302 unless =301/302/303/307/308. */
export function redirectStatus(e: ErrorPage): number {
  return typeof e.override === 'number' && [301, 302, 303, 307, 308].includes(e.override) ? e.override : 302;
}

export function markErrorPages(ds: Directive[], r: Reporter, resolve: FileResolver = () => null): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.name !== 'error_page') continue;
    const e = pageOf(d);
    if (!e) continue;
    const file = !isRedirectTarget(e) && !e.target.raw.startsWith('@') && !hasVariables(e.target) ? resolve(e.target.raw) : null;
    if (file) {
      r.mark(d, 'approximated', `local_reply_config mapper: ${e.codes.join(' ')} generated by Envoy → the body of ${file} (text/html${typeof e.override === 'number' ? `, status ${e.override}` : ''}); Envoy reads the file when it loads the configuration (a missing file rejects it; nginx would answer 404 then) and sends no Last-Modified/ETag`);
      continue;
    }
    if (isRedirectTarget(e)) {
      if (hasVariables(e.target)) r.mark(d, 'unsupported', `redirect target \`${e.target.raw}\` with variables: local_reply_config headers are not formatted per request`);
      else r.mark(d, 'approximated', `local_reply_config mapper: ${e.codes.join(' ')} generated by Envoy → ${redirectStatus(e)} with Location ${e.target.raw} with nginx's page for that status (upstream responses with these codes pass through unless proxy_intercept_errors, as in nginx)`);
    } else if (e.target.raw.startsWith('@')) {
      r.mark(d, 'unsupported', `error_page to the named location ${e.target.raw}: Envoy's local replies cannot make an internal redirect`);
    } else {
      r.mark(d, 'unsupported', `error_page to the URI ${e.target.raw}: served by nginx through an internal redirect (usually a file); Envoy's local replies cannot fetch it: nginx's standard page for the status is sent instead`);
    }
  }
}
