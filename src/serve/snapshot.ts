// A snapshot: the resources served, per client profile and per type URL, each
// encoded once to protobuf binary with a content hash as its version. A type's
// version is the hash of its (name, version) pairs, the snapshot's version the
// hash of the type versions: versions move only when content moves.
import {
  TYPE_URLS,
  RESOURCE_KINDS,
  contentHash,
  resourceName,
  toEdsCluster,
  type JsonObject,
  type ResourceKind,
  type XdsResources,
} from '../emit/envoy/xds.js';
import { createHash } from 'node:crypto';
import { ReusingEncoder } from './proto-json.js';
import { grpcProfile } from './grpc-profile.js';

export type Profile = 'envoy' | 'grpc';
export const PROFILES: Profile[] = ['envoy', 'grpc'];

export interface EncodedResource {
  name: string;
  typeUrl: string;
  json: JsonObject;
  bytes: Buffer;
  /** Content hash of the binary encoding. */
  version: string;
}

export interface TypeSnapshot {
  typeUrl: string;
  version: string;
  resources: Map<string, EncodedResource>;
}

export interface Snapshot {
  /** Version of the Envoy profile (the one shown on /metrics). */
  version: string;
  profiles: Record<Profile, Map<string, TypeSnapshot>>;
  /** The resources as built, per profile (for /config_dump). */
  sources: Record<Profile, XdsResources>;
  /** Profiles encoded so far (the grpc profile is built on first use). */
  builtProfiles(): Profile[];
}

/** Push order: secrets and clusters before what refers to them, listeners before routes (removals go last). */
export const PUSH_ORDER: string[] = [TYPE_URLS.secrets, TYPE_URLS.clusters, TYPE_URLS.endpoints, TYPE_URLS.listeners, TYPE_URLS.routes];

export function kindOfTypeUrl(typeUrl: string): ResourceKind | null {
  return RESOURCE_KINDS.find((k) => TYPE_URLS[k] === typeUrl) ?? null;
}

/** Short type label for metrics and logs: lds, rds, cds, eds, sds. */
export function typeLabel(typeUrl: string): string {
  const kind = kindOfTypeUrl(typeUrl);
  return kind ? { listeners: 'lds', routes: 'rds', clusters: 'cds', endpoints: 'eds', secrets: 'sds' }[kind] : typeUrl;
}

/**
 * Encodes resources, reusing the bytes of every part whose JSON did not
 * change (see ReusingEncoder): a reload that changes one route encodes that
 * route, not the route table.
 */
export class ResourceEncoder {
  private readonly parts = new ReusingEncoder();

  encode(typeUrl: string, json: JsonObject): EncodedResource {
    const raw = this.parts.encodeResource(typeUrl, json);
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    return { name: resourceName(json), typeUrl, json, bytes, version: bytesHash(bytes) };
  }

  /** Forget the parts no encoding used since the last call (called after each snapshot so the cache does not grow). */
  retain(): void {
    this.parts.sweep();
  }
}

/** A resource's version: the first 16 hex digits of the sha256 of its encoding (like contentHash, without a text form first). */
function bytesHash(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

function typeSnapshot(encoder: ResourceEncoder, typeUrl: string, list: JsonObject[]): TypeSnapshot {
  const resources = new Map<string, EncodedResource>();
  for (const json of list) {
    const encoded = encoder.encode(typeUrl, json);
    if (!encoded.name) throw new Error(`a ${typeLabel(typeUrl)} resource has no name`);
    if (resources.has(encoded.name)) throw new Error(`duplicate ${typeLabel(typeUrl)} resource "${encoded.name}"`);
    resources.set(encoded.name, encoded);
  }
  const names = [...resources.keys()].sort();
  const version = contentHash(names.map((n) => `${n}=${resources.get(n)!.version}`).join('\n'));
  return { typeUrl, version, resources };
}

function profileSnapshot(encoder: ResourceEncoder, resources: XdsResources): Map<string, TypeSnapshot> {
  const types = new Map<string, TypeSnapshot>();
  for (const kind of RESOURCE_KINDS) types.set(TYPE_URLS[kind], typeSnapshot(encoder, TYPE_URLS[kind], resources[kind]));
  return types;
}

/**
 * Apply endpoint overrides (e.g. from Consul): the override's
 * ClusterLoadAssignment replaces the compiled one; a cluster that was not EDS
 * (a DNS cluster) becomes an EDS cluster so the override reaches it.
 */
export function applyEndpointOverrides(base: XdsResources, overrides: ReadonlyMap<string, JsonObject>): XdsResources {
  if (overrides.size === 0) return base;
  const clusters = base.clusters.map((c) => {
    const name = resourceName(c);
    return overrides.has(name) && c['type'] !== 'EDS' ? toEdsCluster(c) : c;
  });
  const endpoints = base.endpoints.filter((e) => !overrides.has(resourceName(e)));
  for (const name of [...overrides.keys()].sort()) endpoints.push({ ...overrides.get(name)!, cluster_name: name });
  endpoints.sort((a, b) => (resourceName(a) < resourceName(b) ? -1 : resourceName(a) > resourceName(b) ? 1 : 0));
  return { ...base, clusters, endpoints };
}

/**
 * Build (and encode) the snapshot for a resource set; throws when a resource
 * cannot be encoded. The grpc profile is derived and encoded on first use
 * (most deployments have no gRPC client; a reload should not pay for it).
 */
export function buildSnapshot(encoder: ResourceEncoder, resources: XdsResources): Snapshot {
  const envoy = profileSnapshot(encoder, resources);
  const version = contentHash(PUSH_ORDER.map((t) => envoy.get(t)!.version).join('\n'));
  let grpc: { resources: XdsResources; types: Map<string, TypeSnapshot> } | null = null;
  const grpcBuilt = () => {
    if (!grpc) {
      const derived = grpcProfile(resources);
      grpc = { resources: derived, types: profileSnapshot(encoder, derived) };
    }
    return grpc;
  };
  return {
    version,
    profiles: {
      envoy,
      get grpc() {
        return grpcBuilt().types;
      },
    },
    sources: {
      envoy: resources,
      get grpc() {
        return grpcBuilt().resources;
      },
    },
    builtProfiles: () => (grpc ? ['envoy', 'grpc'] : ['envoy']),
  };
}
