// The routing model: what nginx would do, proxy-neutral and plain data (JSON-safe,
// no classes, no functions, no Maps). Emitters read only this. Every node keeps
// the source position of the directive it came from so outputs and the report
// can point back at nginx.conf.

export interface Src {
  file: string;
  line: number;
  col: number;
}

/** A string that may contain nginx variables: literal text and `$name` parts. */
export type TemplatePart = { text: string } | { var: string };
export interface Template {
  raw: string; // as written in nginx.conf (escapes resolved)
  parts: TemplatePart[];
}

export type ReportClass = 'translated' | 'approximated' | 'ignored' | 'unsupported';

/** One line of the migration report: every directive of the input has exactly one. */
export interface ReportEntry {
  file: string;
  line: number;
  col: number;
  directive: string;
  class: ReportClass;
  reason: string;
}

export interface CompiledConfig {
  listeners: Listener[]; // sorted by (address, port)
  servers: VirtualServer[]; // nginx `server` blocks of the http context, in file order
  backends: Backend[]; // sorted by name; upstream blocks and inline proxy_pass targets
  report: ReportEntry[]; // file order (main file, includes where they are included)
  /** Notes that are not tied to one directive (e.g. an unreachable location). */
  notes: ReportEntry[];
  /** The `stream {}` context (TCP/UDP proxying); absent when the input has none. */
  stream?: StreamConfig;
}

// ---------------------------------------------------------------- listeners

export interface Listener {
  /** Stable name: `listener_<address>_<port>` with address sanitised. */
  name: string;
  address: string; // '0.0.0.0', '::', or a concrete IP
  port: number;
  ssl: boolean;
  http2: boolean;
  proxyProtocol: boolean;
  /** Ids of the servers reachable on this address:port, in file order. */
  serverIds: string[];
  /** The server nginx picks when no name matches: `default_server`, else the first. */
  defaultServerId: string;
  /** Every `listen` directive that contributed. */
  sources: Src[];
  /**
   * Names claimed by an earlier server on this address:port: nginx keeps the first
   * server for a duplicate name, so the later server never gets it here.
   */
  shadowedNames?: { serverId: string; kind: ServerNameKind; value: string; source: Src }[];
}

// ---------------------------------------------------------------- servers

export type ServerNameKind =
  | 'exact' // example.com
  | 'wildcard-prefix' // *.example.com (and the wildcard half of .example.com)
  | 'wildcard-suffix' // www.example.*
  | 'regex' // ~^(www\.)?example\.com$
  | 'empty'; // "" : requests without a Host

export interface ServerName {
  kind: ServerNameKind;
  /** Lowercased for exact/wildcards; the regex source (without `~`) for regex. */
  value: string;
  /**
   * Set on both halves of a `.x` name (exact `x` and `*.x`): nginx keeps it as one
   * wildcard entry, which conflicts with (and is dropped as a whole by) an earlier
   * `x`, `*.x` or `.x` on the same address:port.
   */
  dot?: boolean;
  source: Src;
}

export interface VirtualServer {
  /** Stable id: `server_<n>` by file order, n from 0. */
  id: string;
  names: ServerName[];
  /** Keys of the listeners (Listener.name) this server is on. */
  listenerNames: string[];
  /** Server-level rewrite phase (rewrite/return/if at server level), in order. */
  rewrites: RewriteStep[];
  /** Top-level locations in file order (nesting below). */
  locations: Location[];
  /** What a request matching no location gets (nginx: the static handler → 404 usually). */
  fallback: Action;
  /** allow/deny in effect at server level, checked before the static fallback (absent: none, or a server-level `return`). */
  fallbackAccess?: Policy['access'];
  /** auth_basic / auth_request… in effect at server level, checked before the static fallback (absent: none). */
  fallbackAuth?: AuthGate;
  tls?: ServerTls;
  /** TLS, compression, logs, client IPs, client limits, error pages (issue 7); absent in older IR. */
  edge?: ServerEdge;
  source: Src;
}

