// The two ADS stream protocols over one snapshot. A stream keeps, per type
// URL, what the client subscribed to, what it holds, and the one response in
// flight; `pump()` decides what to send next:
//
//   1. additions/updates, type by type in PUSH_ORDER (secrets, clusters,
//      endpoints, listeners, routes), at most one response in flight per type;
//   2. once every type's additions are ACKed (or NACKed), removals, in the
//      same order. In state of the world a removal is implicit (a wildcard
//      response without the resource), so phase 1 keeps the resources being
//      removed in the response and phase 2 sends the set without them.
//
// Nonces: every response has a fresh nonce; a request whose response_nonce is
// not the in-flight nonce of its type is stale and is ignored (state of the
// world), or only its subscription changes are applied (delta, where they are
// increments that cannot be replayed later). A request with the in-flight
// nonce ACKs it, or NACKs it when it carries error_detail. A NACKed response
// is not sent again: nothing of its content is resent until the type's
// snapshot version changes.
import { contentHash } from '../emit/envoy/xds.js';
import { PUSH_ORDER, typeLabel, type EncodedResource, type Profile, type Snapshot, type TypeSnapshot } from './snapshot.js';
import type { DeltaResponse, SotwResponse } from './wire.js';

export type StreamKind = 'sotw' | 'delta';

/** Wire shapes (proto-loader objects, keepCase). */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

export interface NodeMessage {
  id?: string;
  cluster?: string;
  user_agent_name?: string;
  metadata?: { fields?: Record<string, { string_value?: string; kind?: string }> } | null;
}

