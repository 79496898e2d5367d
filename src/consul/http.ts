// A plain HTTP PUT for the bodies the npm client would cut down: its service
// helpers drop Weights (and Kind), which ngx2envoy must send.
import type { ConsulConnection } from './connection.js';
import { ConsulRequestError, toConsulError } from './errors.js';

export async function consulPut(conn: ConsulConnection, path: string, body: unknown): Promise<string> {
  const operation = `PUT /v1${path.split('?')[0]}`;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (conn.token) headers['X-Consul-Token'] = conn.token;
  let response: Response;
  try {
    response = await fetch(`${conn.baseUrl}/v1${path}`, { method: 'PUT', headers, body: JSON.stringify(body) });
  } catch (err) {
    throw toConsulError(err, `${operation} to ${conn.baseUrl}`);
  }
  const text = await response.text();
  if (!response.ok) throw new ConsulRequestError(response.status, operation, text.replace(/\s+/g, ' ').trim());
  return text;
}