export interface ServerTls {
  certificates: { cert: string; key: string; source: Src }[];
  protocols?: string[];
  ciphers?: string;
  clientCa?: string;
  verifyClient?: 'on' | 'optional' | 'optional_no_ca' | 'off';
  verifyDepth?: number;
  /** ssl_trusted_certificate: CAs for verifying client chains, not sent to clients. */
  trustedCa?: string;
  /** ssl_crl: revoked client certificates. */
  crl?: string;
  /** ssl_reject_handshake on: no certificate, the handshake is refused. */
  rejectHandshake?: boolean;
  preferServerCiphers?: boolean;
  sessionTimeoutMs?: number;
  sessionTickets?: boolean;
  /** ssl_session_cache off. */
  sessionCacheOff?: boolean;
  /** ssl_ecdh_curve list (not `auto`). */
  ecdhCurves?: string[];
}

// ---------------------------------------------------------------- edge settings (issue 7)

/** gzip (ngx_http_gzip_module) and brotli settings in effect at one level. */
export interface Compression {
  gzip: boolean;
  brotli: boolean;
  /** MIME types compressed (`text/html` is always included by nginx); ['*'] = any. */
  types: string[];
  minLength: number; // bytes; nginx default 20
  gzipLevel: number; // 1..9; nginx default 1
  brotliLevel: number; // 0..11; default 6
  vary: boolean;
  /** gzip_proxied values; nginx default `off` (never for requests with a Via header). */
  proxied: string[];
  source: Src;
}

/** A log_format (or the built-in `combined`). */
export interface LogFormat {
  name: string;
  escape: 'default' | 'json' | 'none';
  template: Template;
  source: Src | null;
}

export interface AccessLog {
  path: string;
  format: LogFormat;
  source: Src;
}

/** realip module settings. */
export interface RealIp {
  from: string[]; // CIDRs, `unix:`
  header: string; // X-Real-IP, X-Forwarded-For, proxy_protocol, or another header
  recursive: boolean;
  source: Src;
}

/** Client-side connection settings (the HTTP connection manager's domain). */
export interface ClientLimits {
  keepaliveTimeoutMs: number; // nginx default 75s; 0 = keepalive off
  keepaliveRequests: number; // nginx default 1000 (100 before 1.19.10)
  clientHeaderTimeoutMs: number; // default 60s
  clientBodyTimeoutMs: number; // default 60s
  sendTimeoutMs: number; // default 60s
  largeHeaderBuffers: { number: number; size: number }; // default 4 8k
  /** http2_max_concurrent_streams (nginx default 128). */
  http2MaxConcurrentStreams?: number;
  sources: Src[];
}

export interface ErrorPage {
  codes: number[];
  /** `=code` (or `=` alone: the response of the target decides). */
  override: number | 'target' | null;
  target: Template; // a URI, a named location `@x`, or an absolute URL (redirect)
  /** For a URI target that nginx serves as a static file (root + URI), the file. */
  file?: string;
  source: Src;
}

export interface Tracing {
  kind: 'opentelemetry' | 'zipkin' | 'opentracing' | 'datadog';
  endpoint: string | null;
  serviceName: string | null;
  sampleRate: number | null; // 0..1
  source: Src;
}

/** Per-server edge settings: what applies on the server's connections and outside locations. */
export interface ServerEdge {
  compression: Compression | null;
  accessLogs: AccessLog[]; // empty: access_log off
  /** No access_log at any level: nginx logs to its compiled-in default log. */
  accessLogDefault?: boolean;
  realIp: RealIp | null;
  limits: ClientLimits;
  errorPages: ErrorPage[];
  tracing: Tracing | null;
  /** Some header or log uses $request_id. */
  usesRequestId: boolean;
  /** Request headers named with `_`: nginx drops them (underscores_in_headers off, the default) or passes them. Absent in older IR. */
  underscoreHeaders?: 'drop' | 'allow';
  /** headers-more commands in effect at server level (http's, then the server's): what nginx runs for responses no location makes. Absent: none. */
  moreHeaders?: MoreHeaders;
  /** server_tokens at server level: the version in nginx's own error pages. Absent: `on`. */
  serverTokens?: 'off' | 'build';
}

// ---------------------------------------------------------------- locations