export interface StatusMessage {
  code?: number;
  message?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: NodeMessage | null;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: StatusMessage | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface DeltaDiscoveryRequest {
  node?: NodeMessage | null;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: StatusMessage | null;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource: AnyMessage;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

/** What a stream reports to its server (metrics, logs, events). */
export interface StreamObserver {
  snapshot(): Snapshot | null;
  onResponse(e: ResponseEvent): void;
  onAck(e: AckEvent): void;
  onNack(e: NackEvent): void;
  onSubscribe(stream: AdsStream, typeUrl: string): void;
  /** Every request, once handled (tests wait on it instead of on time). */
  onRequest(stream: AdsStream, typeUrl: string): void;
}

export interface ResponseEvent {
  streamId: number;
  kind: StreamKind;
  node: string;
  typeUrl: string;
  nonce: string;
  version: string;
  names: string[];
  removed: string[];
}

export interface AckEvent {
  streamId: number;
  kind: StreamKind;
  node: string;
  typeUrl: string;
  nonce: string;
  version: string;
}

export interface NackEvent extends AckEvent {
  detail: string;
}

const WILDCARD_BY_DEFAULT = new Set([
  'type.googleapis.com/envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster',
]);

let nextStreamId = 1;

/** The node's profile: gRPC's own clients get the grpc profile, everyone else Envoy's. */
export function profileOfNode(node: NodeMessage | null | undefined): Profile {
  const declared = node?.metadata?.fields?.['ngx2envoy.profile']?.string_value;
  if (declared === 'grpc' || declared === 'envoy') return declared;
  return (node?.user_agent_name ?? '').toLowerCase().startsWith('grpc') ? 'grpc' : 'envoy';
}

function statusText(status: StatusMessage | null | undefined): string {
  return status?.message || (status?.code !== undefined ? `code ${status.code}` : 'rejected');
}

/** Shared part of both stream kinds: identity, node, profile, nonces. */
export abstract class AdsStream {
  readonly id = nextStreamId++;
  node = '';
  profile: Profile = 'envoy';
  closed = false;
  private nonceCounter = 0;

  constructor(
    readonly kind: StreamKind,
    protected readonly observer: StreamObserver,
  ) {}

  abstract types(): string[];
  abstract pump(): void;

  protected adoptNode(node: NodeMessage | null | undefined): void {
    if (this.node || !node) return;
    this.node = node.id ?? '';
    this.profile = profileOfNode(node);
  }

  /** A nonce no other stream uses (a response encoded for this stream alone). */
  protected nextNonce(): string {
    this.nonceCounter += 1;
    return `${this.id}-${this.nonceCounter}`;
  }

  protected typeSnapshot(typeUrl: string): TypeSnapshot | null {
    return this.observer.snapshot()?.profiles[this.profile].get(typeUrl) ?? null;
  }
}

// ---------------------------------------------------------------- state of the world

interface SotwPlan {
  key: string;
  resources: EncodedResource[];
}

interface SotwTypeState {
  wildcard: boolean;
  names: Set<string>;
  inFlight: { nonce: string; plan: SotwPlan; guard: string } | null;
  /** Key of the last response sent (delivered or in flight): never sent twice in a row. */
  lastKey: string | null;
  /** Nonce of the last response sent: requests carrying another nonce are stale. */
  lastNonce: string | null;
  /** What the client holds (last ACKed response). */
  acked: Map<string, EncodedResource>;
  /** `typeVersion|subscription` at the time of the last NACK: nothing is sent while it holds. */
  nackedGuard: string | null;
  /** The type snapshot this state was last found in sync with (nothing to send); null once anything above changes. */
  inSyncWith: TypeSnapshot | null;
}

/**
 * Writes a response (src/serve/wire.ts encodes it) and returns its nonce: one
 * shared by every stream sent the same content under the current snapshot
 * (never twice to one stream), or `ownNonce()`.
 */
export type SendResponse<R> = (stream: AdsStream, response: Omit<R, 'nonce'>, ownNonce: () => string) => string;

export class SotwStream extends AdsStream {
  private state = new Map<string, SotwTypeState>();

  constructor(
    observer: StreamObserver,
    private readonly send: SendResponse<SotwResponse>,
  ) {
    super('sotw', observer);
  }

  types(): string[] {
    return [...this.state.keys()];
  }

  handle(req: DiscoveryRequest): void {
    this.handleRequest(req);
    this.observer.onRequest(this, req.type_url ?? '');
  }

  private handleRequest(req: DiscoveryRequest): void {
    this.adoptNode(req.node);
    const typeUrl = req.type_url ?? '';
    if (!typeUrl) return; // ADS requires a type URL on every request
    let st = this.state.get(typeUrl);
    const nonce = req.response_nonce ?? '';
    if (!st) {
      st = { wildcard: false, names: new Set(), inFlight: null, lastKey: null, lastNonce: null, acked: new Map(), nackedGuard: null, inSyncWith: null };
      this.state.set(typeUrl, st);
      this.observer.onSubscribe(this, typeUrl);
      this.updateSubscription(st, typeUrl, req.resource_names ?? []);
      this.adoptClientVersion(st, typeUrl, req.version_info ?? '');
      this.pump();
      return;
    }
    if (nonce !== '') {
      if (nonce !== st.lastNonce) return; // stale: answers an older response, ignored
      if (st.inFlight) this.settle(st, typeUrl, req);
      // else: the latest response was settled already; this request changes the subscription
    } else if (st.inFlight) {
      return; // sent before the client saw the in-flight response; its ACK will carry the subscription
    }
    this.updateSubscription(st, typeUrl, req.resource_names ?? []);
    this.pump();
  }

  private settle(st: SotwTypeState, typeUrl: string, req: DiscoveryRequest): void {
    const inFlight = st.inFlight!;
    st.inFlight = null;
    st.inSyncWith = null;
    const event = { streamId: this.id, kind: this.kind, node: this.node, typeUrl, nonce: inFlight.nonce, version: inFlight.plan.key };
    if (req.error_detail) {
      st.nackedGuard = inFlight.guard;
      this.observer.onNack({ ...event, detail: statusText(req.error_detail) });
    } else {
      st.acked = new Map(inFlight.plan.resources.map((r) => [r.name, r]));
      this.observer.onAck(event);
    }
  }

  private updateSubscription(st: SotwTypeState, typeUrl: string, names: string[]): void {
    const wildcard = names.includes('*') || (names.length === 0 && WILDCARD_BY_DEFAULT.has(typeUrl));
    const named = new Set(names.filter((n) => n !== '*'));
    // Most requests (ACKs) repeat the subscription: the type stays in sync.
    if (wildcard === st.wildcard && named.size === st.names.size && [...named].every((n) => st.names.has(n))) return;
    st.wildcard = wildcard;
    st.names = named;
    st.inSyncWith = null;
  }

  /** On a reconnect the client names the version it holds; when it is current nothing is resent. */
  private adoptClientVersion(st: SotwTypeState, typeUrl: string, version: string): void {
    if (!version) return;
    const plan = this.finalPlan(st, typeUrl);
    if (plan && plan.key === version) {
      st.lastKey = plan.key;
      st.acked = new Map(plan.resources.map((r) => [r.name, r]));
    }
  }

  private subscribed(st: SotwTypeState, snap: TypeSnapshot): EncodedResource[] {
    if (st.wildcard) return [...snap.resources.values()];
    return [...st.names].sort().flatMap((n) => snap.resources.get(n) ?? []);
  }

  private planOf(resources: EncodedResource[]): SotwPlan {
    const sorted = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { key: contentHash(sorted.map((r) => `${r.name}=${r.version}`).join('\n')), resources: sorted };
  }

  private finalPlan(st: SotwTypeState, typeUrl: string): SotwPlan | null {
    const snap = this.typeSnapshot(typeUrl);
    return snap ? this.planOf(this.subscribed(st, snap)) : null;
  }

  /**
   * Phase 1: the new set, plus, for listeners and clusters (where a state of
   * the world response without a resource removes it), the held resources
   * that are going away and are still subscribed to.
   */
  private additionPlan(st: SotwTypeState, typeUrl: string): SotwPlan | null {
    const snap = this.typeSnapshot(typeUrl);
    if (!snap) return null;
    const target = this.subscribed(st, snap);
    if (!WILDCARD_BY_DEFAULT.has(typeUrl)) return this.planOf(target);
    const names = new Set(target.map((r) => r.name));
    const retained = [...st.acked.values()].filter((r) => !names.has(r.name) && (st.wildcard || st.names.has(r.name)));
    return this.planOf([...target, ...retained]);
  }

  private guardOf(st: SotwTypeState, typeUrl: string): string {
    const snap = this.typeSnapshot(typeUrl);
    return `${snap?.version ?? ''}|${st.wildcard ? '*' : [...st.names].sort().join(',')}`;
  }

  pump(): void {
    if (this.closed || !this.observer.snapshot()) return;
    let unsettled = false;
    for (const typeUrl of this.orderedTypes()) {
      const st = this.state.get(typeUrl)!;
      if (st.inSyncWith !== null && st.inSyncWith === this.typeSnapshot(typeUrl)) continue;
      const plan = this.additionPlan(st, typeUrl);
      if (!plan) continue;
      if (st.inFlight) {
        unsettled = true;
        continue;
      }
      if (plan.key === st.lastKey || st.nackedGuard === this.guardOf(st, typeUrl)) continue;
      unsettled = true;
      this.respond(st, typeUrl, plan);
    }
    if (unsettled) return;
    for (const typeUrl of this.orderedTypes()) {
      const st = this.state.get(typeUrl)!;
      const snap = this.typeSnapshot(typeUrl);
      if (!snap || st.inSyncWith === snap) continue;
      const plan = this.finalPlan(st, typeUrl)!;
      if (!st.inFlight && plan.key !== st.lastKey && st.nackedGuard !== this.guardOf(st, typeUrl)) {
        this.respond(st, typeUrl, plan);
      } else if (!st.inFlight) {
        // Neither phase has anything for this type until it or its snapshot changes.
        st.inSyncWith = snap;
      }
    }
  }

  private orderedTypes(): string[] {
    const known = PUSH_ORDER.filter((t) => this.state.has(t));
    return [...known, ...[...this.state.keys()].filter((t) => !PUSH_ORDER.includes(t))];
  }

  private respond(st: SotwTypeState, typeUrl: string, plan: SotwPlan): void {
    const nonce = this.send(this, { version_info: plan.key, resources: plan.resources, type_url: typeUrl }, () => this.nextNonce());
    st.inSyncWith = null;
    st.inFlight = { nonce, plan, guard: this.guardOf(st, typeUrl) };
    st.lastKey = plan.key;
    st.lastNonce = nonce;
    const held = new Set(plan.resources.map((r) => r.name));
    this.observer.onResponse({
      streamId: this.id,
      kind: this.kind,
      node: this.node,
      typeUrl,
      nonce,
      version: plan.key,
      names: [...held],
      removed: [...st.acked.keys()].filter((n) => !held.has(n)),
    });
  }
}

// ---------------------------------------------------------------- delta

interface DeltaTypeState {
  wildcard: boolean;
  names: Set<string>;
  /** name → version the client holds (as far as the server knows). */
  held: Map<string, string>;
  inFlight: { nonce: string; version: string; previous: Map<string, string | undefined> } | null;
  /** Resources of a NACKed response, not resent while the type's version is `typeVersion`. */
  rejected: { typeVersion: string; versions: Map<string, string> } | null;
  /**
   * The type snapshot this state was last found in sync with (nothing to send,
   * nothing to remove); null once anything above changes. Most requests (ACKs)
   * and most pushes leave most types in sync: they skip planning them.
   */
  inSyncWith: TypeSnapshot | null;
}

interface DeltaPlan {
  resources: EncodedResource[];
  removed: string[];
}

export class DeltaStream extends AdsStream {
  private state = new Map<string, DeltaTypeState>();

  constructor(
    observer: StreamObserver,
    private readonly send: SendResponse<DeltaResponse>,
  ) {
    super('delta', observer);
  }

  types(): string[] {
    return [...this.state.keys()];
  }

  handle(req: DeltaDiscoveryRequest): void {
    this.handleRequest(req);
    this.observer.onRequest(this, req.type_url ?? '');
  }

  private handleRequest(req: DeltaDiscoveryRequest): void {
    this.adoptNode(req.node);
    const typeUrl = req.type_url ?? '';
    if (!typeUrl) return;
    let st = this.state.get(typeUrl);
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    if (!st) {
      st = { wildcard: false, names: new Set(), held: new Map(), inFlight: null, rejected: null, inSyncWith: null };
      this.state.set(typeUrl, st);
      this.observer.onSubscribe(this, typeUrl);
      // Legacy wildcard: a first LDS/CDS request naming nothing subscribes to everything.
      if (subscribe.length === 0 && WILDCARD_BY_DEFAULT.has(typeUrl)) st.wildcard = true;
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) st.held.set(name, version);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '' && st.inFlight && st.inFlight.nonce === nonce) this.settle(st, typeUrl, req);
    this.updateSubscription(st, subscribe, unsubscribe);
    this.pump();
  }

  private settle(st: DeltaTypeState, typeUrl: string, req: DeltaDiscoveryRequest): void {
    const inFlight = st.inFlight!;
    st.inFlight = null;
    const event = { streamId: this.id, kind: this.kind, node: this.node, typeUrl, nonce: inFlight.nonce, version: inFlight.version };
    if (!req.error_detail) {
      this.observer.onAck(event);
      return;
    }
    st.inSyncWith = null;
    // The client kept what it had: restore it, and hold back the rejected content.
    const rejected = new Map<string, string>();
    for (const [name, before] of inFlight.previous) {
      // '' marks a rejected removal.
      rejected.set(name, st.held.get(name) ?? '');
      if (before === undefined) st.held.delete(name);
      else st.held.set(name, before);
    }
    st.rejected = { typeVersion: this.typeSnapshot(typeUrl)?.version ?? '', versions: rejected };
    this.observer.onNack({ ...event, detail: statusText(req.error_detail) });
  }

  private updateSubscription(st: DeltaTypeState, subscribe: string[], unsubscribe: string[]): void {
    if (subscribe.length > 0 || unsubscribe.length > 0) st.inSyncWith = null;
    for (const name of subscribe) {
      if (name === '*') st.wildcard = true;
      else st.names.add(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') st.wildcard = false;
      else st.names.delete(name);
    }
    // The client forgets what it no longer subscribes to.
    for (const name of [...st.held.keys()]) {
      if (this.inScope(st, name)) continue;
      st.held.delete(name);
      st.inSyncWith = null;
    }
  }

  private inScope(st: DeltaTypeState, name: string): boolean {
    return st.wildcard || st.names.has(name);
  }

  private isRejected(st: DeltaTypeState, snap: TypeSnapshot, r: EncodedResource): boolean {
    return st.rejected !== null && st.rejected.typeVersion === snap.version && st.rejected.versions.get(r.name) === r.version;
  }

  /** What to send and remove; null when there is no snapshot of the type or nothing to do. */
  private plan(st: DeltaTypeState, typeUrl: string): DeltaPlan | null {
    const snap = this.typeSnapshot(typeUrl);
    if (!snap || st.inSyncWith === snap) return null;
    const candidates = st.wildcard ? [...snap.resources.values()] : [...st.names].flatMap((n) => snap.resources.get(n) ?? []);
    const resources = candidates
      .filter((r) => st.held.get(r.name) !== r.version && !this.isRejected(st, snap, r))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const removalRejected = (n: string) => st.rejected?.typeVersion === snap.version && st.rejected.versions.get(n) === '';
    const removed = [...st.held.keys()].filter((n) => !snap.resources.has(n) && !removalRejected(n)).sort();
    if (resources.length === 0 && removed.length === 0) {
      st.inSyncWith = snap;
      return null;
    }
    return { resources, removed };
  }

  pump(): void {
    if (this.closed || !this.observer.snapshot()) return;
    let unsettled = false;
    const order = this.orderedTypes();
    for (const typeUrl of order) {
      const st = this.state.get(typeUrl)!;
      if (st.inFlight) {
        unsettled = true;
        continue;
      }
      const plan = this.plan(st, typeUrl);
      if (!plan || plan.resources.length === 0) continue;
      unsettled = true;
      this.respond(st, typeUrl, { resources: plan.resources, removed: [] });
    }
    if (unsettled) return;
    for (const typeUrl of order) {
      const st = this.state.get(typeUrl)!;
      const plan = this.plan(st, typeUrl);
      if (plan && plan.removed.length > 0) this.respond(st, typeUrl, { resources: [], removed: plan.removed });
    }
  }

  private orderedTypes(): string[] {
    const known = PUSH_ORDER.filter((t) => this.state.has(t));
    return [...known, ...[...this.state.keys()].filter((t) => !PUSH_ORDER.includes(t))];
  }

  private respond(st: DeltaTypeState, typeUrl: string, plan: DeltaPlan): void {
    const version = this.typeSnapshot(typeUrl)?.version ?? '';
    const previous = new Map<string, string | undefined>();
    for (const r of plan.resources) {
      previous.set(r.name, st.held.get(r.name));
      st.held.set(r.name, r.version);
    }
    for (const name of plan.removed) {
      previous.set(name, st.held.get(name));
      st.held.delete(name);
    }
    st.inSyncWith = null;
    const response = { system_version_info: version, resources: plan.resources, type_url: typeUrl, removed_resources: plan.removed };
    const nonce = this.send(this, response, () => this.nextNonce());
    st.inFlight = { nonce, version, previous };
    this.observer.onResponse({
      streamId: this.id,
      kind: this.kind,
      node: this.node,
      typeUrl,
      nonce,
      version,
      names: plan.resources.map((r) => r.name),
      removed: plan.removed,
    });
  }
}

export { typeLabel };
