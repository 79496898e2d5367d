// Runs Debian's real nginx on 127.0.0.1 as the oracle for nginx behaviour. Each
// instance gets its own temp prefix (pid, logs, temp paths), runs in the
// foreground without a master process, and is stopped by the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BIN = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) =>
  existsSync(p),
);

export function nginxAvailable(): boolean {
  return NGINX_BIN !== undefined;
}

/** Debian's headers-more module (libnginx-mod-http-headers-more-filter), loaded with `load_module`. */
export const HEADERS_MORE_MODULE = ['/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so', '/usr/share/nginx/modules/ngx_http_headers_more_filter_module.so'].find((p) =>
  existsSync(p),
);

/** A port that is free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct ports free right now on 127.0.0.1 (held open together, so no two are the same). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: ReturnType<typeof createServer>[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = srv.address();
      ports.push(typeof addr === 'object' && addr ? addr.port : 0);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }
}

/**
 * Runs `start` (which starts nginx on the ports it is given) with `n` fresh ports, again
 * with new ones when nginx could not bind one: a port found free can be taken by another
 * process (the test files run in parallel) before nginx binds it.
 */
export async function onFreshPorts<T>(n: number, start: (ports: number[]) => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start(await freePorts(n));
    } catch (err) {
      if (i >= attempts || !/Address already in use/.test(String((err as Error).message))) throw err;
    }
  }
}

export interface NginxInstance {
  prefix: string;
  confPath: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/** Wraps an `http { ... }` body (or a full config when `full` is set) with the test's own paths. */
export function testConfig(prefix: string, httpBody: string): string {
  const t = (n: string) => join(prefix, n);
  return [
    `pid ${t('nginx.pid')};`,
    `error_log ${t('error.log')} info;`,
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'http {',
    `  access_log off;`,
    `  client_body_temp_path ${t('tmp/body')};`,
    `  proxy_temp_path ${t('tmp/proxy')};`,
    `  fastcgi_temp_path ${t('tmp/fastcgi')};`,
    `  uwsgi_temp_path ${t('tmp/uwsgi')};`,
    `  scgi_temp_path ${t('tmp/scgi')};`,
    httpBody,
    '}',
    '',
  ].join('\n');
}

/**
 * `nginx -t` on a config (text, or a function of the temp prefix that writes it):
 * returns nginx's exit status and what it printed, error log included.
 */
export function nginxTest(conf: string | ((prefix: string) => string)): { status: number; stderr: string } {
  if (!NGINX_BIN) throw new Error('nginx is not installed');
  const prefix = mkdtempSync(join(tmpdir(), 'ngx2envoy-nginx-t-'));
  try {
    mkdirSync(join(prefix, 'tmp'), { recursive: true });
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, typeof conf === 'string' ? conf : conf(prefix));
    const r = spawnSync(NGINX_BIN, ['-t', '-q', '-p', prefix, '-c', confPath, '-e', join(prefix, 'error.log')], {
      encoding: 'utf8',
    });
    let log = '';
    try {
      log = readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {
      // nginx writes no log when it fails before opening it; stderr has the message then.
    }
    return { status: r.status ?? -1, stderr: r.stderr + log };
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

/**
 * Starts nginx on a full config (text, or a function of the temp prefix that
 * writes it, e.g. with testConfig) and waits until each of `ports` accepts connections.
 */
export async function startNginx(conf: string | ((prefix: string) => string), ports: number[]): Promise<NginxInstance> {
  if (!NGINX_BIN) throw new Error('nginx is not installed');
  const prefix = mkdtempSync(join(tmpdir(), 'ngx2envoy-nginx-'));
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, typeof conf === 'string' ? conf : conf(prefix));
  const child: ChildProcess = spawn(
    NGINX_BIN,
    ['-p', prefix, '-c', confPath, '-e', join(prefix, 'error.log'), '-g', 'daemon off; master_process off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const errorLog = () => {
    try {
      return readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      Promise.all(ports.map((p) => waitForPort(p, 10_000))),
      exited.then((code) => {
        throw new Error(`nginx exited with ${code}: ${stderr}${errorLog()}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { prefix, confPath, errorLog, stop };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