export type LocationModifier = 'prefix' | 'exact' | 'prefix-stop' | 'regex' | 'regex-icase' | 'named';

export interface Location {
  /** Stable id: `<serverId>/loc_<i>` (nested: `.../loc_<i>/loc_<j>`). */
  id: string;
  /** Id of the enclosing location, or null at server level. */
  parentId?: string | null;
  /**
   * nginx's auto_redirect: the name ends with `/` and a *_pass handler (proxy_pass,
   * fastcgi_pass, …) is configured, so a request for the name without its slash
   * gets a 301 to the name (unless another location is named exactly that).
   */
  autoRedirect?: boolean;
  modifier: LocationModifier;
  /** The URI prefix, exact URI, regex source, or name (without `@`). */
  pattern: string;
  children: Location[];
  /** Rewrite-phase steps of this location (rewrite, return, set, if), in order. */
  rewrites: RewriteStep[];
  /** The content phase: what serves the request once the location is chosen. */
  action: Action;
  /** Effective settings after nginx inheritance (http → server → location → nested). */
  policy: Policy;
  /** limit_except of this location (not inherited by nested locations). Absent: none. */
  limitExcept?: LimitExcept;
  /**
   * `internal` (inherited by nested locations, checked with nginx 1.22): nginx answers 404 to
   * an external request for it, its slash redirect included, before any other check; only
   * internal redirects (rewrite … last, try_files, error_page, X-Accel-Redirect) reach it.
   */
  internal?: true;
  /**
   * proxy_pass/grpc_pass to a `map` variable: what each value of the map makes of it.
   * `action` is then the action of the map's default value. Absent: none.
   */
  dispatch?: MapDispatch;
  source: Src;
}

/** A proxy_pass choosing its target by an http `map` (`proxy_pass http://$tenant_upstream;`). */
export interface MapDispatch {
  map: HttpMap;
  /** Every value the map can give (its default's included), each once, with what the pass makes of it. */
  actions: { value: string; action: ProxyAction | StaticAction }[];
}

/**
 * An http `map` (ngx_http_map_module) on a request value Envoy's route matchers can
 * test. nginx looks a value up as: exact key (compared lowercased) → longest `*.x`
 * wildcard → longest `x.*` wildcard (with `hostnames`, one trailing dot of the value
 * ignored) → the regexes in order, never for an empty value → the default.
 */
export interface HttpMap {
  /** The variable it defines, without `$`. */
  variable: string;
  input: MapInput;
  hostnames: boolean;
  /** Keys as written (a `.x` key gives an exact `x` and a `*.x`). */
  keys: MapKey[];
  /** The `default` value; '' when the map has none. */
  default: string;
  source: Src;
}

/**
 * The value a map reads: a request header ($http_NAME; `name` lowercased with `-`),
 * $host (lowercased, port and trailing dot stripped), $http_host (the Host header as
 * sent), $request_method.
 */
export type MapInput = { kind: 'header'; name: string } | { kind: 'host' } | { kind: 'http_host' } | { kind: 'method' };

export interface MapKey {
  kind: 'exact' | 'wildcard-prefix' | 'wildcard-suffix' | 'regex';
  /** Lowercased for exact and wildcard keys (`*.x`, `x.*`); the PCRE source for a regex. */
  key: string;
  /** A `~*` regex. */
  caseless: boolean;
  value: string;
  source: Src;
}

/**
 * limit_except (ngx_http_core_module): for a method not listed nginx switches to the
 * block's configuration (ngx_http_update_location_config), merged from the location's.
 * The location's rewrite-phase steps (return, rewrite, if) are not inherited by it, so
 * they do not run for those methods; its access rules are the block's own, else the
 * location's; its content handler is the location's (checked with nginx 1.22).
 */
export interface LimitExcept {
  /** The methods the block does not apply to, uppercase (HEAD added with GET), sorted. */
  methods: string[];
  /** allow/deny for the other methods: the block's, else the location's. Absent: everyone is let in. */
  access?: Policy['access'];
  /** What serves the other methods, where it is not the location's action (a location answering by `return`). */
  action?: Action;
  /** Directives of the block that are not translated (proxy_pass…), `name at file:line`; they change what nginx does for the other methods. */
  untranslated?: string[];
  /** The authentication the other methods get, where it is not the location's (absent: the location's). */
  auth?: AuthGate | null;
  source: Src;
}

