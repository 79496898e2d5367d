// The bytes of DiscoveryResponse and DeltaDiscoveryResponse, built from parts
// encoded once per snapshot. Every subscriber gets the same resources; only
// the nonce (and, in delta, which resources) differs per stream. So each
// resource's record in a response (an Any for state of the world, a Resource
// {version, resource, name} for delta, with its field tag and length) is
// encoded once and shared, and a response is: its fields numbered below
// `resources`, the records, the fields numbered above. Protobuf writes fields
// in field-number order, so this is byte for byte what encoding the whole
// message would give.
import protobuf from 'protobufjs';
import { envoyRoot } from './proto-registry.js';
import type { EncodedResource } from './snapshot.js';

const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
const DELTA_DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
const DELTA_RESOURCE = 'envoy.service.discovery.v3.Resource';

/** A DiscoveryResponse with the resources still as encoded resources. */
export interface SotwResponse {
  version_info: string;
  resources: EncodedResource[];
  type_url: string;
  nonce: string;
}

/** A DeltaDiscoveryResponse with the resources still as encoded resources. */
export interface DeltaResponse {
  system_version_info: string;
  resources: EncodedResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

interface Framing {
  type: protobuf.Type;
  /** The `resources` field's number. */
  resourcesId: number;
  /** Its tag (field number, wire type 2), written before each record. */
  tag: number;
}

let framing: { sotw: Framing; delta: Framing; resource: protobuf.Type; any: protobuf.Type } | null = null;

function framings(): NonNullable<typeof framing> {
  if (framing) return framing;
  const root = envoyRoot();
  const of = (name: string): Framing => {
    const type = root.lookupType(name);
    const id = type.fields['resources']!.id;
    return { type, resourcesId: id, tag: ((id << 3) | 2) >>> 0 };
  };
  framing = {
    sotw: of(DISCOVERY_RESPONSE),
    delta: of(DELTA_DISCOVERY_RESPONSE),
    resource: root.lookupType(DELTA_RESOURCE),
    any: root.lookupType('google.protobuf.Any'),
  };
  return framing;
}

function record(tag: number, body: Uint8Array): Buffer {
  const head = protobuf.Writer.create().uint32(tag).uint32(body.length).finish();
  return Buffer.concat([head, body]);
}

const sotwRecords = new WeakMap<EncodedResource, Buffer>();
const deltaRecords = new WeakMap<EncodedResource, Buffer>();

/** The resource as an Any record of DiscoveryResponse.resources. */
function sotwRecord(r: EncodedResource): Buffer {
  let bytes = sotwRecords.get(r);
  if (!bytes) {
    const { any, sotw } = framings();
    bytes = record(sotw.tag, any.encode({ type_url: r.typeUrl, value: r.bytes }).finish());
    sotwRecords.set(r, bytes);
  }
  return bytes;
}

/** The resource as a Resource record of DeltaDiscoveryResponse.resources. */
function deltaRecord(r: EncodedResource): Buffer {
  let bytes = deltaRecords.get(r);
  if (!bytes) {
    const { resource, delta } = framings();
    const body = resource.encode(resource.fromObject({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.bytes } })).finish();
    bytes = record(delta.tag, body);
    deltaRecords.set(r, bytes);
  }
  return bytes;
}

/** `fields` encoded around the pre-encoded records of the `resources` field. */
function assemble(f: Framing, fields: Record<string, unknown>, records: Buffer[]): Buffer {
  const below: Record<string, unknown> = {};
  const above: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const field = f.type.fields[key];
    if (!field) throw new Error(`${f.type.name} has no field ${key}`);
    (field.id < f.resourcesId ? below : above)[key] = value;
  }
  const encode = (o: Record<string, unknown>) => f.type.encode(f.type.fromObject(o)).finish();
  return Buffer.concat([encode(below), ...records, encode(above)]);
}

export function encodeSotwResponse(r: SotwResponse): Buffer {
  const f = framings().sotw;
  return assemble(f, { version_info: r.version_info, type_url: r.type_url, nonce: r.nonce }, r.resources.map(sotwRecord));
}

export function encodeDeltaResponse(r: DeltaResponse): Buffer {
  const f = framings().delta;
  const fields = { system_version_info: r.system_version_info, type_url: r.type_url, removed_resources: r.removed_resources, nonce: r.nonce };
  return assemble(f, fields, r.resources.map(deltaRecord));
}

/** An encoded response and the nonce written in it. */
export interface EncodedResponse {
  nonce: string;
  bytes: Buffer;
}

interface SharedEntry extends EncodedResponse {
  /** Streams this response was written to: none gets the same nonce twice. */
  sentTo: Set<number>;
}

/**
 * Responses shared by the streams that are sent the same content under one
 * snapshot (after a reload, every Envoy gets the same new RouteConfiguration):
 * encoded once, with one nonce, and the same bytes written to each stream, so a
 * push costs no per-stream encoding or copy of its resources (grpc-js still
 * frames each write). A nonce stays fresh per stream: a stream that was already
 * sent an entry gets its own encoding with its own nonce instead. Shared nonces
 * (`s<n>`) come from a counter that never restarts, so one never names two
 * contents; the per-stream ones are `<stream>-<n>`.
 */
export class SharedResponses {
  private entries = new Map<string, SharedEntry>();
  private counter = 0;

  /** At most `limit` contents are kept (the oldest go first); a push needs one per type. */
  constructor(private readonly limit = 32) {}

  /** Forget every entry (a new snapshot: its responses differ). */
  clear(): void {
    this.entries.clear();
  }

  sotw(streamId: number, r: Omit<SotwResponse, 'nonce'>, ownNonce: () => string): EncodedResponse {
    // version_info is the content hash of the (name, version) list sent.
    const key = `sotw\n${r.type_url}\n${r.version_info}\n${r.resources.length}`;
    return this.take(key, streamId, ownNonce, (nonce) => encodeSotwResponse({ ...r, nonce }));
  }

  delta(streamId: number, r: Omit<DeltaResponse, 'nonce'>, ownNonce: () => string): EncodedResponse {
    let key = `delta\n${r.type_url}\n${r.system_version_info}\n${r.removed_resources.join('\n')}\n`;
    for (const resource of r.resources) key += `${resource.name}=${resource.version}\n`;
    return this.take(key, streamId, ownNonce, (nonce) => encodeDeltaResponse({ ...r, nonce }));
  }

  /** How many contents are kept (tests). */
  get size(): number {
    return this.entries.size;
  }

  private take(key: string, streamId: number, ownNonce: () => string, encode: (nonce: string) => Buffer): EncodedResponse {
    let entry = this.entries.get(key);
    if (entry?.sentTo.has(streamId)) {
      const nonce = ownNonce();
      return { nonce, bytes: encode(nonce) };
    }
    if (!entry) {
      this.counter += 1;
      const nonce = `s${this.counter}`;
      entry = { nonce, bytes: encode(nonce), sentTo: new Set() };
      this.entries.set(key, entry);
      if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    }
    entry.sentTo.add(streamId);
    return entry;
  }
}
