// Which per-route configuration each HTTP filter of a connection manager uses for
// a matched route. Envoy resolves the most specific one: the route's
// typed_per_filter_config, else the virtual host's, else the route
// configuration's (route_components.proto, typed_per_filter_config: "the
// filter config name … route > virtual host > route configuration";
// Http::Utility::resolveMostSpecificPerFilterConfig). The Lua filter then runs
// the script its per-route config names (lua_filter docs, "Per-Route
// Configuration": `disabled`, `name` of one of the filter's `source_codes`, or
// an inline `source_code`), else its own default script.
import { typeOf, type Obj } from './config.js';

export type PerFilterLevel = 'route' | 'virtual_host' | 'route_configuration';

export interface FilterConfigChoice {
  /** the per-route config Envoy hands the filter, null when there is none */
  config: Obj | null;
  from?: PerFilterLevel;
  /** Lua filters: the script that runs on this route (null: none) */
  script?: string | null;
}

const FILTER_CONFIG_WRAPPER = 'envoy.config.route.v3.FilterConfig';

function lookUp(name: string, levels: [PerFilterLevel, Obj][]): { config: Obj; from: PerFilterLevel } | null {
  for (const [from, obj] of levels) {
    const c = obj?.typed_per_filter_config?.[name];
    if (c !== undefined && c !== null) return { config: c, from };
  }
  return null;
}

function inlineText(source: Obj | undefined): string | null {
  if (!source) return null;
  if (source.inline_string !== undefined) return String(source.inline_string);
  if (source.inline_bytes !== undefined) return Buffer.from(String(source.inline_bytes), 'base64').toString('utf8');
  return null;
}

/** The Lua script that runs: per-route `disabled`, `name` or `source_code`, else the filter's default. */
function luaScript(filter: Obj, perRoute: Obj | null, notes: string[]): string | null {
  if (perRoute) {
    if (perRoute.disabled === true) return null;
    if (perRoute.name !== undefined && perRoute.name !== '') {
      const text = inlineText(filter.source_codes?.[String(perRoute.name)]);
      if (text === null) notes.push(`LuaPerRoute name ${JSON.stringify(perRoute.name)} is not in the Lua filter's source_codes: no script runs`);
      return text;
    }
    if (perRoute.source_code) return inlineText(perRoute.source_code);
  }
  return inlineText(filter.default_source_code) ?? (filter.inline_code !== undefined ? String(filter.inline_code) : null);
}

/** Each HTTP filter (the router excepted) → the per-route config it uses for `route`. */
export function perFilterConfigs(hcm: Obj, rc: Obj, vh: Obj, route: Obj, notes: string[]): Record<string, FilterConfigChoice> {
  const out: Record<string, FilterConfigChoice> = {};
  if ((route.route?.weighted_clusters?.clusters ?? []).some((c: Obj) => c.typed_per_filter_config)) {
    notes.push('weighted clusters carry typed_per_filter_config: that level is not simulated');
  }
  const levels: [PerFilterLevel, Obj][] = [
    ['route', route],
    ['virtual_host', vh],
    ['route_configuration', rc],
  ];
  for (const f of hcm.http_filters ?? []) {
    const name = String(f.name ?? '');
    const type = typeOf(f);
    if (name === 'envoy.filters.http.router' || type.endsWith('.Router')) continue;
    const found = lookUp(name, levels);
    let config = found?.config ?? null;
    if (config && String(config['@type'] ?? '').endsWith(FILTER_CONFIG_WRAPPER)) {
      notes.push(`${name}: FilterConfig wrapper read as its inner config (is_optional/disabled not simulated)`);
      config = config.config ?? null;
    }
    const choice: FilterConfigChoice = { config };
    if (found) choice.from = found.from;
    if (type.endsWith('.Lua')) choice.script = luaScript(f.typed_config ?? {}, config, notes);
    out[name] = choice;
  }
  return out;
}