// ---------------------------------------------------------------- actions

export type Action =
  | ProxyAction
  | ReturnAction
  | RedirectAction
  | StaticAction;

export interface ProxyAction {
  kind: 'proxy';
  /** Backend.name */
  backend: string;
  scheme: 'http' | 'https' | 'grpc' | 'grpcs';
  /** The URI part of proxy_pass (`/v2/`), or null when proxy_pass has none. */
  uri: Template | null;
  /** What nginx's `$proxy_host` is for this target: the upstream name, or host[:port] (port only when not the scheme's default). */
  proxyHost: string;
  /** The Envoy cluster: one of the backend's `clusters` (the one for this proxy_pass's transport). */
  cluster: string;
  /** When nginx passes a failed request on to the next server (proxy_next_upstream*, grpc_next_upstream* for grpc_pass). Absent in older IR: nginx's default. */
  retry?: UpstreamRetry;
  source: Src;
}

/** A condition of proxy_next_upstream / grpc_next_upstream (`off` is an empty list). */
export type NextUpstreamCondition =
  | 'error'
  | 'timeout'
  | 'invalid_header'
  | 'http_500'
  | 'http_502'
  | 'http_503'
  | 'http_504'
  | 'http_403'
  | 'http_404'
  | 'http_429'
  | 'non_idempotent';

/**
 * nginx's retry on the next server of the upstream (ngx_http_upstream_next): on a listed
 * failure it tries another server, each at most once per request, primary servers before
 * backups. A non-idempotent request (POST, LOCK, PATCH) already sent to a server is not
 * passed on unless `non_idempotent` is listed; one whose connection failed is.
 */
export interface UpstreamRetry {
  /** The conditions in effect, in nginx's bit order; [] for `off`. Default `error timeout`. */
  conditions: NextUpstreamCondition[];
  /** *_next_upstream_tries: the most servers tried for one request; 0 = no limit (each server once). */
  tries: number;
  /** *_next_upstream_timeout in ms: no new try after this long; 0 = no limit. */
  timeoutMs: number;
  /** The directives in effect (absent: nginx's defaults). */
  sources?: Src[];
}

/** `return code [text]` for non-redirect codes (and `return 204;` etc.). */
export interface ReturnAction {
  kind: 'return';
  status: number;
  body: Template | null;
  source: Src;
}

/** `return 301|302|303|307|308 URL` or `return URL` (302), or a redirect rewrite. */
export interface RedirectAction {
  kind: 'redirect';
  status: number;
  location: Template;
  source: Src;
}

/**
 * No content handler the proxy can take over: nginx would serve files (root,
 * alias, try_files, index) or answer 404/403. Reported where it matters.
 */
export interface StaticAction {
  kind: 'static';
  status: number; // the status nginx answers for a missing file: 404
  reason: string;
  source: Src | null;
}

export type RewriteStep =
  | {
      kind: 'rewrite';
      regex: string;
      replacement: Template;
      flag: 'last' | 'break' | 'redirect' | 'permanent' | null;
      /**
       * For `last` (or a final rewrite without flag) to a fixed URI: the id of the
       * location nginx's search picks for that URI, decided at compile time.
       */
      target?: string;
      source: Src;
    }
  | { kind: 'return'; action: ReturnAction | RedirectAction; source: Src }
  /** `if (condition) { return …; }`: the return ends the request when the condition holds. */
  | { kind: 'if'; condition: IfCondition; action: ReturnAction | RedirectAction; source: Src }
  | { kind: 'unsupported'; directive: string; source: Src };

/**
 * The `if` conditions Envoy can test: `$host`/`$http_host`/`$scheme`/`$request_method`
 * compared (`=`, `!=`: exact, case-sensitive) with a literal, `$uri`/`$request_uri`/
 * `$request_method` searched with a PCRE (`~`, `~*`; negated `!~`, `!~*`), or a map
 * variable (HttpMap) tested.
 */
