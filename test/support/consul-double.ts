// An in-process double of Consul's HTTP API (one agent that is also the server
// of its datacenter), faithful where ngx2envoy depends on it (see
// ../shared/consul-api.md): one global Raft-like index raised by every write,
// Create/ModifyIndex per entity, X-Consul-Index (≥ 1) / KnownLeader / LastContact
// on reads, blocking queries (index + wait, default 5m, max 10m, jitter ≤ wait/16),
// a test hook that forces the index backwards (a snapshot restore), Consul's
// status codes and plain-text error bodies, Go-style case-insensitive decoding,
// ACLs when started with a token (writes refused, reads filtered), checks whose
// status a test can flip, and `passing` filtering that includes serfHealth.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isIP } from 'node:net';
import {
  AGENT_SERVICE,
  CATALOG_DEREGISTER,
  CATALOG_REGISTER,
  DecodeError,
  decodeStruct,
  parseGoDuration,
} from './consul-decode.js';

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface ConsulDoubleOptions {
  /** Enables ACLs (default policy deny) with this token as the management token. */
  aclToken?: string;
  nodeName?: string;
  datacenter?: string;
  /** Listen on this port (0 = any free port). */
  port?: number;
}

interface NodeEntry {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

interface ServiceEntry {
  node: string;
  Kind: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

interface CheckEntry {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

interface Waiter {
  path: string;
  minIndex: number;
  indexOf: () => number;
  answer: () => void;
  timer: NodeJS.Timeout;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';
const MANAGEMENT_ACCESSOR = 'f1a2b3c4-0000-4000-8000-00000000cafe';
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

type Caller = { accessor: string; management: boolean };
type Handler = (req: Request) => unknown | Promise<unknown>;
interface Request {
  method: string;
  params: string[];
  query: URLSearchParams;
  body: string;
  caller: Caller;
  res: ServerResponse;
  raw: IncomingMessage;
}
interface Route {
  pattern: RegExp;
  methods: string[];
  handler: Handler;
}

export class ConsulDouble {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  private waiters = new Set<Waiter>();
  private routes: Route[];
  private globalIndex = 1;
  private nodes = new Map<string, NodeEntry>();
  private services = new Map<string, ServiceEntry>(); // `${node}\u0000${id}`
  private checks = new Map<string, CheckEntry>(); // `${node}\u0000${checkId}`
  /** Index of the last change per service name (deletions included), and of the services table. */
  private serviceNameIndex = new Map<string, number>();
  private servicesTableIndex = 1;
  private nodesTableIndex = 1;
  /** Every write request that reached a handler, for tests ("register again changes nothing"). */
  readonly writes: { method: string; path: string }[] = [];
  /** Every read request (path), in arrival order. */
  readonly reads: string[] = [];
  private heldListeners: { path: string; resolve: () => void }[] = [];
  readonly nodeName: string;
  readonly datacenter: string;
  readonly aclToken: string | undefined;
  port = 0;

  private constructor(options: ConsulDoubleOptions) {
    this.nodeName = options.nodeName ?? 'consul-double';
    this.datacenter = options.datacenter ?? 'dc1';
    this.aclToken = options.aclToken;
    this.routes = this.buildRoutes();
    this.bootstrap();
  }

  static async start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const double = new ConsulDouble(options);
    await double.listen(options.port ?? 0);
    return double;
  }

