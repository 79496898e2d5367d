// Emission reuse across compiles (serve's reloads, with ServerReuse): a virtual host
// is emitted again only when what it is made from changed.
//
// A virtual host's routes are made from its servers (ServerReuse hands an unchanged
// server back as the same object), the listener's scheme and port, its domains and the
// cluster names its proxy actions were given (the one part of a reused server that a
// reload rewrites: cluster names depend on the transports of every server). The edge
// settings, hoisting and compaction then change the routes by what the whole listener
// decides (compressor filter names, tracing, the filters' neutral per-route configs):
// a kept virtual host is used again only when those decisions are the same text too.
// Kept virtual hosts are frozen and never changed again: the validator may skip one it
// has seen (src/validate WalkCache).
import type { Location, VirtualServer } from '../../ir/types.js';
import type { Json } from './context.js';

/** What one virtual host of a listener is made from. */
export interface VhostInputs {
  /** `<listener name>|<server id>` for a server's own virtual host, `<listener name>|*` for the default one */
  key: string;
  /** the servers whose routes it holds, compared by identity */
  servers: VirtualServer[];
  /** everything else its routes read, as text */
  text: string;
}

/** A virtual host as a listener's emission left it, with what using it again needs. */
export interface KeptVhost {
  inputs: VhostInputs;
  /** the listener's decisions it was finished with (see listeners.ts) */
  decisions: string;
  /** the finished virtual host (frozen) */
  vhost: Json;
  /** the Lua scripts its routes name, [name, text] in order of first use */
  scripts: [string, string][];
  /** the YAML comments of its routes */
  comments: [object, string][];
}

export class EmissionReuse {
  private kept = new Map<string, KeptVhost>();
  private used = new Set<string>();
  /** Virtual hosts used again and emitted in the last emission (tests, the bench). */
  stats = { reused: 0, emitted: 0 };

  begin(): void {
    this.used.clear();
    this.stats = { reused: 0, emitted: 0 };
  }

  /** The kept virtual host made from the same inputs, if any (its decisions are the caller's to compare). */
  find(inputs: VhostInputs): KeptVhost | undefined {
    const k = this.kept.get(inputs.key);
    if (!k || k.inputs.text !== inputs.text || k.inputs.servers.length !== inputs.servers.length) return undefined;
    for (let i = 0; i < inputs.servers.length; i++) if (k.inputs.servers[i] !== inputs.servers[i]) return undefined;
    return k;
  }

  /** Count `k` as used by this emission. */
  take(k: KeptVhost): void {
    this.used.add(k.inputs.key);
    this.stats.reused += 1;
  }

  keep(k: KeptVhost): void {
    Object.freeze(k.vhost);
    this.kept.set(k.inputs.key, k);
    this.used.add(k.inputs.key);
    this.stats.emitted += 1;
  }

  /** Drop what this emission did not use (a removed server's virtual host). */
  end(): void {
    for (const key of this.kept.keys()) if (!this.used.has(key)) this.kept.delete(key);
  }
}

/** The cluster names of a server's proxy actions, in order: lowering may rename them on a reload. */
export function clusterNamesOf(server: VirtualServer): string {
  const names: string[] = [];
  const visit = (l: Location): void => {
    if (l.action.kind === 'proxy') names.push(l.action.cluster);
    for (const a of l.dispatch?.actions ?? []) if (a.action.kind === 'proxy') names.push(a.action.cluster);
    for (const c of l.children) visit(c);
  };
  if (server.fallback.kind === 'proxy') names.push(server.fallback.cluster);
  for (const l of server.locations) visit(l);
  return names.join(' ');
}
