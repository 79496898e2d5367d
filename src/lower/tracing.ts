// nginx tracing (ngx_otel_module) → Tracing, and the report lines of every
// tracing directive. OpenTelemetry maps onto Envoy's OpenTelemetry tracer
// (HCM tracing + an OTLP/gRPC collector cluster); OpenTracing/Zipkin/Datadog
// plugins load their settings from files or shared objects and are reported.
import type { Directive, Statement } from '../parse/ast.js';
import type { Tracing } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { directiveFamily, directivesOf, type Level, runCache, srcOf } from './util.js';
import { argCount, argValue } from '../parse/args.js';

const OPENTRACING = /^opentracing/;
const ZIPKIN = /^zipkin_/;
const DATADOG = /^datadog/;

/** The OpenTelemetry tracing in effect at the innermost of `levels` (levels[0] is http). */
export function tracingAt(levels: Level[]): Tracing | null {
  const trace = effectiveSimple(levels, 'otel_trace');
  if (!trace || argValue(trace, 0) === 'off') return null;
  const exporter = levels[0]?.byName.get('otel_exporter')?.[0];
  const endpoint = exporter ? directivesOf(exporter.block).find((d) => d.name === 'endpoint')?.args[0]?.value ?? null : null;
  const service = effectiveSimple(levels, 'otel_service_name')?.args[0]?.value ?? null;
  const v = argValue(trace, 0) ?? 'on';
  return { kind: 'opentelemetry', endpoint, serviceName: service, sampleRate: v === 'on' ? 1 : null, source: srcOf(trace) };
}

/** host and port of an otel_exporter endpoint (`host:port`, optionally with http:// or https://). */
export function otelEndpoint(text: string): { host: string; port: number; tls: boolean } | null {
  const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(text);
  if (!m) return null;
  return { host: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : 4317, tls: m[1] === 'https' };
}

/** Every name markTracing may report: otel_*, opentracing*, zipkin_*, datadog*. */
export const TRACING_MARKED = directiveFamily(mayBeTracing);

function mayBeTracing(name: string): boolean {
  const c = name.charCodeAt(0);
  return c === 0x6f /* o */ || c === 0x7a /* z */ || c === 0x64 /* d */;
}

export function markTracing(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (!mayBeTracing(d.name)) continue; // every level's directives pass here
    if (d.name.startsWith('otel_')) markOtel(d, r);
    else if (OPENTRACING.test(d.name) || ZIPKIN.test(d.name) || DATADOG.test(d.name)) {
      const family = OPENTRACING.test(d.name) ? 'OpenTracing' : ZIPKIN.test(d.name) ? 'Zipkin' : 'Datadog';
      r.markTree(d, 'unsupported', `${family} tracing plugin (settings in a shared object/JSON file) is not translated: configure the connection manager's tracing provider (envoy.tracers.zipkin / datadog / opentelemetry) by hand`);
    }
  }
}

function markOtel(d: Directive, r: Reporter): void {
  const v = argValue(d, 0) ?? '';
  switch (d.name) {
    case 'otel_exporter': {
      const ep = directivesOf(d.block).find((c) => c.name === 'endpoint')?.args[0]?.value;
      const ok = ep !== undefined && otelEndpoint(ep) !== null;
      r.mark(d, ok ? 'translated' : 'unsupported', ok ? 'OTLP/gRPC collector cluster `otel_collector` for envoy.tracers.opentelemetry' : 'no usable endpoint: tracing not emitted');
      for (const c of directivesOf(d.block)) {
        if (c.name === 'endpoint') r.mark(c, ok ? 'translated' : 'unsupported', 'collector address');
        else r.mark(c, 'approximated', `\`${c.name}\`: Envoy batches spans by its own rules`);
      }
      break;
    }
    case 'otel_trace':
      if (v === 'on' || v === 'off') r.mark(d, 'translated', v === 'on' ? 'connection manager tracing with envoy.tracers.opentelemetry, every request sampled' : 'not traced');
      else r.mark(d, 'approximated', `sampling by \`${v}\` (a variable, e.g. from split_clients): Envoy samples with its own random_sampling (100%)`);
      break;
    case 'otel_service_name':
      r.mark(d, 'translated', 'OpenTelemetryConfig service_name');
      break;
    case 'otel_trace_context':
      r.mark(d, v === 'propagate' ? 'translated' : 'approximated', v === 'propagate' ? 'Envoy extracts and injects W3C traceparent' : `\`${v}\`: Envoy always extracts and injects W3C traceparent (nginx ${v === 'ignore' ? 'does neither' : `only ${v}s`})`);
      break;
    case 'otel_span_name':
    case 'otel_span_attr':
      r.mark(d, 'unsupported', `\`${d.name}\` is not translated: Envoy names spans after the route (decorator) and sets its own attributes`);
      break;
    default:
      r.mark(d, 'unsupported', `\`${d.name}\` is not translated`);
  }
}

// Answers by level array: serverEdge asks about the same http level once per server.
const requestIdUse = runCache<Directive[], boolean>();

/** Whether any directive below uses $request_id (headers, logs, return bodies…). */
export function usesRequestId(ds: Directive[]): boolean {
  let v = requestIdUse.get(ds);
  if (v === undefined) {
    v = scanRequestId(ds);
    requestIdUse.set(ds, v);
  }
  return v;
}

const REQUEST_ID = /\$\{?request_id\b/;

function scanRequestId(ds: Statement[]): boolean {
  // Index loops reading words in place (argValue): this walks the whole http tree,
  // and a list of values per directive was most of its cost.
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.kind !== 'directive') continue;
    const n = argCount(d);
    for (let k = 0; k < n; k++) {
      // Most arguments do not name it at all: the cheap test first.
      const a = argValue(d, k)!;
      if (a.includes('request_id') && REQUEST_ID.test(a)) return true;
    }
    if (d.block && scanRequestId(d.block)) return true;
  }
  return false;
}