  get addr(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get index(): number {
    return this.globalIndex;
  }

  /** Starts listening again (after stop()), on the same port unless told otherwise. */
  async listen(port = this.port): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Consul going away: held queries and open connections are cut. State is kept for listen(). */
  async stop(): Promise<void> {
    for (const waiter of this.waiters) clearTimeout(waiter.timer);
    this.waiters.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- test hooks

  /** Flips a check's status (a write: raises the index, wakes blocking queries). */
  setCheckStatus(checkId: string, status: CheckStatus, node = this.nodeName): void {
    const check = this.checks.get(key(node, checkId));
    if (!check) throw new Error(`consul double: no check ${checkId} on node ${node}`);
    const index = this.bump();
    check.Status = status;
    check.ModifyIndex = index;
    this.touchNode(node, index);
    this.wake();
  }

  /** The agent node's serfHealth check. */
  setNodeHealth(status: CheckStatus): void {
    this.setCheckStatus('serfHealth', status);
  }

  /** A snapshot restore: every index drops to `to` (≥ 1) and held queries return at once. */
  forceIndexBackwards(to: number): void {
    if (to >= this.globalIndex) throw new Error('consul double: forceIndexBackwards needs a lower index');
    const clamp = (n: number) => Math.min(n, to);
    this.globalIndex = to;
    this.servicesTableIndex = clamp(this.servicesTableIndex);
    this.nodesTableIndex = clamp(this.nodesTableIndex);
    for (const [name, idx] of this.serviceNameIndex) this.serviceNameIndex.set(name, clamp(idx));
    for (const e of [...this.nodes.values(), ...this.services.values(), ...this.checks.values()]) {
      e.CreateIndex = clamp(e.CreateIndex);
      e.ModifyIndex = clamp(e.ModifyIndex);
    }
    for (const waiter of [...this.waiters]) this.release(waiter);
  }

  /** Paths of the blocking queries held right now. */
  heldQueries(): string[] {
    return [...this.waiters].map((w) => w.path).sort();
  }

  /** Resolves once a blocking query on `path` is held (at once if one is). */
  waitForHeld(path: string): Promise<void> {
    if ([...this.waiters].some((w) => w.path === path)) return Promise.resolve();
    return new Promise((resolve) => this.heldListeners.push({ path, resolve }));
  }

  private notifyHeld(path: string): void {
    const ready = this.heldListeners.filter((l) => l.path === path);
    this.heldListeners = this.heldListeners.filter((l) => l.path !== path);
    for (const l of ready) l.resolve();
  }

  checkIds(): string[] {
    return [...this.checks.values()].map((c) => c.CheckID).sort();
  }

  // ---------------------------------------------------------------- state

  private bootstrap(): void {
    const index = this.bump();
    this.nodes.set(this.nodeName, {
      ID: 'b7e2a1c0-5d1e-4c1a-9f00-000000000001',
      Node: this.nodeName,
      Address: '127.0.0.1',
      Datacenter: this.datacenter,
      TaggedAddresses: { lan: '127.0.0.1', wan: '127.0.0.1' },
      Meta: { 'consul-network-segment': '' },
      CreateIndex: index,
      ModifyIndex: index,
    });
    this.putService(this.nodeName, {
      Kind: '',
      ID: 'consul',
      Service: 'consul',
      Tags: [],
      Address: '',
      Port: 8300,
      Meta: {},
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
    }, index);
    this.putCheck(this.nodeName, {
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: 'passing',
      Notes: '',
      Output: 'Agent alive and reachable',
      ServiceID: '',
      ServiceName: '',
      ServiceTags: [],
      Type: '',
      Interval: '',
      Timeout: '',
      Definition: {},
    }, index);
  }

  private bump(): number {
    this.globalIndex += 1;
    return this.globalIndex;
  }

  private touchService(name: string, index: number): void {
    this.serviceNameIndex.set(name, index);
    this.servicesTableIndex = index;
  }

  /** A node-level change (node checks) affects every service on the node. */
  private touchNode(node: string, index: number): void {
    for (const s of this.services.values()) if (s.node === node) this.serviceNameIndex.set(s.Service, index);
    const check = [...this.checks.values()].find((c) => c.Node === node && c.ServiceID === '');
    if (check) this.nodesTableIndex = index;
  }

  private putService(node: string, fields: Omit<ServiceEntry, 'node' | 'CreateIndex' | 'ModifyIndex'>, index: number): void {
    const k = key(node, fields.ID);
    const existing = this.services.get(k);
    if (existing && existing.Service !== fields.Service) this.touchService(existing.Service, index);
    this.services.set(k, { node, ...fields, CreateIndex: existing?.CreateIndex ?? index, ModifyIndex: index });
    this.touchService(fields.Service, index);
  }

  private putCheck(node: string, fields: Omit<CheckEntry, 'Node' | 'CreateIndex' | 'ModifyIndex'>, index: number): void {
    const k = key(node, fields.CheckID);
    const existing = this.checks.get(k);
    this.checks.set(k, { Node: node, ...fields, CreateIndex: existing?.CreateIndex ?? index, ModifyIndex: index });
    if (fields.ServiceName) this.serviceNameIndex.set(fields.ServiceName, index);
    else this.touchNode(node, index);
  }

  private deleteService(node: string, id: string, index: number): boolean {
    const k = key(node, id);
    const existing = this.services.get(k);
    if (!existing) return false;
    this.services.delete(k);
    for (const [ck, check] of this.checks) if (check.Node === node && check.ServiceID === id) this.checks.delete(ck);
    this.touchService(existing.Service, index);
    return true;
  }

  private deleteNode(node: string, index: number): void {
    for (const s of [...this.services.values()]) if (s.node === node) this.deleteService(node, s.ID, index);
    for (const [ck, check] of this.checks) if (check.Node === node) this.checks.delete(ck);
    if (this.nodes.delete(node)) this.nodesTableIndex = index;
  }

  // ---------------------------------------------------------------- http

  private async handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(raw.url ?? '/', 'http://consul');
      const route = this.routes.find((r) => r.pattern.test(url.pathname));
      if (!route) throw new HttpError(404, 'Invalid URL path: not a recognized HTTP API endpoint');
      if (!route.methods.includes(raw.method ?? '')) {
        throw new HttpError(405, `method ${raw.method} not allowed`, { Allow: route.methods.join(',') });
      }
      const params = (route.pattern.exec(url.pathname) ?? []).slice(1).map((p) => decodeURIComponent(p));
      const body = await readBody(raw);
      const request: Request = {
        method: raw.method!,
        params,
        query: url.searchParams,
        body,
        caller: this.resolveToken(raw, url.searchParams),
        res,
        raw,
      };
      if (request.method === 'PUT') this.writes.push({ method: request.method, path: url.pathname });
      else this.reads.push(url.pathname);
      const result = await route.handler(request);
      if (res.headersSent || res.writableEnded) return;
      if (result === undefined) {
        res.writeHead(200).end();
      } else {
        sendJson(res, 200, result);
      }
    } catch (err) {
      if (res.headersSent) return void res.end();
      if (err instanceof HttpError) {
        res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=utf-8', ...err.headers }).end(err.message);
      } else {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(String(err));
      }
    }
  }

