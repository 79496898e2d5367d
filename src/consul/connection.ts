// Where Consul is and who we are to it, resolved as Consul's own CLI does:
// the flag first, then CONSUL_HTTP_ADDR (`host:port`, `http://…`, `https://…`;
// CONSUL_HTTP_SSL=true makes a bare host:port https) and CONSUL_HTTP_TOKEN /
// CONSUL_HTTP_TOKEN_FILE, else http://127.0.0.1:8500 and no token.
import { readFileSync } from 'node:fs';
import Consul from 'consul';

export interface ConsulConnection {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8500`. */
  baseUrl: string;
  token: string | undefined;
}

export class ConsulAddressError extends Error {}

export function resolveConnection(
  flags: { consulAddr?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): ConsulConnection {
  const raw = flags.consulAddr ?? nonEmpty(env.CONSUL_HTTP_ADDR) ?? '127.0.0.1:8500';
  return { baseUrl: parseAddress(raw, isTrue(env.CONSUL_HTTP_SSL)), token: flags.token ?? tokenFromEnv(env) };
}

export function parseAddress(raw: string, ssl = false): string {
  const text = raw.trim();
  if (text.startsWith('unix://')) throw new ConsulAddressError(`consul address ${text}: unix sockets are not supported`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${ssl ? 'https' : 'http'}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConsulAddressError(`consul address "${raw}" is not host:port or a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConsulAddressError(`consul address "${raw}": scheme must be http or https`);
  }
  if (!url.port) url.port = url.protocol === 'https:' ? '8501' : '8500';
  return `${url.protocol}//${url.host}`;
}

function tokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const token = nonEmpty(env.CONSUL_HTTP_TOKEN);
  if (token) return token;
  const file = nonEmpty(env.CONSUL_HTTP_TOKEN_FILE);
  return file ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.trim() !== '' ? value.trim() : undefined;
}

function isTrue(value: string | undefined): boolean {
  return ['1', 't', 'true', 'yes'].includes((value ?? '').toLowerCase());
}

/** The npm `consul` client for a connection. */
export function consulClient(conn: ConsulConnection): Consul {
  const options = { baseUrl: `${conn.baseUrl}/v1`, defaults: conn.token ? { token: conn.token } : {} };
  const client = new Consul(options as ConstructorParameters<typeof Consul>[0]);
  // papi keeps WHATWG URL's brackets around an IPv6 literal, which getaddrinfo refuses.
  const base = (client as unknown as { _opts?: { baseUrl?: { hostname?: string } } })._opts?.baseUrl;
  if (base?.hostname) base.hostname = base.hostname.replace(/^\[(.*)\]$/, '$1');
  return client;
}
