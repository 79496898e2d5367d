// `upstream` blocks → backends (clusters), and inline proxy_pass targets.
import type { Directive } from '../parse/ast.js';
import { createHash } from 'node:crypto';
import type { Backend, BackendServer, BalancePolicy, ReportClass, UpstreamTls, UpstreamTransport } from '../ir/types.js';
import { type Reporter, worseClass } from './classify.js';
import { directivesOf, errorAt, parseTemplate, parseTimeMs, srcOf } from './util.js';
import { argCount, argValue } from '../parse/args.js';

export function lowerUpstream(d: Directive, r: Reporter): Backend {
  const name = argValue(d, 0);
  if (!name) throw errorAt(d.source, 'invalid number of arguments in "upstream" directive', 'arity');
  const source = srcOf(d);
  r.mark(d, 'translated', `cluster \`${name}\``);
  // The backend is made once its block is read (below), with its final values: a field
  // written after creation (balance, keepalive) turns mutable for every backend and
  // throws away the optimised code that relied on it.
  let balance: BalancePolicy = { kind: 'round_robin' };
  let keepalive: number | null = null;
  const servers: BackendServer[] = [];
  const body = directivesOf(d.block);
  // The server lines' verdicts, reported once every line is read (see markServerLines).
  const lines: ServerLine[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    switch (c.name) {
      case 'server': {
        const line = lowerUpstreamServer(c);
        servers.push(line.server);
        lines.push(line);
        break;
      }
      case 'least_conn':
        balance = { kind: 'least_conn' };
        r.mark(c, 'translated', 'lb_policy LEAST_REQUEST (Envoy weighs active requests, nginx active connections: equal for HTTP/1)');
        break;
      case 'ip_hash':
        balance = { kind: 'ip_hash' };
        r.mark(c, 'approximated', 'RING_HASH on the source IP: same client stickiness, but nginx hashes only the first three IPv4 octets and maps keys to servers differently');
        break;
      case 'hash': {
        const key = argValue(c, 0) ?? '';
        const consistent = argValue(c, 1) === 'consistent';
        balance = { kind: 'hash', key: parseTemplate(key), consistent };
        if (!hashableKey(key)) {
          r.mark(c, 'unsupported', `hash key \`${key}\` has no Envoy hash policy (one of $remote_addr, $request_uri, $host, $http_*, $cookie_*, $arg_* is needed): requests are spread without stickiness`);
          break;
        }
        r.mark(c, 'approximated', `${consistent ? 'RING_HASH (ketama-like)' : 'MAGLEV'} on \`${key}\`: same key stickiness, different key→server mapping than nginx`);
        break;
      }
      case 'random': {
        const two = argValue(c, 0) === 'two';
        balance = { kind: 'random', two };
        r.mark(c, two ? 'approximated' : 'translated', two ? 'LEAST_REQUEST with choice_count 2 (power of two choices), nginx `random two` picks by least_conn among two' : 'lb_policy RANDOM');
        break;
      }
      case 'keepalive': {
        const n = Number(argValue(c, 0));
        keepalive = Number.isFinite(n) ? n : null;
        r.mark(c, 'approximated', 'upstream connections are reused (Envoy pools connections; the idle-connection cap per worker has no Envoy equivalent)');
        break;
      }
      case 'keepalive_timeout':
        r.mark(c, 'translated', 'common_http_protocol_options.idle_timeout');
        break;
      case 'keepalive_requests':
        r.mark(c, 'translated', 'common_http_protocol_options.max_requests_per_connection');
        break;
      case 'zone':
        r.mark(c, 'ignored', 'shared memory zone: Envoy shares cluster state across workers itself');
        break;
      default:
        break; // left to the default classification (unsupported or unknown)
    }
  }
  markServerLines(lines, servers, r);
  return { name, kind: 'upstream', balance, keepalive, clusters: [], servers, source };
}

/** A `server` line of an upstream: the server it makes and the report's verdict on the line itself. */
interface ServerLine {
  d: Directive;
  server: BackendServer;
  cls: ReportClass;
  reason: string;
}

const OUTLIER_REASON = 'max_fails/fail_timeout → outlier detection on local-origin failures (consecutive failures, not failures within a window)';
const SINGLE_SERVER_REASON = 'max_fails/fail_timeout have no effect with a single server (nginx never marks it unavailable)';

/**
 * Reports each server line once: its own verdict, and for a line with max_fails or
 * fail_timeout what those become, which depends on how many servers are live (known
 * only once every line is read). One mark with both reasons is the entry two marks
 * made (the worse class, the reasons joined in order) without the second mark's
 * bookkeeping, for every server line of every upstream.
 */
function markServerLines(lines: ServerLine[], servers: BackendServer[], r: Reporter): void {
  let live = 0;
  for (let i = 0; i < servers.length; i++) if (!servers[i]!.down) live++;
  for (let i = 0; i < lines.length; i++) {
    const { d, cls, reason } = lines[i]!;
    if (!setsFailureLimits(d)) r.mark(d, cls, reason);
    else if (live >= 2) r.mark(d, worseClass(cls, 'approximated'), `${reason}; ${OUTLIER_REASON}`);
    else r.mark(d, worseClass(cls, 'translated'), `${reason}; ${SINGLE_SERVER_REASON}`);
  }
}