  private buildRoutes(): Route[] {
    const r = (pattern: RegExp, methods: string[], handler: Handler): Route => ({ pattern, methods, handler });
    return [
      r(/^\/v1\/agent\/service\/register$/, ['PUT'], (q) => this.agentRegister(q)),
      r(/^\/v1\/agent\/service\/deregister\/(.+)$/, ['PUT'], (q) => this.agentDeregister(q)),
      r(/^\/v1\/agent\/services$/, ['GET'], (q) => this.agentServices(q)),
      r(/^\/v1\/agent\/checks$/, ['GET'], (q) => this.agentChecks(q)),
      r(/^\/v1\/catalog\/register$/, ['PUT'], (q) => this.catalogRegister(q)),
      r(/^\/v1\/catalog\/deregister$/, ['PUT'], (q) => this.catalogDeregister(q)),
      r(/^\/v1\/catalog\/services$/, ['GET'], (q) => this.blocking(q, () => this.servicesTableIndex, () => this.catalogServices(q))),
      r(/^\/v1\/catalog\/service\/(.+)$/, ['GET'], (q) =>
        this.blocking(q, () => this.indexOfService(q.params[0]!), () => this.catalogService(q)),
      ),
      r(/^\/v1\/catalog\/node\/(.+)$/, ['GET'], (q) =>
        this.blocking(q, () => Math.max(this.nodesTableIndex, this.servicesTableIndex), () => this.catalogNode(q)),
      ),
      r(/^\/v1\/catalog\/nodes$/, ['GET'], (q) => this.blocking(q, () => this.nodesTableIndex, () => this.catalogNodes(q))),
      r(/^\/v1\/health\/service\/(.+)$/, ['GET'], (q) =>
        this.blocking(q, () => this.indexOfService(q.params[0]!), () => this.healthService(q)),
      ),
      r(/^\/v1\/status\/leader$/, ['GET'], () => '127.0.0.1:8300'),
    ];
  }

