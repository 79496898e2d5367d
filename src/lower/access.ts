// ngx_http_access_module and ngx_stream_access_module: `allow` / `deny` rules in
// order, the first whose address matches decides, no match allows. nginx keeps
// one list per family (IPv4, IPv6, unix); `all` joins each. A level with any
// rule (of any family) replaces all of the outer level's lists, one without
// inherits them all (checked with nginx 1.22: stream `deny 127.0.0.1` and server
// `allow ::1` let 127.0.0.1 in; http merges its lists the same way).
import type { Directive } from '../parse/ast.js';
import type { AccessRules } from '../ir/types.js';
import { errorAt, type Level, runCache, srcOf } from './util.js';
import { argCount, argValue } from '../parse/args.js';
import { isIP } from 'node:net';

export function isAccessDirective(d: Directive): boolean {
  return d.name === 'allow' || d.name === 'deny';
}

// A level's rules are read by its report marks and by every policy below it: made
// once per level (plain data nobody modifies; an invalid address throws each time).
const rulesByLevel = runCache<Level, AccessRules>();

function levelRules(level: Level): AccessRules | null {
  const allow = level.byName.get('allow');
  const deny = level.byName.get('deny');
  if (!allow && !deny) return null;
  let rules = rulesByLevel.get(level);
  if (!rules) rulesByLevel.set(level, (rules = readLevelRules(level)));
  return rules;
}

function readLevelRules(level: Level): AccessRules {
  const out: AccessRules = { v4: [], v6: [] };
  for (const d of level.ds) {
    if (!isAccessDirective(d)) continue;
    const action = d.name as 'allow' | 'deny';
    const value = argValue(d, 0);
    if (value === undefined || argCount(d) !== 1) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
    if (value === 'all') {
      out.v4.push({ action, cidr: '0.0.0.0/0', source: srcOf(d) });
      out.v6.push({ action, cidr: '::/0', source: srcOf(d) });
      continue;
    }
    if (value.startsWith('unix:')) continue; // unix-socket clients: no such listener is emitted
    const cidr = parseCidr(value, d);
    out[cidr.includes(':') ? 'v6' : 'v4'].push({ action, cidr, source: srcOf(d) });
  }
  return out;
}

// The same address is written in many servers' rules: read once per text (an invalid one throws each time).
const cidrs = runCache<string, string>();

/** `10.0.0.0/8`, `10.1.2.3`, `2001:db8::/32` → address/length; nginx's error (at `d`'s address) for anything else. */
function parseCidr(value: string, d: Directive): string {
  let cidr = cidrs.get(value);
  if (cidr === undefined) cidrs.set(value, (cidr = readCidr(value, d)));
  return cidr;
}

function readCidr(value: string, d: Directive): string {
  const [addr, len, extra] = value.split('/');
  const family = isIP(addr ?? '');
  const max = family === 4 ? 32 : 128;
  if (family === 0 || extra !== undefined || (len !== undefined && !/^\d+$/.test(len)) || Number(len ?? max) > max) {
    throw errorAt(d.args[0]!.source, `invalid parameter "${value}"`, 'access-address');
  }
  return `${addr!.toLowerCase()}/${len ?? max}`;
}

/**
 * A level's allow/deny, read for nginx's errors (an invalid address) wherever they
 * are written, also where an inner level's rules replace them. Null: the level has none.
 */
export function accessRulesOfLevel(level: Level): AccessRules | null {
  return levelRules(level);
}

/** The rules in effect at the innermost of `levels`; null when no level has any (everyone is let in). */
export function accessRulesAt(levels: Level[]): AccessRules | null {
  for (let i = levels.length - 1; i >= 0; i--) {
    const rules = levelRules(levels[i]!);
    if (rules) return rules.v4.length || rules.v6.length ? rules : null;
  }
  return null;
}
