// Picks the Consul the tests talk to: a real agent when CONSUL_HTTP_ADDR is set
// (CONSUL_HTTP_TOKEN for its ACLs), else a fresh in-process double. Tests that
// need the double's hooks (flip a check, force the index back) get `double`
// only in the second case and skip otherwise.
import { ConsulDouble, type ConsulDoubleOptions } from './consul-double.js';

export interface ConsulTarget {
  addr: string;
  token: string | undefined;
  double: ConsulDouble | null;
  close(): Promise<void>;
}

export function realAgentAddr(): string | undefined {
  const addr = process.env.CONSUL_HTTP_ADDR;
  return addr && addr.trim() !== '' ? addr.trim() : undefined;
}

export async function consulTarget(options: ConsulDoubleOptions = {}): Promise<ConsulTarget> {
  const real = realAgentAddr();
  if (real) {
    const addr = /^https?:\/\//.test(real) ? real : `http://${real}`;
    return { addr, token: process.env.CONSUL_HTTP_TOKEN || undefined, double: null, close: async () => {} };
  }
  const double = await ConsulDouble.start(options);
  return { addr: double.addr, token: options.aclToken, double, close: () => double.stop() };
}
