// The nginx routing model over the IR: which server, which location, and what
// nginx does with a request. Used by `explain`, `diff` and the tests that hold
// the Envoy output to nginx's behaviour.
export { selectServer, selectListener, normaliseHost, type ServerChoice, type ServerQuery } from './server.js';
export { selectLocation, hasAutoRedirect, type LocationChoice } from './location.js';
export { parseTarget, escapeUri, toByteString, fromByteString, type ParsedTarget } from './uri.js';
export { routeNginx, type NginxRequest, type NginxRoute, type NginxOutcome, type LocationRef } from './route.js';
export { compileNginxRegex } from './regex.js';
export { editRequestHeaders, editResponseHeaders, proxiedResponseBase, type HeaderEdit, type HeaderMap } from './headers.js';
export { nginxUpstreamOutcomes, type NginxUpstreamConditions, type NginxUpstreamOutcome, type NginxUpstreamResult } from './upstream.js';
export { specialReply, textReply, type NginxReply, type ReplyLevel } from './reply.js';
