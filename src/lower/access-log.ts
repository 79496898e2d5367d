// log_format and access_log → the access logs in effect at a level, with the
// built-in `combined` format, and the report line of each directive.
import type { Directive } from '../parse/ast.js';
import type { AccessLog, LogFormat, ReportClass } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { familyOfNames, type Level, parseTemplate, runCache, srcOf } from './util.js';
import { convertLogTemplate } from './variables.js';
import { argValue, argValues } from '../parse/args.js';

export const COMBINED: LogFormat = {
  name: 'combined',
  escape: 'default',
  template: parseTemplate('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'),
  source: null,
};

// Built once per http level: servers and locations all ask for the same one.
const formatsByLevel = runCache<Level, Map<string, LogFormat>>();

/** log_format definitions of the http level (nginx allows them only there), `combined` included. */
export function logFormats(http: Level): Map<string, LogFormat> {
  const known = formatsByLevel.get(http);
  if (known) return known;
  const out = new Map<string, LogFormat>([['combined', COMBINED]]);
  formatsByLevel.set(http, out);
  for (const d of http.byName.get('log_format') ?? []) {
    const f = parseLogFormat(d);
    if (f) out.set(f.name, f);
  }
  return out;
}

function parseLogFormat(d: Directive): LogFormat | null {
  const args = argValues(d);
  const name = args.shift();
  if (!name) return null;
  let escape: LogFormat['escape'] = 'default';
  const m = /^escape=(default|json|none)$/.exec(args[0] ?? '');
  if (m) {
    escape = m[1] as LogFormat['escape'];
    args.shift();
  }
  return { name, escape, template: parseTemplate(args.join('')), source: srcOf(d) };
}

/**
 * access_log in effect at the innermost level (like other array directives, an
 * inner level with any access_log replaces the outer ones). null when no level
 * has one (nginx's compiled-in default log; not emitted). `off` gives [].
 */
export function accessLogsAt(levels: Level[], formats: Map<string, LogFormat>): AccessLog[] | null {
  for (let i = levels.length - 1; i >= 0; i--) {
    const here = levels[i]!.byName.get('access_log');
    if (here) return logsOf(here, formats);
  }
  return null;
}

// Every location below a level with access_log inherits that level's list: it is
// read once per list (and format table) and the answer shared, as plain data.
const logsByFormats = runCache<Map<string, LogFormat>, Map<Directive[], AccessLog[]>>();

function logsOf(list: Directive[], formats: Map<string, LogFormat>): AccessLog[] {
  let byList = logsByFormats.get(formats);
  if (!byList) logsByFormats.set(formats, (byList = new Map()));
  let out = byList.get(list);
  if (out) return out;
  out = [];
  for (const d of list) {
    const path = argValue(d, 0);
    if (path === undefined || path === 'off' || path.startsWith('syslog:') || path.includes('$')) continue;
    const format = formats.get(argValue(d, 1) ?? 'combined');
    if (!format) continue;
    out.push({ path, format, source: srcOf(d) });
  }
  byList.set(list, out);
  return out;
}

/** The names markAccessLogs reports. */
export const ACCESS_LOG_MARKED = familyOfNames(new Set(['log_format', 'access_log']));

/** Report log_format and access_log lines of one level. */
export function markAccessLogs(ds: Directive[], r: Reporter, formats: Map<string, LogFormat>): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.name === 'log_format') markLogFormat(d, r);
    else if (d.name === 'access_log') markAccessLog(d, r, formats);
  }
}

/** How a format converts: class and reason. */
export function formatVerdict(f: LogFormat): [ReportClass, string] {
  const c = convertLogTemplate(f.template);
  const notes: string[] = [`Envoy ${f.escape === 'json' ? 'json_format' : 'text format'} with the equivalent command operators`];
  let cls: ReportClass = 'translated';
  if (c.diffs.length) {
    cls = 'approximated';
    notes.push(...c.diffs);
  }
  if (f.escape === 'default') {
    notes.push('nginx escapes ", \\ and non-printable bytes as \\xXX in values; Envoy writes them as they are');
    cls = cls === 'translated' ? 'approximated' : cls;
  }
  if (c.unsupported.length) {
    cls = 'unsupported';
    notes.push(`${c.unsupported.join(', ')} ha${c.unsupported.length > 1 ? 've' : 's'} no Envoy operator: logged as "-"`);
  }
  return [cls, notes.join('; ')];
}

function markLogFormat(d: Directive, r: Reporter): void {
  const f = parseLogFormat(d);
  if (!f) return;
  const [cls, reason] = formatVerdict(f);
  r.mark(d, cls, `log format "${f.name}": ${reason}`);
}

function markAccessLog(d: Directive, r: Reporter, formats: Map<string, LogFormat>): void {
  const [path, fmt, ...params] = argValues(d);
  if (path === 'off') {
    r.mark(d, 'translated', 'no access log for these requests');
    return;
  }
  if (path?.startsWith('syslog:')) {
    r.mark(d, 'unsupported', 'syslog logging: Envoy has no syslog access logger (use a file, stdout or an OpenTelemetry/gRPC logger)');
    return;
  }
  if (path?.includes('$')) {
    r.mark(d, 'unsupported', `log file path \`${path}\` with variables (opened per request by nginx): Envoy's file logger takes a fixed path; not logged`);
    return;
  }
  const name = fmt ?? 'combined';
  const format = formats.get(name);
  if (!format) {
    r.mark(d, 'unsupported', `unknown log format "${name}"`);
    return;
  }
  const notes = [`file access log ${path}, format "${name}"`];
  let cls: ReportClass = 'translated';
  if (name === 'combined') {
    const [c, reason] = formatVerdict(COMBINED);
    cls = c;
    notes.push(`built-in combined format: ${reason}`);
  }
  for (const p of params) {
    if (/^(buffer|flush)=/.test(p) || p === 'gzip' || p.startsWith('gzip=')) {
      notes.push(`\`${p}\`: Envoy buffers log writes itself (flushed every second); ${p.startsWith('gzip') ? 'the log is not compressed' : 'sizes differ'}`);
      if (cls === 'translated') cls = 'approximated';
    } else if (p.startsWith('if=')) {
      notes.push(`\`${p}\`: the condition is not translated: Envoy logs every request`);
      if (cls === 'translated') cls = 'approximated';
    }
  }
  if (path && !path.startsWith('/')) {
    notes.push('relative path kept as written (nginx resolves it against its prefix)');
    if (cls === 'translated') cls = 'approximated';
  }
  r.mark(d, cls, notes.join('; '));
}