  private indexOfService(name: string): number {
    return this.serviceNameIndex.get(name) ?? this.servicesTableIndex;
  }

  // ---------------------------------------------------------------- acl

  private resolveToken(raw: IncomingMessage, query: URLSearchParams): Caller {
    const bearer = /^Bearer\s+(.+)$/i.exec(String(raw.headers['authorization'] ?? ''))?.[1];
    const token = String(raw.headers['x-consul-token'] ?? '') || query.get('token') || bearer || '';
    if (!this.aclToken) return { accessor: MANAGEMENT_ACCESSOR, management: true };
    if (token === '') return { accessor: ANONYMOUS_ACCESSOR, management: false };
    if (token === this.aclToken) return { accessor: MANAGEMENT_ACCESSOR, management: true };
    throw new HttpError(403, 'ACL not found');
  }

  private requireWrite(caller: Caller, resource: 'service' | 'node', name: string): void {
    if (caller.management) return;
    throw new HttpError(
      403,
      `Permission denied: token with AccessorID '${caller.accessor}' lacks permission '${resource}:write' on "${name}"`,
    );
  }

  /** Reads without permission are filtered (the anonymous token reads nothing under default deny). */
  private canRead(caller: Caller): boolean {
    return caller.management;
  }

  private markFiltered(q: Request, filtered: boolean): void {
    if (filtered) q.res.setHeader('X-Consul-Results-Filtered-By-ACLs', 'true');
  }

  // ---------------------------------------------------------------- blocking reads

  private blocking(q: Request, indexOf: () => number, read: () => unknown): Promise<unknown> | unknown {
    const minIndex = parseIndex(q.query.get('index'));
    const waitMs = parseWait(q.query.get('wait'));
    const answer = () => {
      const body = read();
      q.res.setHeader('X-Consul-Index', String(Math.max(1, indexOf())));
      q.res.setHeader('X-Consul-KnownLeader', 'true');
      q.res.setHeader('X-Consul-LastContact', '0');
      return body;
    };
    if (minIndex === 0 || indexOf() > minIndex) return answer();
    return new Promise((resolve) => {
      const jitter = Math.random() * (waitMs / 16);
      const waiter: Waiter = {
        path: new URL(q.raw.url ?? '/', 'http://consul').pathname,
        minIndex,
        indexOf,
        answer: () => resolve(answer()),
        timer: setTimeout(() => this.release(waiter), waitMs + jitter),
      };
      this.waiters.add(waiter);
      this.notifyHeld(waiter.path);
      q.res.once('close', () => {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
      });
    });
  }

  private release(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    if (this.waiters.delete(waiter)) waiter.answer();
  }

  /** After a write: every held query whose data moved past its index returns. */
  private wake(): void {
    for (const waiter of [...this.waiters]) if (waiter.indexOf() > waiter.minIndex) this.release(waiter);
  }

  // ---------------------------------------------------------------- agent endpoints

