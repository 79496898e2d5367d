// What an nginx redirect (return 3xx URL, rewrite … redirect|permanent) means in
// terms Envoy's redirect action can express: keep or set the scheme, host and
// path, keep or strip the query. Anything else is reported, never guessed.
import type { Template, TemplatePart } from '../ir/types.js';
import { wholeMatchWrap } from './regex.js';

export type RedirectPath =
  | { kind: 'keep'; stripQuery: boolean } // the request's own path
  | { kind: 'literal'; path: string } // path_redirect (query replaced)
  | { kind: 'regex'; pattern: string; substitution: string; stripQuery: boolean }; // regex_rewrite

export interface RedirectPlan {
  ok: true;
  scheme: 'keep' | 'http' | 'https';
  /** null: keep the request's host. */
  host: string | null;
  port: number | null;
  /** The URL was relative: nginx adds scheme://host[:port] of this connection. */
  relative: boolean;
  path: RedirectPath;
  /** Differences from nginx worth a report line ('' when exact). */
  approximation: string;
}
export interface RedirectUnsupported {
  ok: false;
  reason: string;
}

export interface RedirectContext {
  /** RE2 pattern whose captures `$1…$9` refer to (a regex location or the rewrite regex). */
  captureRegex: string | null;
  /** rewrite semantics: the request's args are appended unless the replacement has `?`. */
  rewrite: boolean;
  /** `$server_name`: the server's primary name. */
  serverName: string;
}

export function planRedirect(url: Template, ctx: RedirectContext): RedirectPlan | RedirectUnsupported {
  const parts = url.parts.slice();
  let scheme: RedirectPlan['scheme'] = 'keep';
  let relative = false;
  const first = parts[0];
  const approx: string[] = [];
  // scheme
  if (first && 'text' in first && /^https?:\/\//i.test(first.text)) {
    const m = /^(https?):\/\//i.exec(first.text)!;
    scheme = m[1]!.toLowerCase() as 'http' | 'https';
    replaceHead(parts, m[0].length);
  } else if (first && 'var' in first && first.var === 'scheme' && textStarts(parts[1], '://')) {
    scheme = 'keep';
    parts.shift();
    replaceHead(parts, 3);
  } else if (first && 'text' in first && first.text.startsWith('/')) {
    relative = true;
    approx.push("nginx makes the Location absolute with the lowercased Host; Envoy keeps the client's Host as sent (case)");
  } else {
    return { ok: false, reason: `redirect target \`${url.raw}\` is neither an absolute http(s) URL nor a path` };
  }
  // host
  let host: string | null = null;
  let port: number | null = null;
  if (!relative) {
    const hostParts: TemplatePart[] = [];
    while (parts.length) {
      const p = parts[0]!;
      if ('text' in p) {
        const slash = p.text.indexOf('/');
        if (slash >= 0) {
          if (slash > 0) hostParts.push({ text: p.text.slice(0, slash) });
          replaceHead(parts, slash);
          break;
        }
        hostParts.push(p);
        parts.shift();
      } else {
        if (['request_uri', 'uri', 'document_uri'].includes(p.var)) break;
        hostParts.push(p);
        parts.shift();
      }
    }
    if (hostParts.length === 1 && 'var' in hostParts[0]!) {
      const v = hostParts[0].var;
      if (v === 'host') {
        host = null;
        approx.push("nginx lowercases `$host`; Envoy's redirect keeps the client's Host as sent (case)");
      }
      else if (v === 'http_host') {
        host = null;
        approx.push('`$http_host` keeps the client\'s port in nginx; Envoy strips it');
      } else if (v === 'server_name') host = ctx.serverName;
      else return { ok: false, reason: `redirect host \`$${v}\` has no Envoy equivalent` };
    } else if (hostParts.every((p) => 'text' in p)) {
      const text = hostParts.map((p) => (p as { text: string }).text).join('');
      const hp = /^([^:]+)(?::(\d+))?$/.exec(text);
      if (!hp) return { ok: false, reason: `redirect host \`${text}\` is not a host[:port]` };
      host = hp[1]!.toLowerCase();
      if (hp[2]) port = Number(hp[2]);
    } else {
      return { ok: false, reason: `redirect host in \`${url.raw}\` mixes text and variables` };
    }
    if (host === null && port === null && scheme !== 'keep') {
      // scheme change with the client's host: Envoy drops the port the way nginx's $host has none
    }
  }
  const path = planPath(parts, ctx);
  if ('reason' in path) return { ok: false, reason: path.reason };
  if (path.approximation) approx.push(path.approximation);
  return { ok: true, scheme, host, port, relative, path: path.path, approximation: approx.join('; ') };
}