export type IfCondition =
  | { kind: 'compare'; variable: 'host' | 'http_host' | 'scheme' | 'request_method'; value: string; negate: boolean }
  | { kind: 'regex'; variable: 'uri' | 'request_uri' | 'request_method'; regex: string; caseless: boolean; negate: boolean }
  /** A map variable: `if ($v)` (truthy: neither '' nor "0"), `if ($v = value)`, `if ($v != value)`. */
  | { kind: 'map'; map: HttpMap; test: MapTest };

export type MapTest = { op: 'truthy' } | { op: 'equals' | 'differs'; value: string };

// ---------------------------------------------------------------- policy

export interface HeaderOp {
  name: string;
  value: Template;
  always?: boolean; // add_header ... always
  source: Src;
}

/**
 * headers-more (openresty/headers-more-nginx-module) in effect at a level. Inherited
 * commands are not replaced by a level's own: nginx runs the outer levels' first,
 * then the inner ones' (ngx_http_headers_more_merge_loc_conf), each in file order.
 */
export interface MoreHeaders {
  /** more_set_headers / more_clear_headers: response headers, changed before add_header's are added. */
  output: MoreHeaderOp[];
  /** more_set_input_headers / more_clear_input_headers: request headers, changed at the end of the rewrite phase. */
  input: MoreHeaderOp[];
}

/** One header of a headers-more command. */
export interface MoreHeaderOp {
  /** The name as written; ending in `*` (wildcard): every header whose name starts with the rest. */
  name: string;
  /** The new value; null clears the header (a clear command, `Name:` or `Name` alone). */
  value: Template | null;
  /** -s: only responses with one of these statuses. Absent: any. */
  statuses?: number[];
  /** -t: only with one of these content types (the response's; the request's for input commands). Absent: any. */
  types?: string[];
  /** -r (input): replaced only where the request has the header. */
  replaceOnly?: true;
  /** -a (later module versions): appended without clearing the old values. */
  append?: true;
  source: Src;
}

export interface Policy {
  /** proxy_set_header list in effect (inner level replaces outer), nginx defaults implied. */
  proxySetHeaders: HeaderOp[];
  /** add_header list in effect (inner level replaces outer). */
  addHeaders: HeaderOp[];
  proxyHideHeaders: string[];
  /** Milliseconds. nginx defaults: 60000 each. */
  proxyConnectTimeoutMs: number;
  proxyReadTimeoutMs: number;
  proxySendTimeoutMs: number;
  /** Bytes; 0 = unlimited. nginx default 1m. */
  clientMaxBodySize: number;
  proxyHttpVersion: '1.0' | '1.1';
  /** proxy_set_header Upgrade $http_upgrade + Connection "upgrade" present. */
  websocket: boolean;
  /** proxy_redirect in effect, kept for the report. */
  proxyRedirect: string[] | null;
  /** proxy_buffering (nginx buffers by default; Envoy streams). */
  proxyBuffering: boolean;
  /**
   * How nginx makes its own redirects (relative `return`, the slash redirect)
   * absolute: absolute_redirect, port_in_redirect, server_name_in_redirect.
   * Absent: nginx's defaults (on, on, off).
   */
  redirects?: { absolute: boolean; port: boolean; serverName: boolean };
  /** gzip/brotli in effect here (null: off). Absent in older IR. */
  compression?: Compression | null;
  /** access_log in effect here (empty: off). Absent in older IR. */
  accessLogs?: AccessLog[];
  /** error_page in effect here. Absent in older IR. */
  errorPages?: ErrorPage[];
  /**
   * allow/deny in effect here (ngx_http_access_module; inner level replaces outer), checked
   * in nginx's access phase: for what proxy_pass or the static fallback serves, after
   * `return`, redirects and rewrites. `client`: the address tested, the connection's peer,
   * or the one real_ip found (set_real_ip_from in effect). Absent: no rules.
   */
  access?: { rules: AccessRules; client: 'peer' | 'real_ip' };
  /** headers-more commands in effect here (outer levels' first). Absent: none. */
  moreHeaders?: MoreHeaders;
  /** server_tokens in effect here: the version in nginx's own error pages (src/lower/special-response.ts). Absent: `on`. */
  serverTokens?: 'off' | 'build';
  /** Authentication in nginx's access phase (auth_basic, auth_request, access_by_lua…), after allow/deny. Absent: none. */
  auth?: AuthGate;
  /** `satisfy any` with both allow/deny and auth_basic in effect: nginx lets a client in when either passes. Absent: `satisfy all`. */
  satisfyAny?: true;
  /**
   * `try_files … @name`: this is the named location's policy, taken by a location whose
   * try_files ends in it (the fields above are the named location's). nginx ran that
   * location's own access phase first, before try_files (its allow/deny, then its
   * credentials, with its `satisfy`), and the named location's after the internal redirect:
   * a client must pass both. Absent: no hand-over, or nothing checked in the first location.
   */
  handedFrom?: HandedFrom;
}

