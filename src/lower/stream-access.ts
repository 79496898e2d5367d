// ngx_stream_access_module: `allow` / `deny` rules in order, the first whose
// address matches decides, no match allows. nginx keeps one list per family
// (IPv4, IPv6, unix); `all` joins each. A level with any rule (of any family)
// replaces all of the outer level's lists, one without inherits them all
// (checked with nginx 1.22: stream `deny 127.0.0.1` and server `allow ::1` let
// 127.0.0.1 in).
import type { Directive } from '../parse/ast.js';
import type { StreamAccess, StreamAccessRule } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { errorAt, type Level, src } from './util.js';
import { isIP } from 'node:net';

function levelRules(level: Level): StreamAccess | null {
  const ds = level.ds.filter((d) => d.name === 'allow' || d.name === 'deny');
  if (ds.length === 0) return null;
  const out: StreamAccess = { v4: [], v6: [] };
  for (const d of ds) {
    const action = d.name as 'allow' | 'deny';
    const value = d.args[0]?.value;
    if (value === undefined || d.args.length !== 1) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
    if (value === 'all') {
      out.v4.push({ action, cidr: '0.0.0.0/0', source: src(d.source) });
      out.v6.push({ action, cidr: '::/0', source: src(d.source) });
      continue;
    }
    if (value.startsWith('unix:')) continue; // unix-socket clients: no such listener is emitted
    const cidr = parseCidr(value, d);
    out[cidr.includes(':') ? 'v6' : 'v4'].push({ action, cidr, source: src(d.source) });
  }
  return out;
}

/** `10.0.0.0/8`, `10.1.2.3`, `2001:db8::/32` → address/length; nginx's error for anything else. */
function parseCidr(value: string, d: Directive): string {
  const [addr, len, extra] = value.split('/');
  const family = isIP(addr ?? '');
  const max = family === 4 ? 32 : 128;
  if (family === 0 || extra !== undefined || (len !== undefined && !/^\d+$/.test(len)) || Number(len ?? max) > max) {
    throw errorAt(d.args[0]!.source, `invalid parameter "${value}"`, 'access-address');
  }
  return `${addr!.toLowerCase()}/${len ?? max}`;
}

/**
 * The rules in effect for a server (levels: stream, server), per family; null
 * when no level has any (everyone is let in). Marks every allow/deny directive.
 */
export function streamAccess(levels: Level[], r: Reporter): StreamAccess | null {
  let access: StreamAccess = { v4: [], v6: [] };
  for (const level of levels) access = levelRules(level) ?? access; // the innermost level with rules
  for (const level of levels) {
    for (const d of level.ds) {
      if (d.name !== 'allow' && d.name !== 'deny') continue;
      if (d.args[0]?.value.startsWith('unix:')) r.mark(d, 'ignored', 'unix-socket clients: no unix listener is translated');
      else r.mark(d, 'translated', 'RBAC network filter (first matching rule decides, as nginx; the direct peer address)');
    }
  }
  return access.v4.length || access.v6.length ? access : null;
}
