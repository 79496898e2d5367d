// Request-target handling as nginx does it (ngx_http_parse_complex_uri with
// merge_slashes on): percent-decoding, slash merging and dot-segment removal
// yield the URI that locations and regexes see; the query string is kept apart.
// Strings here are byte strings: one char per byte (latin1), so regexes and
// prefix comparisons work on bytes exactly as nginx's do.

export type ParsedTarget =
  | {
      ok: true;
      /** Decoded, normalised path (byte string): what `location` matching sees ($uri). */
      uri: string;
      /** The query string without `?` ($args), '' when none. */
      args: string;
      /** Whether a `?` was present. */
      hasArgs: boolean;
      /** The path-and-query exactly as sent ($request_uri, nginx's unparsed URI). */
      unparsed: string;
      /** The target had percent-escapes (nginx re-escapes the URI it sends upstream then). */
      quoted: boolean;
      /** Host given in an absolute-form target (`GET http://h/x`), else null. */
      host: string | null;
    }
  | { ok: false; status: 400; reason: string };

/** Converts text as a client would send it (UTF-8) to a byte string. */
export function toByteString(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Converts a byte string back to text for display. */
export function fromByteString(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

export function parseTarget(target: string): ParsedTarget {
  let rest = toByteString(target);
  let host: string | null = null;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(rest);
  if (absolute) {
    host = absolute[1]!;
    rest = rest.slice(absolute[0].length);
    if (rest === '' || rest[0] === '?') rest = '/' + rest;
  }
  if (rest[0] !== '/') return { ok: false, status: 400, reason: `request target "${target}" does not start with "/"` };
  const fragment = rest.indexOf('#');
  const unparsed = fragment >= 0 ? rest.slice(0, fragment) : rest;
  const decoded = normalisePath(rest);
  if (!decoded.ok) return { ok: false, status: 400, reason: decoded.reason };
  return {
    ok: true,
    uri: decoded.uri,
    args: decoded.args,
    hasArgs: decoded.hasArgs,
    unparsed,
    quoted: decoded.quoted,
    host,
  };
}

type State = 'usual' | 'slash' | 'dot' | 'dot_dot';

interface Normalised {
  ok: true;
  uri: string;
  args: string;
  hasArgs: boolean;
  quoted: boolean;
}

/** The path state machine: decoded characters are fed back in as if sent literally, except %, # and ?. */
function normalisePath(raw: string): Normalised | { ok: false; reason: string } {
  const out: string[] = [];
  let state: State = 'usual';
  let quoted = false;
  let i = 0;
  const bad = (reason: string) => ({ ok: false as const, reason });

  // Removes the last segment for "..": nginx backs up over "/..", then to the previous "/".
  const backUp = (): boolean => {
    let u = out.length - 4;
    for (;;) {
      if (u < 0) return false;
      if (out[u] === '/') {
        out.length = u + 1;
        return true;
      }
      u--;
    }
  };

  const finish = (args: string | null): Normalised | { ok: false; reason: string } => {
    if (state === 'dot') out.length -= 1;
    else if (state === 'dot_dot' && !backUp()) return bad('".." goes above the root');
    return { ok: true, uri: out.join(''), args: args ?? '', hasArgs: args !== null, quoted };
  };

  const argsFrom = (start: number): string => {
    const hash = raw.indexOf('#', start);
    return hash >= 0 ? raw.slice(start, hash) : raw.slice(start);
  };

  while (i < raw.length) {
    let ch = raw[i]!;
    i++;
    let literal = false; // a decoded %, # or ? is data, not syntax
    if (ch === '%') {
      quoted = true;
      const hex = raw.slice(i, i + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return bad(`bad percent-escape "%${hex}"`);
      i += 2;
      ch = String.fromCharCode(parseInt(hex, 16));
      if (ch === '\0') return bad('%00 in the URI');
      literal = ch === '%' || ch === '#' || ch === '?';
      if (literal) {
        out.push(ch);
        state = 'usual';
        continue;
      }
    }
    if (ch === '?' || ch === '#') {
      // In the dot states the pending "." or "/.." is resolved first.
      const res = finish(ch === '?' ? argsFrom(i) : null);
      return res;
    }
    switch (state) {
      case 'usual':
        out.push(ch);
        if (ch === '/') state = 'slash';
        break;
      case 'slash':
        if (ch === '/') break; // merge_slashes
        out.push(ch);
        state = ch === '.' ? 'dot' : 'usual';
        break;
      case 'dot':
        if (ch === '/') {
          out.length -= 1; // drop the "." of "/./"
          state = 'slash';
        } else if (ch === '.') {
          out.push(ch);
          state = 'dot_dot';
        } else {
          out.push(ch);
          state = 'usual';
        }
        break;
      case 'dot_dot':
        if (ch === '/') {
          if (!backUp()) return bad('".." goes above the root');
          state = 'slash';
        } else {
          out.push(ch);
          state = 'usual';
        }
        break;
    }
  }
  return finish(null);
}

// nginx 1.22's NGX_ESCAPE_URI set: space, #, %, ?, controls and bytes >= 0x7f.
function needsUriEscape(code: number): boolean {
  return code <= 0x20 || code >= 0x7f || code === 0x23 || code === 0x25 || code === 0x3f;
}

/** Re-escapes a decoded URI the way nginx does before sending it upstream. */
export function escapeUri(bytes: string): string {
  let out = '';
  for (const ch of bytes) {
    const code = ch.charCodeAt(0);
    out += needsUriEscape(code) ? '%' + code.toString(16).toUpperCase().padStart(2, '0') : ch;
  }
  return out;
}