/** The access phase of the location whose try_files handed the request to a named location. */
export interface HandedFrom {
  /** Location.id of the location with the try_files. */
  location: string;
  access?: Policy['access'];
  auth?: AuthGate;
  satisfyAny?: true;
}

/**
 * What nginx's access phase asks of a client besides allow/deny, as Envoy can enforce it:
 * credentials checked against a users file (`basic`), or, where the check cannot be
 * translated exactly, a refusal of every request (`closed`: the route fails closed).
 * Checked only for what the content phase serves, as allow/deny.
 */
export type AuthGate = { kind: 'basic'; basic: BasicAuth } | { kind: 'closed'; closed: ClosedGate };

/** auth_basic with its users file (ngx_http_auth_basic_module), checked by Envoy's basic_auth filter. */
export interface BasicAuth {
  /** The realm nginx names in `WWW-Authenticate: Basic realm="…"`. */
  realm: string;
  /** The users file as Envoy reads it (auth_basic_user_file). */
  file: string;
  /** The file could be read at convert time and holds only `{SHA}` lines Envoy accepts; false: not read (Envoy checks it at load). */
  checked: boolean;
  source: Src;
}

/** An access check Envoy cannot run: the route answers `status` to every request (headers: e.g. nginx's WWW-Authenticate). */
export interface ClosedGate {
  status: number;
  headers: { name: string; value: string }[];
  /** The directive that closes the route, and why, for the report and explain. */
  directive: string;
  /** For auth_basic: the check nginx runs (its users file), which Envoy is not given. */
  basic?: BasicAuth;
  reason: string;
  source: Src;
}
// ---------------------------------------------------------------- backends

export type BalancePolicy =
  | { kind: 'round_robin' }
  | { kind: 'least_conn' }
  | { kind: 'ip_hash' }
  | { kind: 'hash'; key: Template; consistent: boolean }
  | { kind: 'random'; two: boolean };

export interface BackendServer {
  /** Hostname or IP literal, or the socket path for unix: targets. */
  host: string;
  port: number;
  unix: boolean;
  weight: number; // default 1
  maxFails: number; // default 1
  failTimeoutMs: number; // default 10000
  backup: boolean;
  down: boolean;
  source: Src;
}

export interface Backend {
  /** Cluster name: the upstream name, or `host_port` for an inline proxy_pass target. */
  name: string;
  kind: 'upstream' | 'inline';
  balance: BalancePolicy;
  /** `keepalive N` in the upstream (idle connections kept per worker). */
  keepalive: number | null;
  /**
   * One cluster per transport the backend is used with (nginx picks the scheme per
   * proxy_pass: `http://up` and `https://up` talk plain HTTP and TLS to the same
   * servers). Sorted by name; a backend used with one transport (or none) has one,
   * named as the backend. Every cluster has the backend's servers and settings.
   */
  clusters: BackendCluster[];
  servers: BackendServer[];
  source: Src;
}

export interface BackendCluster {
  /** The backend's name when it is used with one transport only, else `<backend>/<transport label>` (src/lower/upstream.ts). */
  name: string;
  transport: UpstreamTransport;
}