/** Whether a `server` line sets max_fails or fail_timeout (read without building its argument list). */
function setsFailureLimits(d: Directive): boolean {
  for (let i = 0; i < argCount(d); i++) {
    const a = argValue(d, i)!;
    if (a.startsWith('max_fails=') || a.startsWith('fail_timeout=')) return true;
  }
  return false;
}

function lowerUpstreamServer(d: Directive): ServerLine {
  const addr = argValue(d, 0);
  if (!addr) throw errorAt(d.source, 'invalid number of arguments in "server" directive', 'arity');
  const server = parseServerAddress(addr, d);
  const notes: string[] = [];
  let cls: 'translated' | 'approximated' | 'unsupported' = 'translated';
  for (let i = 1; i < argCount(d); i++) {
    const p = argValue(d, i)!;
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    if (k === 'weight') server.weight = Number(v);
    else if (k === 'max_fails') server.maxFails = Number(v);
    else if (k === 'fail_timeout') server.failTimeoutMs = parseTimeMs(v) ?? 10000;
    else if (k === 'backup') server.backup = true;
    else if (k === 'down') server.down = true;
    else {
      notes.push(`\`${p}\` not translated`);
      cls = 'unsupported';
    }
  }
  if (server.down) {
    notes.push('marked down: left out of the cluster');
  }
  if (server.backup) notes.push('backup: priority 1 endpoint (used when the primary ones are unhealthy)');
  const endpoint = `endpoint ${server.unix ? 'unix:' + server.host : `${server.host}:${server.port}`}`;
  return { d, server, cls, reason: notes.length ? [endpoint, ...notes].join('; ') : endpoint };
}

export function parseServerAddress(addr: string, d: Directive): BackendServer {
  if (addr.startsWith('unix:')) return backendServer(addr.slice(5), 0, true, d);
  const v6 = addr.startsWith('[') ? /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(addr) : null; // (most addresses: no bracket, no regex)
  if (v6) return backendServer(v6[1]!, Number(v6[2] ?? 80), false, d);
  const m = /^([^:/]+)(?::(\d+))?$/.exec(addr);
  if (!m) throw errorAt(d.source, `invalid host in upstream "${addr}"`, 'upstream-address');
  return backendServer(m[1]!.toLowerCase(), Number(m[2] ?? 80), false, d);
}

/** A server with nginx's defaults (weight=1 max_fails=1 fail_timeout=10s). */
function backendServer(host: string, port: number, unix: boolean, d: Directive): BackendServer {
  return { host, port, unix, weight: 1, maxFails: 1, failTimeoutMs: 10000, backup: false, down: false, source: srcOf(d) };
}

export function isIp(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
}

/** Cluster name of an inline target: `host_port`. */
export function inlineBackendName(host: string, port: number, unix: boolean): string {
  return unix ? `unix_${host.replace(/[^A-Za-z0-9._-]/g, '_')}` : `${host}_${port}`;
}

/**
 * The cluster of a backend used with several transports: `<backend>/<scheme>`,
 * plus a hash of the TLS settings when there are any (`up/https-1a2b3c4d`), so
 * the name follows the settings, never the order of the locations; `-keepalive`
 * ends the name of a transport with proxy_socket_keepalive on. Backend
 * names hold no `/` followed by a scheme label: a proxy_pass host ends at `/`.
 */
export function transportClusterName(backend: string, t: UpstreamTransport): string {
  const scheme = t.tls ? (t.http2 ? 'grpcs' : 'https') : t.http2 ? 'grpc' : 'http';
  const keepalive = t.tcpKeepalive ? '-keepalive' : '';
  if (!t.tls || Object.keys(t.tls).length === 0) return `${backend}/${scheme}${keepalive}`;
  return `${backend}/${scheme}-${tlsSettingsHash(t.tls)}${keepalive}`;
}

/** 8 hex digits naming a set of TLS settings in a cluster name (fields in the IR's fixed order). */
export function tlsSettingsHash(tls: UpstreamTls): string {
  return createHash('sha256').update(JSON.stringify(tls)).digest('hex').slice(0, 8);
}

// Stream clusters (src/lower/stream-backends.ts) end in /udp, /proxy_protocol, /tls-<hash> and /keepalive for those uses.
const TRANSPORT_SUFFIX = /\/(?:(?:https?|grpcs?)(?:-[0-9a-f]{8})?(?:-keepalive)?|udp|(?:(?:proxy_protocol\/)?tls-[0-9a-f]{8}|proxy_protocol)(?:\/keepalive)?|keepalive)$/;

/** The backend (upstream or inline target, http or stream) a cluster belongs to: its name without the transport label. */
export function backendOfCluster(cluster: string): string {
  return cluster.replace(TRANSPORT_SUFFIX, '');
}

/** Hash keys Envoy's route hash_policy can express (see emit/envoy/routes.ts hashPolicy). */
export function hashableKey(key: string): boolean {
  return /^\$(remote_addr|binary_remote_addr|request_uri|host|http_host|http_[A-Za-z0-9_]+|cookie_[A-Za-z0-9_]+|arg_[A-Za-z0-9_]+)$/.test(key);
}