  private agentRegister(q: Request): void {
    const args = decodeBody(q.body, AGENT_SERVICE, 'ServiceDefinition');
    const name = (args.Name as string | undefined) ?? '';
    if (name === '') throw new HttpError(400, 'Missing service name');
    const address = (args.Address as string | undefined) ?? '';
    if (isUnspecifiedIp(address)) throw new HttpError(400, 'Invalid service address');
    const weights = args.Weights as { Passing?: number; Warning?: number } | undefined;
    if (weights && !(weights.Passing! > 0)) throw new HttpError(400, 'Invalid Weights: Passing must be greater than 0');
    validateMeta(args.Meta as Record<string, string> | undefined);
    const id = (args.ID as string | undefined) || name;
    const checkDefs = [
      ...(args.Check ? [args.Check as Record<string, unknown>] : []),
      ...((args.Checks as Record<string, unknown>[] | undefined) ?? []),
    ];
    checkDefs.forEach(validateCheck);
    this.requireWrite(q.caller, 'service', name);
    const existing = this.services.get(key(this.nodeName, id));
    if (existing && existing.Service !== name) this.requireWrite(q.caller, 'service', existing.Service);

    const index = this.bump();
    const tags = (args.Tags as string[] | undefined) ?? [];
    this.putService(this.nodeName, {
      Kind: (args.Kind as string | undefined) ?? '',
      ID: id,
      Service: name,
      Tags: tags,
      Address: address,
      Port: (args.Port as number | undefined) ?? 0,
      Meta: (args.Meta as Record<string, string> | undefined) ?? {},
      Weights: weights ? { Passing: weights.Passing!, Warning: weights.Warning ?? 0 } : { Passing: 1, Warning: 1 },
      EnableTagOverride: (args.EnableTagOverride as boolean | undefined) ?? false,
    }, index);
    const checkIds = checkDefs.map((def, i) => {
      const checkId =
        (def.CheckID as string | undefined) ||
        (def.ID as string | undefined) ||
        (checkDefs.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`);
      const previous = this.checks.get(key(this.nodeName, checkId));
      this.putCheck(this.nodeName, {
        CheckID: checkId,
        Name: (def.Name as string | undefined) || `Service '${name}' check`,
        // A new check starts critical unless the definition gives a status; a re-registered one keeps its status.
        Status: ((def.Status as CheckStatus | undefined) ?? previous?.Status ?? 'critical'),
        Notes: (def.Notes as string | undefined) ?? '',
        Output: '',
        ServiceID: id,
        ServiceName: name,
        ServiceTags: tags,
        Type: checkType(def),
        Interval: (def.Interval as string | undefined) ?? '',
        Timeout: (def.Timeout as string | undefined) ?? '',
        Definition: def,
      }, index);
      return checkId;
    });
    if (parseBool(q.query.get('replace-existing-checks'))) {
      for (const [ck, check] of this.checks) {
        if (check.Node === this.nodeName && check.ServiceID === id && !checkIds.includes(check.CheckID)) this.checks.delete(ck);
      }
    }
    this.wake();
  }

  private agentDeregister(q: Request): void {
    const id = q.params[0]!;
    const existing = this.services.get(key(this.nodeName, id));
    if (!existing) {
      throw new HttpError(404, `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
    }
    this.requireWrite(q.caller, 'service', existing.Service);
    this.deleteService(this.nodeName, id, this.bump());
    this.wake();
  }

  private agentServices(q: Request): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const readable = this.canRead(q.caller);
    const mine = [...this.services.values()].filter((s) => s.node === this.nodeName && s.ID !== 'consul');
    this.markFiltered(q, !readable && mine.length > 0);
    if (!readable) return out;
    for (const s of sortBy(mine, (s) => s.ID)) {
      out[s.ID] = {
        Kind: s.Kind || undefined,
        ID: s.ID,
        Service: s.Service,
        Tags: s.Tags,
        Meta: s.Meta,
        Port: s.Port,
        Address: s.Address,
        Weights: s.Weights,
        EnableTagOverride: s.EnableTagOverride,
        Datacenter: this.datacenter,
      };
    }
    return out;
  }

  private agentChecks(q: Request): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (!this.canRead(q.caller)) return out;
    const mine = [...this.checks.values()].filter((c) => c.Node === this.nodeName && c.ServiceID !== '');
    for (const c of sortBy(mine, (c) => c.CheckID)) out[c.CheckID] = checkView(c);
    return out;
  }

  // ---------------------------------------------------------------- catalog endpoints