/** How nginx talks to a backend for one proxy_pass/grpc_pass. */
export interface UpstreamTransport {
  /** HTTP/2 (grpc://, grpcs://) rather than HTTP/1.x. */
  http2: boolean;
  /** TLS (https://, grpcs://) with the proxy_ssl_* settings in effect; null: plain TCP. */
  tls: UpstreamTls | null;
  /** proxy_socket_keepalive / grpc_socket_keepalive on: SO_KEEPALIVE on the upstream sockets (the OS's probe timings). Absent: off. */
  tcpKeepalive?: true;
}

/** The proxy_ssl_* settings of a TLS proxy_pass (absent fields: nginx's defaults). */
export interface UpstreamTls {
  /** The SNI sent (proxy_ssl_server_name on); absent: none, nginx's default. */
  sni?: string;
  /**
   * The SNI is the request's host (proxy_ssl_server_name on, proxy_ssl_name $host), which
   * the upstream request carries as its Host: Envoy's auto_sni. Never set with `sni`.
   */
  sniFromHost?: true;
  /** proxy_ssl_verify on: the chain is checked against `trustedCa` and the certificate against `name`. */
  verify?: {
    trustedCa: string;
    /** proxy_ssl_verify_depth (OpenSSL's count: CAs above the peer, the trust anchor not counted). Default 1. */
    depth: number;
    /** The name checked (proxy_ssl_name, port stripped); absent when nginx's name is not known at compile time. */
    name?: string;
    /** The name checked is the request's host (proxy_ssl_name $host, see sniFromHost): Envoy's auto_san_validation. */
    nameFromHost?: true;
    crl?: string;
  };
  /** proxy_ssl_certificate / proxy_ssl_certificate_key: the client certificate shown to the upstream. */
  certificate?: { cert: string; key: string };
  /** proxy_ssl_protocols. */
  protocols?: string[];
  /** proxy_ssl_ciphers. */
  ciphers?: string;
  /** proxy_ssl_session_reuse off. */
  noSessionReuse?: boolean;
}

// ---------------------------------------------------------------- stream (TCP/UDP proxying)

/**
 * nginx's `stream {}` context. Its upstreams live in a namespace of their own
 * (an http and a stream upstream may share a name), so stream backends carry
 * cluster names of their own: `stream_<upstream name>` and `stream_<host>_<port>`
 * for inline targets (src/lower/stream-backends.ts), never an http cluster's name.
 */
export interface StreamConfig {
  servers: StreamServer[]; // `server` blocks of the stream context, in file order
  backends: StreamBackend[]; // sorted by cluster name
}

export interface StreamListen {
  address: string; // '0.0.0.0', '::', or a concrete IP
  port: number;
  udp: boolean;
  /** `listen … ssl`: nginx terminates TLS (stream ssl module). */
  ssl: boolean;
  /** `listen … proxy_protocol`: a PROXY protocol header is expected from the client. */
  proxyProtocol: boolean;
  source: Src;
}

export interface StreamServer {
  /** Stable id: `stream_server_<n>` by file order, n from 0. */
  id: string;
  listens: StreamListen[];
  routing: StreamRouting;
  settings: StreamSettings;
  /** TLS termination on its `listen … ssl` sockets (stream ssl module): the ssl_* settings in effect. */
  tls?: StreamTls;
  /** allow/deny rules in effect (absent: every client is let in). */
  access?: StreamAccess;
  source: Src;
}

export interface StreamTls {
  /** Certificates, protocols, ciphers, client verification, sessions: as http servers have them. */
  server: ServerTls;
  /** ssl_handshake_timeout (nginx default 60s). */
  handshakeTimeoutMs: number;
  /** ssl_alpn: the protocols offered; absent: none (nginx's stream default). */
  alpn?: string[];
}

/**
 * Where a connection goes. `closed`: nginx closes every connection (e.g. the map
 * has no entry and no default). `untranslated`: nginx's choice cannot be kept
 * exactly in Envoy; the reason is in the report and nothing is emitted for it.
 */
export type StreamRouting =
  /** `cluster`: a StreamBackend.name, its plain TCP cluster; UDP and `proxy_protocol on` servers use its `/udp` or `/proxy_protocol` cluster. */
  | { kind: 'backend'; cluster: string; source: Src }
  /** `default`: the cluster of the map's default, null when nginx closes the connection. */
  | { kind: 'sni'; entries: StreamSniEntry[]; default: string | null; source: Src; map: Src }
  /** `return text`: nginx sends the text and closes the connection. */
  | { kind: 'return'; text: string; source: Src }
  | { kind: 'untranslated'; reason: string; source: Src };

