// `try_files … @name`: nginx checks files on disk and, when none exists, hands
// the request to the named location. Envoy cannot check files, so the location
// takes the named location's handling for every request: the files nginx
// would have served are not (reported as an approximation). Other try_files
// forms keep the static answer (reported by the default classification).
import type { Directive } from '../parse/ast.js';
import type { HandedFrom, Location, VirtualServer } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { runCache } from './util.js';
import { argCount, argValue } from '../parse/args.js';
import { bothGates } from './auth.js';

/** Locations whose try_files ends in a named location, with the directive. */
export const pendingTryFiles = runCache<Location, Directive>();

/** `tryFiles`: the location's own try_files directives, in file order. */
export function noteTryFiles(loc: Location, tryFiles: Directive[] | undefined): void {
  if (!tryFiles || loc.action.kind !== 'static' || loc.action.status !== 404) return;
  const tf = tryFiles[tryFiles.length - 1];
  const last = tf ? argValue(tf, argCount(tf) - 1) : undefined;
  if (tf && last?.startsWith('@')) pendingTryFiles.set(loc, tf);
}

export function resolveTryFiles(server: VirtualServer, r: Reporter): void {
  const named = namedLocationsOf(server.locations);
  if (named === null) return; // (no named location: no try_files can reach one, nothing to report)
  // A server's pending try_files are resolved and dropped here: most servers have none, and skip the walk.
  const reached = new Set<Location>();
  if (pendingTryFiles.size > 0) handOn(server.locations, named, reached, r);
  markNamed(named, reached, r);
}

/** A server's named locations by name (they are top-level: nginx rejects nested ones); null when none. */
function namedLocationsOf(locations: Location[]): Map<string, Location> | null {
  let named: Map<string, Location> | null = null;
  for (let i = 0; i < locations.length; i++) {
    const l = locations[i]!;
    if (l.modifier === 'named') (named ??= new Map()).set(l.pattern, l);
  }
  return named;
}

/** Each pending try_files of `locations` (nested ones included) given its named location's handling where it can be. */
function handOn(locations: Location[], named: Map<string, Location>, reached: Set<Location>, r: Reporter): void {
  for (let i = 0; i < locations.length; i++) {
    const l = locations[i]!;
    const tf = pendingTryFiles.get(l);
    if (tf) {
      pendingTryFiles.delete(l);
      const name = tf.args[tf.args.length - 1]!.value.slice(1);
      const target = named.get(name);
      if (target && target.action.kind !== 'static' && !target.dispatch && target.rewrites.every((s) => s.kind === 'return')) {
        l.action = target.action;
        const handed = handedFrom(l);
        // nginx runs this location's access checks, then the named location's: neither is dropped.
        l.policy = handed ? { ...target.policy, handedFrom: handed } : target.policy;
        r.override(tf, 'approximated', `Envoy cannot look for files: every request of ${l.id} goes to @${name} (nginx first serves ${tf.args.slice(0, -1).map((a) => a.value).join(' ')} when such a file exists)${handed ? handedReason(handed, target) : ''}`);
        reached.add(target);
      }
    }
    if (l.children.length > 0) handOn(l.children, named, reached, r);
  }
}

/** Reports each named location: used by a try_files, or reachable only by what is not translated. */
function markNamed(named: Map<string, Location>, reached: Set<Location>, r: Reporter): void {
  for (const l of named.values()) {
    const at = namedDirectives.get(l);
    if (!at) continue;
    if (reached.has(l)) {
      r.mark(at.directive, 'approximated', `named location @${l.pattern}: its handling is used by the locations whose try_files end in it`);
      continue;
    }
    r.mark(at.directive, 'unsupported', `named location @${l.pattern}: reachable only through error_page/try_files/X-Accel-Redirect, which are not translated`);
    const inside = `inside named location @${l.pattern}: never reached in Envoy`;
    for (const c of at.body) r.markTree(c, 'unsupported', inside);
  }
}

/** The access phase nginx runs in `l` before its try_files hands the request on; null when it checks nothing. */
function handedFrom(l: Location): HandedFrom | null {
  const { access, auth, satisfyAny } = l.policy;
  if (!access && !auth) return null;
  return { location: l.id, ...(access ? { access } : {}), ...(auth ? { auth } : {}), ...(satisfyAny ? { satisfyAny } : {}) };
}

/** What the report says of the checks a try_files route keeps: both locations' (and where Envoy cannot check both credentials). */
function handedReason(h: HandedFrom, target: Location): string {
  const gate = bothGates(h.auth, target.policy.auth);
  const closed = gate?.kind === 'closed' && gate !== h.auth && gate !== target.policy.auth ? `; ${gate.closed.reason}` : '';
  return `; the route checks ${h.location}'s allow/deny and credentials as nginx does before try_files, then @${target.pattern}'s${closed}`;
}

/** A named location's directive and body, reported once the server's try_files are resolved. */
export const namedDirectives = runCache<Location, { directive: Directive; body: Directive[] }>();
