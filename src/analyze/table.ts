// The project's directive table: nginx's own directives (generated from
// nginx-directives.tsv) plus the common third-party modules, merged by name.
import { NGINX_DIRECTIVES } from './nginx-directives.generated.js';
import type { ContextName, DirectiveSpec, DirectiveVariant } from './table-types.js';
import { LEGACY_NGINX_DIRECTIVES } from './legacy.js';
import { THIRD_PARTY_DIRECTIVES } from './third-party.js';

function mergeByName(variants: readonly DirectiveVariant[]): Map<string, DirectiveSpec> {
  const table = new Map<string, DirectiveSpec>();
  for (const v of variants) {
    let spec = table.get(v.name);
    if (!spec) {
      spec = { name: v.name, variants: [], contexts: [], modules: [], block: false };
      table.set(v.name, spec);
    }
    spec.variants.push(v);
    for (const c of v.contexts) if (!spec.contexts.includes(c)) spec.contexts.push(c);
    if (!spec.modules.includes(v.module)) spec.modules.push(v.module);
    spec.block ||= v.block;
  }
  return table;
}

// nginx's modules come first, so where a name exists in both nginx and a
// third-party module for the same context, nginx's definition is chosen.
const TABLE = mergeByName([...NGINX_DIRECTIVES, ...LEGACY_NGINX_DIRECTIVES, ...THIRD_PARTY_DIRECTIVES]);

/** The merged definition of a directive, or undefined when no known module defines it. */
export function lookupDirective(name: string): DirectiveSpec | undefined {
  return TABLE.get(name);
}

/** The definition nginx would use for `name` written in `context` (first match, as ngx_conf_handler). */
export function variantInContext(spec: DirectiveSpec, context: ContextName): DirectiveVariant | undefined {
  return spec.variants.find((v) => v.contexts.includes(context) || v.contexts.includes('any'));
}

// The context a block directive opens, keyed by `<context> <directive>`. A
// block directive absent here (map, geo, types, *_by_lua_block, …) has a body
// that is not made of directives, so analysis does not enter it.
const CHILD_CONTEXT: Readonly<Record<string, ContextName>> = {
  'main events': 'events',
  'main http': 'http',
  'main stream': 'stream',
  'main mail': 'mail',
  'main rtmp': 'rtmp',
  'http server': 'server',
  'http upstream': 'upstream',
  'server location': 'location',
  'server if': 'if-in-server',
  'location location': 'location',
  'location if': 'if-in-location',
  'location limit_except': 'limit_except',
  'stream server': 'stream-server',
  'stream upstream': 'stream-upstream',
  'mail server': 'mail-server',
  'rtmp server': 'rtmp-server',
  'rtmp-server application': 'rtmp-application',
  'rtmp-application recorder': 'rtmp-recorder',
};

/** The context inside the block of `name` written in `context`, if its body holds directives. */
export function childContext(context: ContextName, name: string): ContextName | undefined {
  return CHILD_CONTEXT[`${context} ${name}`];
}