/** One name of an SNI selection (`map $ssl_preread_server_name …`); cluster null: nginx closes the connection. */
export interface StreamSniEntry {
  kind: 'exact' | 'wildcard-prefix'; // `*.x` (and the wildcard half of `.x`)
  /** Lowercased name; for wildcard-prefix, the `*.x` form. */
  name: string;
  cluster: string | null; // a StreamBackend.name (its plain TCP cluster; see StreamBackend.clusters)
  source: Src;
}

export interface StreamSettings {
  /** proxy_connect_timeout (nginx default 60s). */
  connectTimeoutMs: number;
  /** proxy_timeout (nginx default 10m): no data either way for this long closes the session. */
  idleTimeoutMs: number;
  /** preread_timeout (nginx default 30s): how long ssl_preread waits for the ClientHello. */
  prereadTimeoutMs: number;
  /** ssl_preread on. */
  sslPreread: boolean;
  /** proxy_next_upstream (default on): a failed connect is tried on the next server. */
  nextUpstream: boolean;
  /** proxy_next_upstream_tries (default 0: unlimited). */
  nextUpstreamTries: number;
  /** proxy_protocol on: a PROXY protocol v1 header is sent to the upstream. */
  proxyProtocolUpstream: boolean;
  /** UDP: proxy_responses (default: unlimited, null). */
  udpResponses: number | null;
  /** proxy_socket_keepalive on: SO_KEEPALIVE on the TCP sockets to the backends (OS timings). Absent: off. */
  tcpKeepalive?: true;
  /**
   * proxy_ssl on: the TLS nginx speaks to each backend of the server over TCP, by
   * StreamBackend.name (proxy_ssl_name defaults to the backend's name in proxy_pass, so
   * the settings may differ per backend). Absent: plain TCP. UDP never uses it.
   */
  upstreamTls?: Record<string, UpstreamTls>;
}

export interface StreamBackend {
  /** The Envoy cluster: `stream_<upstream>` or `stream_<host>_<port>`. */
  name: string;
  /** The upstream block's name, or `host:port` of an inline target. */
  nginxName: string;
  kind: 'upstream' | 'inline';
  balance: BalancePolicy;
  servers: BackendServer[];
  /**
   * One cluster per way the servers use it: `<name>` plain, `<name>/proxy_protocol`
   * for servers with `proxy_protocol on` (the cluster sends the PROXY header),
   * `…/tls-<hash of the settings>` for servers with `proxy_ssl on`, `…/keepalive` for
   * servers with `proxy_socket_keepalive on` (TCP), and `<name>/udp` for UDP. Sorted by name.
   */
  clusters: StreamCluster[];
  source: Src;
}

export interface StreamCluster {
  name: string;
  udp: boolean;
  proxyProtocol: boolean;
  /** proxy_ssl on: TLS to the servers (after the PROXY header when both). null: plain TCP or UDP. */
  tls: UpstreamTls | null;
  /** proxy_socket_keepalive on (TCP only): SO_KEEPALIVE on its sockets; the name ends in `/keepalive`. Absent: off. */
  tcpKeepalive?: true;
  /** The longest proxy_connect_timeout of the servers using it (Envoy has one per cluster). */
  connectTimeoutMs: number;
  /** Connect attempts nginx makes (proxy_next_upstream[_tries] over the live servers); the largest of its users. */
  connectAttempts: number;
}

/** ngx_stream_access_module rules per address family, in order: the first match decides, no match allows. */
export interface StreamAccess {
  v4: StreamAccessRule[];
  v6: StreamAccessRule[];
}

/** allow/deny rules per address family (http and stream alike). */
export type AccessRules = StreamAccess;

export interface StreamAccessRule {
  action: 'allow' | 'deny';
  /** `address/length` (`all`: 0.0.0.0/0 and ::/0). */
  cidr: string;
  source: Src;
}
