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

/** A place of a server that answers with its own settings: the server level or a location. */
interface Place {
  choice: ServerChoice;
  at: Src;
  where: string;
}

// A level's commands are read once: servers are emitted on each of their listeners, and most
// locations have no headers-more commands at all (their choice is the default, no object made).
const choices = new WeakMap<MoreHeaders, ServerChoice>();

function choiceOf(m: MoreHeaders | undefined): ServerChoice {
  if (!m) return DEFAULT;
  let c = choices.get(m);
  if (c === undefined) choices.set(m, (c = serverChoiceOf(m)));
  return c;
}

/** Calls `visit` for every place of a server that answers with its own settings: the server level and each location. */
function eachPlace(server: VirtualServer, visit: (choice: ServerChoice, place: Location | VirtualServer) => void): void {
  visit(choiceOf(server.edge?.moreHeaders), server);
  const walk = (locs: Location[]): void => {
    for (const l of locs) {
      visit(choiceOf(l.policy.moreHeaders), l);
      walk(l.children);
    }
  };
  walk(server.locations);
}

/** Adds a place's choice to `distinct` (by key, in order of first appearance). */
function addChoice(distinct: Map<string, ServerChoice>, choice: ServerChoice): void {
  const k = choice === DEFAULT ? 'default' : keyOf(choice);
  if (!distinct.has(k)) distinct.set(k, choice);
}

// Plain recursion, no visitor closure: this runs for every location of every listener.
function addLocationChoices(distinct: Map<string, ServerChoice>, locs: Location[]): void {
  for (let i = 0; i < locs.length; i++) {
    const l = locs[i]!;
    addChoice(distinct, choiceOf(l.policy.moreHeaders));
    addLocationChoices(distinct, l.children);
  }
}

/** Set the connection manager's Server handling for listener `l` (nothing when no server or location on it changes Server). */
export function applyServerHeader(hcm: Json, l: Listener, scope: ListenerScope): void {
  // the distinct choices, in order of first appearance: mostly the default alone, found without a list of every place
  const distinct = new Map<string, ServerChoice>();
  for (const id of l.serverIds) {
    const server = scope.servers.get(id)!;
    addChoice(distinct, choiceOf(server.edge?.moreHeaders));
    addLocationChoices(distinct, server.locations);
  }
  if (distinct.size === 1 && distinct.has('default')) return;
  const chosen = distinct.size === 1 ? [...distinct.values()][0]! : serverChoiceOf(scope.servers.get(l.defaultServerId)!.edge?.moreHeaders);
  if (distinct.size > 1) {
    const others: Place[] = [];
    const chosenKey = keyOf(chosen);
    for (const id of l.serverIds) {
      eachPlace(scope.servers.get(id)!, (choice, place) => {
        if (keyOf(choice) !== chosenKey) others.push({ choice, at: place.source, where: place.id });
      });
    }
    const list = others.map((c) => `${c.where} (${describe(c.choice)})`).join(', ');
    scope.em.noteOnce(`server-header:${l.name}`, others[0]!.at, 'more_set_headers', 'approximated', `Server header on ${l.address}:${l.port}: Envoy has one per listener, the default server's ${describe(chosen)} is sent; nginx sends another in ${list}`);
  }
  if (chosen.kind === 'set') hcm.server_name = chosen.value;
  else if (chosen.kind === 'clear') {
    hcm.server_header_transformation = 'PASS_THROUGH';
    hcm.route_config.response_headers_to_remove = ['server'];
  }
}
