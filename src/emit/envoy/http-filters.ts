// Compression → envoy.filters.http.compressor (gzip and/or brotli libraries).
// One filter per distinct configuration among the routes of a connection
// manager; a route disables every compressor that is not its own, so each
// location compresses exactly as nginx would there.
import type { Compression } from '../../ir/types.js';
import type { Json } from './context.js';

export const COMPRESSOR = 'envoy.filters.http.compressor';
const COMPRESSOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute';

/** Key of what a Compression means for Envoy (sources excluded). */
export function compressionKey(c: Compression): string {
  return JSON.stringify({ ...c, source: null });
}

function library(kind: 'gzip' | 'brotli', c: Compression): Json {
  if (kind === 'gzip') {
    const level = Math.min(9, Math.max(1, c.gzipLevel));
    return {
      name: 'gzip',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip', compression_level: `COMPRESSION_LEVEL_${level}` },
    };
  }
  return {
    name: 'brotli',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli', quality: Math.min(11, Math.max(0, c.brotliLevel)) },
  };
}

/** The compressor filters for one configuration (gzip, then brotli), named after `base`. */
export function compressorFilters(c: Compression, base: string): Json[] {
  const out: Json[] = [];
  const common: Json = { min_content_length: c.minLength };
  if (!c.types.includes('*')) common.content_type = c.types;
  for (const kind of ['gzip', 'brotli'] as const) {
    if (!c[kind]) continue;
    out.push({
      name: c.gzip && c.brotli ? `${base}.${kind}` : base,
      typed_config: { '@type': COMPRESSOR_TYPE, response_direction_config: { common_config: common }, compressor_library: library(kind, c) },
    });
  }
  return out;
}

export function compressorDisabled(): Json {
  return { '@type': PER_ROUTE_TYPE, disabled: true };
}