  private catalogRegister(q: Request): boolean {
    const args = decodeBody(q.body, CATALOG_REGISTER, 'RegisterRequest');
    const node = (args.Node as string | undefined) ?? '';
    if (node === '') throw new HttpError(400, 'Must provide node');
    const skipNodeUpdate = args.SkipNodeUpdate === true;
    const address = (args.Address as string | undefined) ?? '';
    if (address === '' && !skipNodeUpdate) throw new HttpError(400, 'Must provide address if SkipNodeUpdate is not set');
    const service = args.Service as Record<string, unknown> | undefined;
    if (service) {
      const name = (service.Service as string | undefined) ?? '';
      if (name === '') throw new HttpError(400, `Must provide service name (Service.Service) with ID "${service.ID ?? ''}"`);
      const weights = service.Weights as { Passing?: number } | undefined;
      if (weights && !(weights.Passing! > 0)) throw new HttpError(400, 'Invalid Weights: Passing must be greater than 0');
      validateMeta(service.Meta as Record<string, string> | undefined);
      this.requireWrite(q.caller, 'service', name);
    }
    this.requireWrite(q.caller, 'node', node);
    if (!skipNodeUpdate || !this.nodes.has(node)) {
      if (!this.nodes.has(node) && address === '') throw new HttpError(400, 'Must provide address');
    }

    const index = this.bump();
    const prevNode = this.nodes.get(node);
    if (!skipNodeUpdate) {
      this.nodes.set(node, {
        ID: (args.ID as string | undefined) ?? prevNode?.ID ?? '',
        Node: node,
        Address: address,
        Datacenter: this.datacenter,
        TaggedAddresses: (args.TaggedAddresses as Record<string, string> | undefined) ?? {},
        Meta: (args.NodeMeta as Record<string, string> | undefined) ?? {},
        CreateIndex: prevNode?.CreateIndex ?? index,
        ModifyIndex: index,
      });
      this.nodesTableIndex = index;
    }
    let serviceId = '';
    let serviceName = '';
    let serviceTags: string[] = [];
    if (service) {
      serviceName = service.Service as string;
      serviceId = (service.ID as string | undefined) || serviceName;
      serviceTags = (service.Tags as string[] | undefined) ?? [];
      const weights = service.Weights as { Passing: number; Warning?: number } | undefined;
      this.putService(node, {
        Kind: (service.Kind as string | undefined) ?? '',
        ID: serviceId,
        Service: serviceName,
        Tags: serviceTags,
        Address: (service.Address as string | undefined) ?? '',
        Port: (service.Port as number | undefined) ?? 0,
        Meta: (service.Meta as Record<string, string> | undefined) ?? {},
        Weights: weights ? { Passing: weights.Passing, Warning: weights.Warning ?? 0 } : { Passing: 1, Warning: 1 },
        EnableTagOverride: (service.EnableTagOverride as boolean | undefined) ?? false,
      }, index);
    }
    const checks = [
      ...(args.Check ? [args.Check as Record<string, unknown>] : []),
      ...((args.Checks as Record<string, unknown>[] | undefined) ?? []),
    ];
    for (const check of checks) {
      const checkServiceId = (check.ServiceID as string | undefined) ?? '';
      const owner = checkServiceId ? this.services.get(key(node, checkServiceId)) : undefined;
      if (checkServiceId && !owner) throw new HttpError(500, `Failed service lookup: ServiceID "${checkServiceId}"`);
      const status = (check.Status as string | undefined) || 'critical';
      if (!['passing', 'warning', 'critical'].includes(status)) throw new HttpError(400, `Invalid check status: "${status}"`);
      const definition = (check.Definition as Record<string, unknown> | undefined) ?? {};
      this.putCheck(node, {
        CheckID: (check.CheckID as string | undefined) || (check.Name as string | undefined) || '',
        Name: (check.Name as string | undefined) ?? '',
        Status: status as CheckStatus,
        Notes: (check.Notes as string | undefined) ?? '',
        Output: (check.Output as string | undefined) ?? '',
        ServiceID: checkServiceId,
        ServiceName: owner?.Service ?? '',
        ServiceTags: owner?.Tags ?? [],
        Type: definition.HTTP ? 'http' : definition.TCP ? 'tcp' : '',
        Interval: (definition.IntervalDuration as string | undefined) ?? '',
        Timeout: (definition.TimeoutDuration as string | undefined) ?? '',
        Definition: definition,
      }, index);
    }
    this.wake();
    return true;
  }

