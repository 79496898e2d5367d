// What a file is: a whole nginx.conf (main context) or a fragment meant to be
// included somewhere (a conf.d file holding `server {}` blocks is the body of
// `http {}`).
import type { Directive, Statement } from './ast.js';

export type ConfigContext = 'main' | 'http' | 'server' | 'location' | 'stream' | 'rtmp' | 'rtmp-server';

/** Directives nginx accepts at the top of nginx.conf (core modules, plus rtmp's block). */
const MAIN_DIRECTIVES = new Set([
  'daemon', 'debug_points', 'env', 'error_log', 'events', 'google_perftools_profiles', 'http', 'include',
  'load_module', 'lock_file', 'mail', 'master_process', 'pcre_jit', 'pid', 'quic_bpf', 'ssl_engine',
  'ssl_object_cache_inheritable', 'stream', 'thread_pool', 'timer_resolution', 'user', 'worker_cpu_affinity',
  'worker_priority', 'worker_processes', 'worker_rlimit_core', 'worker_rlimit_nofile', 'worker_shutdown_timeout',
  'working_directory', 'rtmp', 'rtmp_auto_push', 'rtmp_auto_push_reconnect', 'rtmp_socket_dir',
]);

/** Directives that only make sense in a server body: a file of these is a server snippet. */
const SERVER_LEVEL = new Set(['location', 'listen', 'server_name']);

/** Directives that only make sense in a location: a file of these is a location snippet. */
const LOCATION_LEVEL = new Set(['proxy_pass', 'fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'grpc_pass', 'alias', 'limit_except', 'internal']);

/**
 * The context a file's top level was written for. A stream fragment
 * (`server { listen 53 udp; proxy_pass …; }` with no location) is told apart
 * from an http one by its proxy_pass directly in the server.
 */
export function detectContext(root: Statement[]): ConfigContext {
  const top = root.filter((s): s is Directive => s.kind === 'directive');
  if (top.every((d) => MAIN_DIRECTIVES.has(d.name))) return 'main';
  // nginx-rtmp-module: `application` blocks only exist in an rtmp server.
  if (top.some(isApplication)) return 'rtmp-server';
  if (top.some((d) => SERVER_LEVEL.has(d.name))) return 'server';
  const servers = top.filter((d) => d.name === 'server' && d.block);
  if (servers.length > 0 && servers.every(isRtmpServer)) return 'rtmp';
  if (servers.length > 0 && servers.every(isStreamServer)) return 'stream';
  if (servers.length === 0 && top.some((d) => LOCATION_LEVEL.has(d.name))) return 'location';
  return 'http';
}

function isApplication(d: Directive): boolean {
  return d.name === 'application' && !!d.block;
}

function isRtmpServer(server: Directive): boolean {
  return server.block!.some((s) => s.kind === 'directive' && isApplication(s));
}

function isStreamServer(server: Directive): boolean {
  const names = server.block!.filter((s): s is Directive => s.kind === 'directive').map((d) => d.name);
  return names.includes('proxy_pass') && !names.includes('location');
}

