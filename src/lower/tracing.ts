// nginx tracing modules (ngx_otel_module, zipkin/opentracing, datadog) and
// request ids: what the report says about them. Envoy's tracers need a
// collector cluster the nginx side does not describe in Envoy terms, so tracing
// is reported rather than emitted; $request_id maps to x-request-id.
import type { Directive } from '../parse/ast.js';
import type { Reporter } from './classify.js';

const OTEL = /^otel_/;
const OPENTRACING = /^opentracing/;
const ZIPKIN = /^zipkin_/;
const DATADOG = /^datadog/;

export function markTracing(ds: Directive[], r: Reporter): void {
  for (const d of ds) {
    const family = OTEL.test(d.name) ? 'OpenTelemetry (ngx_otel_module)' : OPENTRACING.test(d.name) ? 'OpenTracing' : ZIPKIN.test(d.name) ? 'Zipkin' : DATADOG.test(d.name) ? 'Datadog' : null;
    if (!family) continue;
    r.markTree(d, 'unsupported', `${family} tracing is not translated: configure the HTTP connection manager's tracing provider (envoy.tracers.opentelemetry / zipkin / datadog) with a collector cluster`);
  }
}

/** Whether any directive below uses $request_id (headers, logs, return bodies…). */
export function usesRequestId(ds: Directive[]): boolean {
  for (const d of ds) {
    if (d.args.some((a) => /\$\{?request_id\b/.test(a.value))) return true;
    if (d.block && usesRequestId(d.block.filter((s): s is Directive => s.kind === 'directive'))) return true;
  }
  return false;
}
