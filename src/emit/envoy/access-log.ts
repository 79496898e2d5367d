// Access logs → Envoy file access loggers with the equivalent command operators
// (src/lower/variables.ts). escape=json formats become json_format when the
// nginx template is a JSON object; otherwise text_format_source.
import type { AccessLog, LogFormat } from '../../ir/types.js';
import { convertLogTemplate } from '../../lower/variables.js';
import type { Json } from './context.js';

const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const REQ_WITHOUT_QUERY = {
  name: 'envoy.formatter.req_without_query',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery' },
};

export function accessLogKey(a: AccessLog): string {
  let key = accessLogKeys.get(a);
  if (key === undefined) accessLogKeys.set(a, (key = JSON.stringify({ path: a.path, name: a.format.name, escape: a.format.escape, raw: a.format.template.raw })));
  return key;
}

// Locations share their inherited AccessLog objects: each is turned into a key once.
const accessLogKeys = new WeakMap<AccessLog, string>();

/** The SubstitutionFormatString for an nginx log format. */
export function logFormat(f: LogFormat): Json {
  const json = f.escape === 'json' ? jsonFormat(f) : null;
  const out: Json = json ? { json_format: json } : { text_format_source: { inline_string: convertLogTemplate(f.template).text + '\n' } };
  if (JSON.stringify(out).includes('%REQ_WITHOUT_QUERY(')) out.formatters = [REQ_WITHOUT_QUERY];
  return out;
}

/**
 * An escape=json template that is a JSON object once its variables are filled
 * in: each string value becomes the converted text (Envoy fills and escapes it).
 */
function jsonFormat(f: LogFormat): Json | null {
  const marks: string[] = [];
  let text = '';
  for (const p of f.template.parts) {
    if ('text' in p) text += p.text;
    else {
      text += `\uE000${marks.length}\uE000`;
      marks.push(p.var);
    }
  }
  let parsed: unknown;
  try {
    // a bare variable (a number in nginx's output) is quoted to parse
    parsed = JSON.parse(text.replace(/:\s*(\uE000\d+\uE000)\s*([,}])/g, ':"$1"$2'));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const parts = v.split(/\uE000(\d+)\uE000/).map((s, i) => (i % 2 === 1 ? { var: marks[Number(s)]! } : { text: s })).filter((p) => !('text' in p) || p.text !== '');
      return convertLogTemplate({ raw: v, parts }).text;
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(parsed);
}

export function fileAccessLog(a: AccessLog, filter: Json | null): Json {
  const out: Json = { name: 'envoy.access_loggers.file' };
  if (filter) out.filter = filter;
  out.typed_config = { '@type': FILE_LOG, path: a.path, log_format: logFormat(a.format) };
  return out;
}

/** An access-log filter (also used by local reply mappers) admitting only the named routes. */
export function routeNameFilter(names: string[]): Json {
  const list = names.map((n) => `'${n.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ');
  return {
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter', expression: `xds.route_name in [${list}]` },
    },
  };
}
