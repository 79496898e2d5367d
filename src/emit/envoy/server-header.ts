// The Server response header. Envoy's connection manager writes it after the
// routes' header lists (server_header_transformation OVERWRITE, the default: its
// server_name, "envoy" unless set), so headers-more's `more_set_headers "Server: X"`
// and `more_clear_headers Server` become connection manager settings: server_name X,
// or PASS_THROUGH with `server` removed from every response of the route
// configuration (nginx never passes the upstream's Server on). That is one choice
// per listener where nginx has one per location: exact where every server and
// location on the listener makes the same one, reported otherwise.
import type { Listener, Location, MoreHeaders, Src, VirtualServer } from '../../ir/types.js';
import { netMoreOps } from '../../lower/more-headers.js';
import type { Json } from './context.js';
import type { ListenerScope } from './listeners.js';

/** What a level's commands do to Server: nothing (Envoy's default), set it to a text, or clear it. */
export type ServerChoice = { kind: 'default' } | { kind: 'set'; value: string } | { kind: 'clear' };

const DEFAULT: ServerChoice = { kind: 'default' };

export function serverChoiceOf(m: MoreHeaders | undefined): ServerChoice {
  if (!m) return DEFAULT;
  const op = netMoreOps(m.output, 'output').find((o) => o.name.toLowerCase() === 'server');
  if (!op) return DEFAULT;
  if (op.kind === 'clear') return { kind: 'clear' };
  return { kind: 'set', value: op.value.raw }; // literal: a value with variables is not translatable
}

function describe(c: ServerChoice): string {
  return c.kind === 'default' ? 'Envoy\'s own (`server: envoy`)' : c.kind === 'clear' ? 'none' : `\`${c.value}\``;
}

function keyOf(c: ServerChoice): string {
  return c.kind === 'set' ? `set:${c.value}` : c.kind;
}

/** Every place of a server that answers with its own settings: the server level and each location. */
function choicesOf(server: VirtualServer): { choice: ServerChoice; at: Src; where: string }[] {
  const out = [{ choice: serverChoiceOf(server.edge?.moreHeaders), at: server.source, where: server.id }];
  const walk = (locs: Location[]): void => {
    for (const l of locs) {
      out.push({ choice: serverChoiceOf(l.policy.moreHeaders), at: l.source, where: l.id });
      walk(l.children);
    }
  };
  walk(server.locations);
  return out;
}

/** Set the connection manager's Server handling for listener `l` (nothing when no server or location on it changes Server). */
export function applyServerHeader(hcm: Json, l: Listener, scope: ListenerScope): void {
  const all = l.serverIds.flatMap((id) => choicesOf(scope.servers.get(id)!));
  const distinct = new Map(all.map((c) => [keyOf(c.choice), c.choice]));
  if (distinct.size === 1 && distinct.has('default')) return;
  const chosen = distinct.size === 1 ? [...distinct.values()][0]! : serverChoiceOf(scope.servers.get(l.defaultServerId)!.edge?.moreHeaders);
  if (distinct.size > 1) {
    const others = all.filter((c) => keyOf(c.choice) !== keyOf(chosen));
    const list = others.map((c) => `${c.where} (${describe(c.choice)})`).join(', ');
    scope.em.noteOnce(`server-header:${l.name}`, others[0]!.at, 'more_set_headers', 'approximated', `Server header on ${l.address}:${l.port}: Envoy has one per listener, the default server's ${describe(chosen)} is sent; nginx sends another in ${list}`);
  }
  if (chosen.kind === 'set') hcm.server_name = chosen.value;
  else if (chosen.kind === 'clear') {
    hcm.server_header_transformation = 'PASS_THROUGH';
    hcm.route_config.response_headers_to_remove = ['server'];
  }
}