function planPath(parts: TemplatePart[], ctx: RedirectContext): { path: RedirectPath; approximation: string } | { reason: string } {
  // What is left is the path (and maybe query) of the target.
  if (parts.length === 0) {
    return { path: { kind: 'literal', path: '/' }, approximation: 'nginx sends the URL without a path; Envoy adds `/` (same resource for clients)' };
  }
  const last = parts[parts.length - 1]!;
  const tail = tailKind(parts);
  const head = parts.slice(0, parts.length - tail.len);
  if (tail.kind === 'request_uri' && head.length === 0) {
    // $request_uri is the URI exactly as the client sent it; Envoy redirects with the normalised path.
    return {
      path: { kind: 'keep', stripQuery: false },
      approximation: '`$request_uri` is the client\'s raw URI in nginx; Envoy keeps the normalised path (merged slashes, resolved dot segments)',
    };
  }
  if (tail.kind === 'uri' && head.length === 0) return { path: { kind: 'keep', stripQuery: true }, approximation: '' };
  const captures = head.filter((p) => 'var' in p);
  if (captures.some((p) => !/^[0-9]$/.test((p as { var: string }).var))) {
    const names = captures.map((p) => '$' + (p as { var: string }).var).join(', ');
    return { reason: `redirect path uses ${names}, which Envoy's redirect cannot compute` };
  }
  if (captures.length > 0 && !ctx.captureRegex) return { reason: 'redirect path uses regex captures but no regex provides them' };
  const literalText = head.map((p) => ('text' in p ? p.text : '')).join('');
  if (captures.length === 0 && tail.kind === 'none') {
    // A literal target. rewrite appends the request's args unless the replacement has `?`.
    if (ctx.rewrite && !literalText.includes('?')) {
      return { path: { kind: 'regex', pattern: '^.*$', substitution: escapeSub(literalText), stripQuery: false }, approximation: '' };
    }
    const path = ctx.rewrite && literalText.endsWith('?') ? literalText.slice(0, -1) : literalText;
    return { path: { kind: 'literal', path: path }, approximation: '' };
  }
  if (literalText.includes('?')) {
    if (!(ctx.rewrite && literalText.endsWith('?') && last === head[head.length - 1])) {
      return { reason: 'a redirect path with its own query string and variables cannot be expressed in Envoy' };
    }
  }
  // regex_rewrite over the whole path: group 1 = the whole path, groups 2.. = the captures.
  const inner = ctx.captureRegex ? wholeMatchWrap(ctx.captureRegex).replace(/^(\(\?i\))?\^/, '$1').replace(/\$$/, '') : '.*';
  const flags = inner.startsWith('(?i)') ? '(?i)' : '';
  const pattern = `${flags}^(${inner.slice(flags.length)})$`;
  let sub = '';
  for (const p of head) sub += 'text' in p ? escapeSub(p.text.replace(/\?$/, '')) : `\\${Number(p.var) + 1}`;
  if (tail.kind !== 'none') sub += '\\1';
  const stripQuery = tail.kind === 'uri' || (ctx.rewrite ? literalText.endsWith('?') : tail.kind !== 'request_uri');
  return { path: { kind: 'regex', pattern, substitution: sub, stripQuery }, approximation: '' };
}

function tailKind(parts: TemplatePart[]): { kind: 'request_uri' | 'uri' | 'none'; len: number } {
  const v = (i: number): string | null => {
    const p = parts[parts.length - i];
    return p && 'var' in p ? p.var : null;
  };
  if (v(1) === 'request_uri') return { kind: 'request_uri', len: 1 };
  if (v(1) === 'args' && v(2) === 'is_args' && (v(3) === 'uri' || v(3) === 'document_uri')) return { kind: 'request_uri', len: 3 };
  if (v(1) === 'uri' || v(1) === 'document_uri') return { kind: 'uri', len: 1 };
  return { kind: 'none', len: 0 };
}

function textStarts(p: TemplatePart | undefined, prefix: string): boolean {
  return !!p && 'text' in p && p.text.startsWith(prefix);
}

function replaceHead(parts: TemplatePart[], n: number): void {
  const p = parts[0] as { text: string };
  const rest = p.text.slice(n);
  if (rest) parts[0] = { text: rest };
  else parts.shift();
}

/** RE2 substitution strings treat `\` as an escape. */
function escapeSub(text: string): string {
  return text.replace(/\\/g, '\\\\');
}