  private catalogDeregister(q: Request): boolean {
    const args = decodeBody(q.body, CATALOG_DEREGISTER, 'DeregisterRequest');
    const node = (args.Node as string | undefined) ?? '';
    if (node === '') throw new HttpError(400, 'Must provide node');
    const serviceId = (args.ServiceID as string | undefined) ?? '';
    const checkId = (args.CheckID as string | undefined) ?? '';
    const service = serviceId ? this.services.get(key(node, serviceId)) : undefined;
    if (service) this.requireWrite(q.caller, 'service', service.Service);
    this.requireWrite(q.caller, 'node', node);
    const index = this.bump();
    if (serviceId) this.deleteService(node, serviceId, index);
    else if (checkId) {
      const check = this.checks.get(key(node, checkId));
      this.checks.delete(key(node, checkId));
      if (check?.ServiceName) this.serviceNameIndex.set(check.ServiceName, index);
      else this.touchNode(node, index);
    } else this.deleteNode(node, index);
    this.wake();
    return true;
  }

  private catalogServices(q: Request): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const readable = this.canRead(q.caller);
    this.markFiltered(q, !readable);
    if (!readable) return out;
    for (const s of sortBy([...this.services.values()], (s) => s.Service)) {
      const tags = new Set([...(out[s.Service] ?? []), ...s.Tags]);
      out[s.Service] = [...tags].sort();
    }
    return out;
  }

  private catalogNodes(q: Request): unknown[] {
    if (!this.canRead(q.caller)) return [];
    return sortBy([...this.nodes.values()], (n) => n.Node).map((n) => ({ ...n }));
  }

  private catalogNode(q: Request): unknown {
    const node = this.nodes.get(q.params[0]!);
    if (!node || !this.canRead(q.caller)) return null;
    const services: Record<string, unknown> = {};
    for (const s of sortBy([...this.services.values()].filter((s) => s.node === node.Node), (s) => s.ID)) {
      services[s.ID] = {
        ID: s.ID,
        Service: s.Service,
        Tags: s.Tags,
        Address: s.Address,
        Meta: s.Meta,
        Port: s.Port,
        Weights: s.Weights,
        CreateIndex: s.CreateIndex,
        ModifyIndex: s.ModifyIndex,
      };
    }
    return { Node: { ...node }, Services: services };
  }

  private instancesOf(name: string, tag: string | null): ServiceEntry[] {
    const all = [...this.services.values()].filter((s) => s.Service === name && (tag === null || s.Tags.includes(tag)));
    return all.sort((a, b) => (a.node === b.node ? cmp(a.ID, b.ID) : cmp(a.node, b.node)));
  }

  private catalogService(q: Request): unknown[] {
    const instances = this.instancesOf(q.params[0]!, q.query.get('tag'));
    const readable = this.canRead(q.caller);
    this.markFiltered(q, !readable && instances.length > 0);
    if (!readable) return [];
    return instances.map((s) => {
      const node = this.nodes.get(s.node)!;
      return {
        ID: node.ID,
        Node: node.Node,
        Address: node.Address,
        Datacenter: node.Datacenter,
        TaggedAddresses: node.TaggedAddresses,
        NodeMeta: node.Meta,
        ServiceKind: s.Kind,
        ServiceID: s.ID,
        ServiceName: s.Service,
        ServiceTags: s.Tags,
        ServiceAddress: s.Address,
        ServiceWeights: s.Weights,
        ServiceMeta: s.Meta,
        ServicePort: s.Port,
        ServiceEnableTagOverride: s.EnableTagOverride,
        CreateIndex: s.CreateIndex,
        ModifyIndex: s.ModifyIndex,
      };
    });
  }

