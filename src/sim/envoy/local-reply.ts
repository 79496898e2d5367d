// What the client gets when Envoy answers a request itself (a direct response, a
// redirect, the RBAC filter's 403, the buffer filter's 413, no route, an upstream
// failure): the connection manager's local_reply_config applied to the reply.
// Docs and behaviour (http_connection_manager.proto LocalReplyConfig/ResponseMapper,
// "Local reply modification"; source/common/local_reply/local_reply.cc,
// Http::Utility::prepareLocalReply):
// - the mappers are tried in order; the first whose filter matches applies: `status_code`
//   replaces the status, `body` the body, `headers_to_add` are added, and its
//   `body_format_override` (else the config's `body_format`, else `%LOCAL_REPLY_BODY%` as
//   text/plain) formats the body; a filter sees the reply's status and response flags;
// - the route's response headers are added before the mappers run (a direct response's
//   or redirect's; the router's modify_headers); the Content-Type is then set to the
//   format's content type when the reply has none, or when the body changed and no mapper
//   header set one; a reply without body has no Content-Type.
import { readFileSync } from 'node:fs';
import { numValue, typeOf, type Obj } from './config.js';

/** A reply Envoy makes itself, before local_reply_config. */
export interface LocalReplyInput {
  status: number;
  /** Envoy's own body (its text for the reply, or the direct response's) */
  body: string;
  /** response flags of the request (UF, URX, UH, SI, UT…) */
  flags: string[];
  /** the matched route's name, when a route was chosen */
  routeName?: string;
  /** a Content-Type the route's response headers give the reply */
  contentType?: string;
}

/** What the client receives. */
export interface LocalReply {
  status: number;
  body: string;
  /** null: no Content-Type header */
  contentType: string | null;
  /** headers a mapper added (Location of an error_page redirect…) */
  headers?: { key: string; value: string }[];
}

/** The reply as the connection manager `hcm` sends it. */
export function localReply(hcm: Obj, input: LocalReplyInput, notes: string[]): LocalReply {
  const config: Obj = hcm.local_reply_config ?? {};
  let status = input.status;
  let body = input.body;
  let headerType = input.contentType ?? null;
  let format: Obj | undefined;
  let headers: { key: string; value: string }[] | undefined;
  let customType = false;
  for (const m of (config.mappers ?? []) as Obj[]) {
    if (!filterMatches(m.filter ?? {}, { ...input, status }, notes)) continue;
    if (m.body !== undefined) body = dataSource(m.body, notes);
    for (const h of (m.headers_to_add ?? []) as Obj[]) {
      const key = String(h.header?.key ?? '').toLowerCase();
      const value = literal(String(h.header?.value ?? ''), notes);
      (headers ??= []).push({ key, value });
      if (key === 'content-type') {
        headerType = value;
        customType = true;
      }
    }
    if (m.status_code !== undefined) status = numValue(m.status_code) ?? status;
    format = m.body_format_override;
    break;
  }
  format ??= config.body_format;
  const formatted = format ? formatBody(format, body, status, notes) : { body, contentType: 'text/plain' };
  let contentType: string | null = headerType;
  if (formatted.body === '') contentType = null;
  else if (headerType === null || (formatted.body !== input.body && !customType)) contentType = formatted.contentType;
  const out: LocalReply = { status, body: formatted.body, contentType };
  if (headers) out.headers = headers;
  return out;
}

// ------------------------------------------------------------ filters (accesslog.proto AccessLogFilter)

interface FilterInput {
  status: number;
  flags: string[];
  routeName?: string;
}

function filterMatches(f: Obj, input: FilterInput, notes: string[]): boolean {
  if (f.status_code_filter) return compare(f.status_code_filter.comparison ?? {}, input.status);
  if (f.response_flag_filter) {
    const want: string[] = f.response_flag_filter.flags ?? [];
    // no flags listed: any flag passes
    return want.length === 0 ? input.flags.length > 0 : want.some((x) => input.flags.includes(x));
  }
  if (f.and_filter) return ((f.and_filter.filters ?? []) as Obj[]).every((x) => filterMatches(x, input, notes));
  if (f.or_filter) return ((f.or_filter.filters ?? []) as Obj[]).some((x) => filterMatches(x, input, notes));
  if (f.not_health_check_filter) return true;
  if (f.extension_filter) return celMatches(f.extension_filter, input, notes);
  notes.push(`local reply filter ${Object.keys(f).join(', ') || '(empty)'} is not simulated: taken as not matching`);
  return false;
}

/** ComparisonFilter: EQ, GE, LE against the runtime key's default value (no runtime is simulated). */
function compare(c: Obj, value: number): boolean {
  const want = numValue(c.value?.default_value) ?? 0;
  const op = String(c.op ?? 'EQ');
  if (op === 'GE') return value >= want;
  if (op === 'LE') return value <= want;
  return value === want;
}

/** The CEL extension filter, in the one form it is read here: `xds.route_name in ['a', …]`. */
function celMatches(ext: Obj, input: FilterInput, notes: string[]): boolean {
  const expr = String(ext.typed_config?.expression ?? '');
  const m = /^xds\.route_name in \[(.*)\]$/s.exec(expr);
  if (!typeOf(ext).endsWith('.ExpressionFilter') || !m) {
    notes.push(`local reply filter ${ext.name ?? typeOf(ext)} (${expr}) is not simulated: taken as not matching`);
    return false;
  }
  const names: string[] = [];
  const re = /'((?:[^'\\]|\\.)*)'/g;
  for (let x = re.exec(m[1]!); x; x = re.exec(m[1]!)) names.push(x[1]!.replace(/\\(.)/g, '$1'));
  return input.routeName !== undefined && names.includes(input.routeName);
}

// ------------------------------------------------------------ bodies

function dataSource(d: Obj, notes: string[]): string {
  if (d.inline_string !== undefined) return String(d.inline_string);
  if (d.inline_bytes !== undefined) return Buffer.from(String(d.inline_bytes), 'base64').toString('utf8');
  if (d.filename !== undefined) {
    // Envoy reads the file when it loads the configuration
    try {
      return readFileSync(String(d.filename), 'utf8');
    } catch {
      notes.push(`local reply body file ${d.filename} cannot be read: Envoy would reject the configuration`);
      return '';
    }
  }
  notes.push('local reply body source is not simulated');
  return '';
}

/** A header value: `%%` is a literal `%`; other command operators are not evaluated. */
function literal(v: string, notes: string[]): string {
  if (/%[A-Z_]+(\(.*?\))?%/.test(v.replace(/%%/g, ''))) notes.push(`header value ${JSON.stringify(v)} holds command operators: kept as written`);
  return v.replace(/%%/g, '%');
}

/** SubstitutionFormatString: text_format_source / text_format with %LOCAL_REPLY_BODY% and %RESPONSE_CODE%; json_format noted. */
function formatBody(format: Obj, body: string, status: number, notes: string[]): { body: string; contentType: string } {
  const text = format.text_format_source ? dataSource(format.text_format_source, notes) : format.text_format !== undefined ? String(format.text_format) : null;
  if (text === null) {
    notes.push('local reply json_format is not simulated: the body is kept');
    return { body, contentType: String(format.content_type || 'application/json') };
  }
  const out = text.replace(/%%|%([A-Z_]+)%/g, (all, op: string | undefined) => {
    if (op === undefined) return '%';
    if (op === 'LOCAL_REPLY_BODY') return body;
    if (op === 'RESPONSE_CODE') return String(status);
    notes.push(`command operator %${op}% in a local reply format is not simulated`);
    return all;
  });
  return { body: out, contentType: String(format.content_type || 'text/plain') };
}
