// The connection manager's request-line normalisation, in Envoy's order
// (ConnectionManagerUtility::maybeNormalizePath):
//   1. a fragment (`#`) in the path rejects the request (400),
//   2. path_with_escaped_slashes_action (%2F / %5C),
//   3. normalize_path (RFC 3986 canonicalisation, Chromium's URL canonicaliser),
//   4. merge_slashes ("after path normalization to catch … edge cases with percent encoding").
// Docs: https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
// (fields normalize_path, merge_slashes, path_with_escaped_slashes_action), and
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/normalization

export function splitQuery(path: string): { path: string; query: string } {
  const q = path.indexOf('?');
  return q < 0 ? { path, query: '' } : { path: path.slice(0, q), query: path.slice(q) };
}

/** Path without query and fragment (Envoy's PathUtil::removeQueryAndFragment). */
export function pathOnly(path: string): string {
  const i = path.search(/[?#]/);
  return i < 0 ? path : path.slice(0, i);
}

/**
 * merge_slashes: "Determines if adjacent slashes in the path are merged into one";
 * only the part before `?`, keeping one leading and one trailing slash.
 */
export function mergeSlashes(full: string): string {
  const { path, query } = splitQuery(full);
  if (!path.includes('//')) return full;
  const lead = path.startsWith('/') ? '/' : '';
  const trail = path.endsWith('/') ? '/' : '';
  const middle = path.split('/').filter((s) => s !== '').join('/');
  // Envoy's own quirk: "//" stays "//" (lead + empty + trail).
  return lead + middle + trail + query;
}

export type EscapedSlashesAction = 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

/** Decodes %2F, %2f, %5C, %5c in the path (not the query). Returns null when none was found. */
export function unescapeSlashes(full: string): string | null {
  const { path, query } = splitQuery(full);
  if (!/%(2f|5c)/i.test(path)) return null;
  return path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\') + query;
}

const HEX = /^[0-9a-fA-F]{2}$/;

// Chromium's path table (the one Envoy's canonicaliser has used): these are
// decoded when percent-encoded ("UNESCAPE": ALPHA DIGIT - _ ~), these are
// percent-encoded when raw ("ESCAPE"), a NUL makes the path invalid.
function isUnreserved(c: string): boolean {
  return /^[A-Za-z0-9\-_~]$/.test(c);
}
function mustEscape(code: number): boolean {
  if (code < 0x20 || code >= 0x7f) return true;
  return ' "#<>?\\^`{|}'.includes(String.fromCharCode(code));
}

function isDotSegment(seg: string): boolean {
  return seg === '.' || seg.toLowerCase() === '%2e';
}
function isDotDotSegment(seg: string): boolean {
  const s = seg.toLowerCase();
  return s === '..' || s === '.%2e' || s === '%2e.' || s === '%2e%2e';
}

/** Per-character canonicalisation of one segment; null when the path is invalid (NUL). */
function canonicalSegment(seg: string): string | null {
  let out = '';
  const bytes = Buffer.from(seg, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) return null;
    const c = String.fromCharCode(b);
    if (c === '%') {
      const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
      if (HEX.test(hex)) {
        const decoded = String.fromCharCode(parseInt(hex, 16));
        out += isUnreserved(decoded) ? decoded : '%' + hex;
        i += 2;
      } else {
        out += '%'; // an invalid escape is copied as is
      }
      continue;
    }
    out += mustEscape(b) ? '%' + b.toString(16).toUpperCase().padStart(2, '0') : c;
  }
  return out;
}

/**
 * normalize_path: RFC 3986 §5.2.4 dot-segment removal (`%2e` counts as a dot),
 * percent-decoding of unreserved characters, escaping of characters not allowed
 * in a path. Only the path before `?` is changed. Returns null when Envoy would
 * reject the request (400).
 */
export function normalizePath(full: string): string | null {
  const { path, query } = splitQuery(full);
  if (!path.startsWith('/')) return null;
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (isDotSegment(seg)) {
      if (last) out.push('');
      continue;
    }
    if (isDotDotSegment(seg)) {
      out.pop();
      if (last) out.push('');
      continue;
    }
    const canon = canonicalSegment(seg);
    if (canon === null) return null;
    out.push(canon);
  }
  return '/' + out.join('/') + query;
}
