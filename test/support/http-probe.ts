// Sends raw requests (exact Host, raw request target) and runs echo backends that
// say which backend answered and what it received.
import { request, createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface ProbeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One request on a fresh connection; the target is sent exactly as given (`from`: the
 * client's address, a loopback one; `extra`: more request headers).
 */
export function probe(port: number, host: string | null, target: string, method = 'GET', from?: string, extra: Record<string, string> = {}): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (host !== null) headers['Host'] = host;
    Object.assign(headers, extra);
    const req = request(
      { host: '127.0.0.1', port, method, path: target, headers, agent: false, setHost: false, ...(from ? { localAddress: from } : {}) },
      (res) => readResponse(res, resolve),
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${method} ${host} ${target}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Status, headers (repeated ones joined with ", ") and body of a response. */
function readResponse(res: IncomingMessage, done: (r: ProbeResponse) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (body += d));
  res.on('end', () => {
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : String(v);
    done({ status: res.statusCode ?? 0, headers: flat, body });
  });
}

export interface EchoReply {
  backendPort: number;
  path: string;
  host: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** Echo backends on the given ports: each answers 200 with JSON saying what it received. */
export async function startEchoBackends(ports: number[]): Promise<{ stop(): Promise<void> }> {
  const servers: Server[] = [];
  for (const port of ports) {
    const srv = createServer((req, res) => {
      const reply: EchoReply = { backendPort: port, path: req.url ?? '', host: req.headers.host, headers: req.headers };
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-echo-backend', String(port));
      res.end(JSON.stringify(reply));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    servers.push(srv);
  }
  return {
    stop: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}

export interface TlsProbeResponse extends ProbeResponse {
  /** CN of the certificate the server presented. */
  certCn: string;
  /** DNS names of its subjectAltName. */
  certSans: string[];
}

/**
 * One HTTPS request on a fresh connection to 127.0.0.1:port with the SNI and
 * the Host set independently (`sni` null: no SNI extension at all). The server
 * certificate is not verified: the test reads which one was presented.
 */
export function tlsProbe(port: number, sni: string | null, host: string, target: string): Promise<TlsProbeResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'GET',
        path: target,
        headers: { Host: host },
        setHost: false,
        agent: false,
        servername: sni ?? '', // '' sends no SNI
        rejectUnauthorized: false,
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        const sans = (cert.subjectaltname ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
        readResponse(res, (r) => resolve({ ...r, certCn: String(cert.subject?.CN ?? ''), certSans: sans }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${sni} ${host} ${target}`)));
    req.on('error', reject);
    req.end();
  });
}
