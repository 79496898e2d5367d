// nginx variables → Envoy access-log command operators, units included. Header
// values use the formatter table of headers.ts; this one is for log lines,
// where timing and byte-count variables matter. Each entry says whether the
// operator gives the same text as nginx (exact) or what differs.
import type { Template } from '../ir/types.js';

export interface LogOperator {
  op: string;
  /** null when the operator gives what nginx logs; else the stated difference. */
  diff: string | null;
}

const SAME = null;

/** Variables with an Envoy command operator (static part of the table). */
const TABLE: Record<string, LogOperator> = {
  remote_addr: { op: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', diff: SAME },
  binary_remote_addr: { op: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', diff: '$binary_remote_addr is the packed address; the text form is logged' },
  remote_port: { op: '%DOWNSTREAM_REMOTE_PORT%', diff: SAME },
  realip_remote_addr: { op: '%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%', diff: SAME },
  server_addr: { op: '%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', diff: SAME },
  server_port: { op: '%DOWNSTREAM_LOCAL_PORT%', diff: SAME },
  remote_user: { op: '-', diff: '$remote_user (the Basic-auth user) has no Envoy operator: logged as "-" (what nginx logs without credentials)' },
  time_local: { op: '%START_TIME(%d/%b/%Y:%H:%M:%S %z)%', diff: '$time_local is when nginx writes the line (end of the request); %START_TIME% is when the request started' },
  time_iso8601: { op: '%START_TIME(%Y-%m-%dT%H:%M:%S%z)%', diff: 'request start instead of end; the UTC offset is written +0000 where nginx writes +00:00' },
  msec: { op: '%START_TIME(%s.%3f)%', diff: 'request start instead of end of the request' },
  request: { op: '%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%', diff: 'the path after Envoy\'s normalisation (nginx logs the raw request line); HTTP/2 is "HTTP/2" where nginx writes "HTTP/2.0"' },
  request_method: { op: '%REQ(:METHOD)%', diff: SAME },
  request_uri: { op: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', diff: 'the normalised path (merged slashes, resolved dot segments); nginx logs the URI as the client sent it' },
  uri: { op: '%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%', diff: 'nginx\'s $uri is also percent-decoded and changes with rewrites' },
  document_uri: { op: '%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%', diff: 'nginx\'s $document_uri is also percent-decoded and changes with rewrites' },
  server_protocol: { op: '%PROTOCOL%', diff: 'HTTP/2 is "HTTP/2" where nginx writes "HTTP/2.0"' },
  scheme: { op: '%REQ(:SCHEME)%', diff: SAME },
  host: { op: '%REQ(:AUTHORITY)%', diff: 'nginx\'s $host is lowercased and falls back to the server name without a Host' },
  status: { op: '%RESPONSE_CODE%', diff: SAME },
  body_bytes_sent: { op: '%BYTES_SENT%', diff: SAME },
  bytes_sent: { op: '%BYTES_SENT%', diff: '$bytes_sent includes the response headers; %BYTES_SENT% counts the body only' },
  request_length: { op: '%BYTES_RECEIVED%', diff: '$request_length includes the request line and headers; %BYTES_RECEIVED% counts the body only' },
  request_time: { op: '%DURATION%', diff: '$request_time is seconds with millisecond resolution (0.123); %DURATION% is whole milliseconds (123)' },
  upstream_response_time: { op: '%RESPONSE_DURATION%', diff: '$upstream_response_time is seconds (0.123) from the upstream connection to the end of its response; %RESPONSE_DURATION% is milliseconds from the request start to the first upstream byte' },
  upstream_connect_time: { op: '%UPSTREAM_CONNECTION_POOL_READY_DURATION%', diff: 'milliseconds where nginx logs seconds (0.012)' },
  upstream_header_time: { op: '%RESPONSE_DURATION%', diff: 'milliseconds from the request start where nginx logs seconds from the upstream connection' },
  upstream_addr: { op: '%UPSTREAM_HOST%', diff: SAME },
  upstream_status: { op: '%RESPONSE_CODE%', diff: 'Envoy logs the status sent to the client; nginx the upstream\'s (they differ when the upstream fails: nginx logs "502" or "-")' },
  request_id: { op: '%REQ(X-REQUEST-ID)%', diff: 'Envoy\'s x-request-id is a UUID; nginx\'s $request_id is 32 hex digits' },
  hostname: { op: '%HOSTNAME%', diff: SAME },
  connection: { op: '%CONNECTION_ID%', diff: 'Envoy\'s connection id numbering differs from nginx\'s serial number' },
  ssl_protocol: { op: '%DOWNSTREAM_TLS_VERSION%', diff: SAME },
  ssl_cipher: { op: '%DOWNSTREAM_TLS_CIPHER%', diff: 'Envoy logs the IANA/BoringSSL suite name; nginx the OpenSSL name' },
  ssl_server_name: { op: '%REQUESTED_SERVER_NAME%', diff: SAME },
  ssl_session_id: { op: '%DOWNSTREAM_TLS_SESSION_ID%', diff: SAME },
  ssl_client_s_dn: { op: '%DOWNSTREAM_PEER_SUBJECT%', diff: 'RFC 2253 order in both since nginx 1.11.6; formatting of special characters may differ' },
  ssl_client_i_dn: { op: '%DOWNSTREAM_PEER_ISSUER%', diff: 'formatting of special characters may differ' },
  ssl_client_serial: { op: '%DOWNSTREAM_PEER_SERIAL%', diff: 'lowercase hex in Envoy, uppercase in nginx' },
  ssl_client_fingerprint: { op: '%DOWNSTREAM_PEER_FINGERPRINT_1%', diff: SAME },
};

/** The operator for one variable, or null when Envoy has none. */
export function logOperator(v: string): LogOperator | null {
  const fixed = TABLE[v];
  if (fixed) return fixed;
  if (v.startsWith('http_')) return { op: `%REQ(${headerName(v.slice(5))})%`, diff: SAME };
  if (v.startsWith('sent_http_')) return { op: `%RESP(${headerName(v.slice(10))})%`, diff: SAME };
  if (v.startsWith('upstream_http_')) return { op: `%RESP(${headerName(v.slice(14))})%`, diff: 'the header as sent to the client (after response header mutations)' };
  if (v.startsWith('sent_trailer_')) return { op: `%TRAILER(${headerName(v.slice(13))})%`, diff: SAME };
  return null;
}

function headerName(v: string): string {
  return v.replace(/_/g, '-').toUpperCase();
}

export interface ConvertedLog {
  /** The Envoy format text (text_format) or the value of one json_format field. */
  text: string;
  /** `$var: difference` for each approximated variable, once. */
  diffs: string[];
  /** Variables with no operator (logged as "-"). */
  unsupported: string[];
}

/** nginx log template → Envoy format text; `%` is escaped, variables become operators. */
export function convertLogTemplate(t: Template): ConvertedLog {
  let text = '';
  const diffs: string[] = [];
  const unsupported: string[] = [];
  for (const p of t.parts) {
    if ('text' in p) {
      text += p.text.replace(/%/g, '%%');
      continue;
    }
    const op = logOperator(p.var);
    if (!op) {
      if (!unsupported.includes('$' + p.var)) unsupported.push('$' + p.var);
      text += '-';
      continue;
    }
    text += op.op;
    const d = op.diff ? `$${p.var}: ${op.diff}` : null;
    if (d && !diffs.includes(d)) diffs.push(d);
  }
  return { text, diffs, unsupported };
}
