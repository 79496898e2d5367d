// `rewrite … last` (and a final rewrite without flag) to a fixed URI: nginx runs
// the location search again with that URI. When the URI is literal the search
// is decided at compile time, and the Envoy route can carry the target
// location's action with the rewritten path. Anything depending on the request
// (captures, variables, a new query string, rewrites in the target) stays
// reported as unsupported.
import type { Location, RewriteStep, VirtualServer } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { findLocation } from './search.js';
import { pcreToRe2, re2Exec } from './regex.js';
import { planRedirect } from './redirect.js';
import { ALWAYS_MATCHES, stepDirective } from './rewrite.js';

export function resolveRewriteLast(server: VirtualServer, r: Reporter): void {
  resolveLevel(server.rewrites, null, server, r);
  // The locations in file order, each before its nested ones.
  const visit = (l: Location): void => {
    resolveLevel(l.rewrites, l, server, r);
    for (let i = 0; i < l.children.length; i++) visit(l.children[i]!);
  };
  for (let i = 0; i < server.locations.length; i++) visit(server.locations[i]!);
}

/** The final rewrites of one level (the server's, or `owner`'s). */
function resolveLevel(steps: RewriteStep[], owner: Location | null, server: VirtualServer, r: Reporter): void {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.kind !== 'rewrite') continue;
    const final = step.flag === 'last' || (step.flag === null && i === steps.length - 1);
    if (!final) continue;
    // In a regex location the route would need the rewrite's regex too: only a match-all one works.
    if (owner && (owner.modifier === 'regex' || owner.modifier === 'regex-icase') && !ALWAYS_MATCHES.has(step.regex)) continue;
    const uri = step.replacement.raw;
    if (step.replacement.parts.some((p) => 'var' in p) || !uri.startsWith('/') || uri.includes('?')) continue;
    const found = findLocation(server.locations, uri);
    if (found.kind !== 'location') continue;
    const target = found.location;
    const why = blocker(target, uri, server);
    if (why) continue;
    step.target = target.id;
    const d = stepDirective.get(step);
    if (d) {
      const where = owner ? `in ${owner.id}` : 'at server level';
      const upstream = target.action.kind === 'proxy' ? `, proxied with the path nginx sends for "${uri}" and the request's query` : '';
      r.override(d, 'translated', `a URI matching the regex ${where} is served as nginx serves "${uri}": location ${target.id} (search decided at compile time)${upstream}`);
    }
  }
}

/** Why the target location's handling of `uri` cannot be fixed at compile time (null: it can). */
function blocker(target: Location, uri: string, server: VirtualServer): string | null {
  if (target.dispatch) return 'the target picks its backend by a map';
  for (const s of target.rewrites) {
    if (s.kind === 'unsupported' || s.kind === 'if') return 'the target has `if`/`set`';
    if (s.kind === 'rewrite') {
      const c = pcreToRe2(s.regex);
      if (!c.ok || re2Exec(c.re2, uri) !== null) return 'a rewrite of the target applies';
    }
  }
  const a = target.action;
  if (a.kind === 'redirect') {
    const plan = planRedirect(a.location, { captureRegex: null, rewrite: false, serverName: server.names.find((n) => n.kind !== 'empty')?.value ?? '' });
    if (!plan.ok || plan.path.kind !== 'literal') return 'the target redirects depending on the request';
  }
  if (target.modifier === 'regex' || target.modifier === 'regex-icase') {
    if (a.kind === 'redirect' || (a.kind === 'return' && a.body?.parts.some((p) => 'var' in p))) return 'regex captures';
  }
  return null;
}