  private healthService(q: Request): unknown[] {
    const passingOnly = q.query.has('passing') && parseBool(q.query.get('passing'), true);
    const instances = this.instancesOf(q.params[0]!, q.query.get('tag'));
    const readable = this.canRead(q.caller);
    this.markFiltered(q, !readable && instances.length > 0);
    if (!readable) return [];
    const entries = instances.map((s) => {
      const checks = sortBy(
        [...this.checks.values()].filter((c) => c.Node === s.node && (c.ServiceID === '' || c.ServiceID === s.ID)),
        (c) => c.CheckID,
      );
      const node = this.nodes.get(s.node)!;
      return {
        Node: { ...node, Meta: node.Meta },
        Service: {
          ID: s.ID,
          Service: s.Service,
          Tags: s.Tags,
          Address: s.Address,
          Meta: s.Meta,
          Port: s.Port,
          Weights: s.Weights,
          EnableTagOverride: s.EnableTagOverride,
          CreateIndex: s.CreateIndex,
          ModifyIndex: s.ModifyIndex,
        },
        Checks: checks.map(checkView),
      };
    });
    // `passing` drops an instance when any of its checks, node checks included, is not passing.
    return passingOnly ? entries.filter((e) => e.Checks.every((c) => c.Status === 'passing')) : entries;
  }
}

// ---------------------------------------------------------------- helpers

function key(node: string, id: string): string {
  return `${node}\u0000${id}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortBy<T>(items: T[], by: (t: T) => string): T[] {
  return [...items].sort((a, b) => cmp(by(a), by(b)));
}

function checkView(c: CheckEntry): {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  [k: string]: unknown;
} {
  return {
    Node: c.Node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags,
    Type: c.Type,
    Interval: c.Interval,
    Timeout: c.Timeout,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

function checkType(def: Record<string, unknown>): string {
  for (const [field, type] of [['HTTP', 'http'], ['TCP', 'tcp'], ['UDP', 'udp'], ['GRPC', 'grpc'], ['TTL', 'ttl']] as const) {
    if (def[field]) return type;
  }
  return '';
}

function validateCheck(def: Record<string, unknown>): void {
  const status = def.Status as string | undefined;
  if (status !== undefined && status !== '' && !['passing', 'warning', 'critical'].includes(status)) {
    throw new HttpError(400, `Invalid check: Status must be one of passing, warning, or critical`);
  }
  const type = checkType(def);
  if (type === '') {
    throw new HttpError(400, 'Invalid check: TTL must be > 0 for TTL checks');
  }
  if (type !== 'ttl') {
    const interval = parseGoDuration(String(def.Interval ?? ''));
    if (interval === null || interval <= 0) {
      throw new HttpError(400, 'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks');
    }
  }
  for (const field of ['Timeout', 'DeregisterCriticalServiceAfter'] as const) {
    if (def[field] !== undefined && parseGoDuration(String(def[field])) === null) {
      throw new HttpError(400, `Request decode failed: time: invalid duration "${String(def[field])}"`);
    }
  }
}

function validateMeta(meta: Record<string, string> | undefined): void {
  if (!meta) return;
  const entries = Object.entries(meta);
  if (entries.length > 64) throw new HttpError(400, 'Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs');
  for (const [k, v] of entries) {
    if (k === '') throw new HttpError(400, 'Invalid Service Meta: Key cannot be blank');
    if (!/^[a-zA-Z0-9_-]+$/.test(k)) throw new HttpError(400, `Invalid Service Meta: Key contains invalid characters`);
    if (k.length > 128) throw new HttpError(400, `Invalid Service Meta: Key is too long (limit: 128 characters)`);
    if (k.startsWith('consul-')) throw new HttpError(400, `Invalid Service Meta: Key prefix 'consul-' is reserved for internal use`);
    if (v.length > 512) throw new HttpError(400, `Invalid Service Meta: Value is too long (limit: 512 characters)`);
  }
}

function isUnspecifiedIp(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare === '0.0.0.0';
  if (isIP(bare) === 6) return /^[0:]+$/.test(bare);
  return false;
}

function decodeBody(body: string, schema: Parameters<typeof decodeStruct>[1], name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = body.trim() === '' ? {} : JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
  try {
    return decodeStruct(value, schema, name);
  } catch (err) {
    if (err instanceof DecodeError) throw new HttpError(400, `Request decode failed: ${err.message}`);
    throw err;
  }
}

function parseIndex(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, 'Invalid index');
  return Number(raw);
}

function parseWait(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_WAIT_MS;
  const ms = parseGoDuration(raw);
  if (ms === null) throw new HttpError(400, 'Invalid wait time');
  return Math.min(ms === 0 ? DEFAULT_WAIT_MS : ms, MAX_WAIT_MS);
}

function parseBool(raw: string | null, emptyIs = false): boolean {
  if (raw === null) return false;
  if (raw === '') return emptyIs;
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
