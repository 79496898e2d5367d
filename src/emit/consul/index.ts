// `convert -o DIR` writes DIR/consul/:
//   agent/<service>.json    {"services": [...]}: one file per Consul service, for an agent's -config-dir
//   catalog/<service>.json  [catalog register bodies]: for backends that run no agent
//   names.json              upstream → service name mapping, and the servers not registered (why)
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { CompiledConfig, ReportEntry } from '../../ir/types.js';
import { agentDefinitionFile, catalogRegisterPayload } from './formats.js';
import { buildRegistrations, registeredServiceNames, registrationsOf, type ConsulBackends, type ConsulEmitOptions, type ConsulRegistrations } from './registrations.js';

export * from './registrations.js';
export * from './formats.js';
export { dnsLabel, externalNodeName, serviceNamesFor } from './names.js';

export interface ConsulOutputs {
  /** Paths written, relative to DIR, sorted. */
  files: string[];
  registrations: ConsulRegistrations;
  /** One entry per server that is not registered (unix socket, down), for the report. */
  notes: ReportEntry[];
}

/** File name → content, for DIR/consul/ (plain data; writing is separate). */
export function renderConsulFiles(registrations: ConsulRegistrations): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, render] of consulFileRenderers(registrations)) files.set(name, render());
  return files;
}

/** File name → what renders its content. */
function consulFileRenderers(registrations: ConsulRegistrations): Map<string, () => string> {
  const files = new Map<string, () => string>();
  for (const service of registrations.services) {
    if (service.instances.length === 0) continue;
    files.set(`agent/${service.name}.json`, () => json(agentDefinitionFile(service)));
    files.set(`catalog/${service.name}.json`, () => json(service.instances.map(catalogRegisterPayload)));
  }
  files.set('names.json', () => json(namesDocument(registrations)));
  return files;
}

function namesDocument(registrations: ConsulRegistrations): unknown {
  return {
    config: registrations.configId,
    services: registrations.services.map((s) => ({
      upstream: s.upstream,
      kind: s.kind,
      service: s.name,
      source: `${s.source.file}:${s.source.line}`,
      instances: s.instances.map((i) => i.id),
    })),
    not_registered: registrations.skipped.map((s) => ({
      upstream: s.upstream,
      server: s.server,
      reason: s.reason,
      source: `${s.source.file}:${s.source.line}`,
    })),
  };
}

export function consulNotes(registrations: ConsulRegistrations): ReportEntry[] {
  return registrations.skipped.map((s) => ({
    file: s.source.file,
    line: s.source.line,
    col: s.source.col,
    directive: 'server',
    class: 'approximated' as const,
    reason: `Consul: ${s.server} of ${s.upstream} ${s.reason}`,
  }));
}

/** DIR/consul/ as {path, text} (for a caller that writes files itself; writeConsulOutputs also removes stale ones). */
export function consulOutputFiles(ir: CompiledConfig, dir: string, options: ConsulEmitOptions = {}): { path: string; text: string }[] {
  return renderConsulFilesUnder(join(dir, 'consul'), buildRegistrations(ir, options));
}

/**
 * The files of consul/ under `root`, sorted by name. Each text is rendered when it is read,
 * and again at each read: a writer renders, writes and drops them one at a time, so that no
 * text outlives its write (16 MB of them on the benchmark, which the GC would otherwise copy
 * to the old generation while the rest are rendered).
 */
export function renderConsulFilesUnder(root: string, registrations: ConsulRegistrations): { path: string; text: string }[] {
  const renderers = consulFileRenderers(registrations);
  const under = pathsUnder(root);
  return [...renderers.keys()].sort().map((f) => renderedWhenRead(under(f), renderers.get(f)!));
}

function renderedWhenRead(path: string, render: () => string): { path: string; text: string } {
  return {
    path,
    get text(): string {
      return render();
    },
  };
}

/**
 * join(root, name) for the names renderConsulFiles gives (plain segments: DNS labels, no `.`
 * or `..`), with `root` normalised once instead of once per file (4,000 on the benchmark).
 */
function pathsUnder(root: string): (name: string) => string {
  // (a name of plain segments lands where a one-letter one does)
  const prefix = join(root, 'x').slice(0, -1);
  return (name) => prefix + (sep === '/' ? name : name.split('/').join(sep));
}

/** consul/'s files under `root`, from the backends (what convert's writer thread is handed). */
export function renderConsulFilesOf(root: string, backends: ConsulBackends): { path: string; text: string }[] {
  return renderConsulFilesUnder(root, registrationsOf(backends));
}

/** The paths of consulFileNames under `root`, as join(root, name) gives them. */
export function consulFilePaths(root: string, backends: ConsulBackends): string[] {
  return consulFileNames(backends).map(pathsUnder(root));
}

/** The names renderConsulFiles gives its files (relative to consul/), sorted, without making them. */
export function consulFileNames(backends: ConsulBackends): string[] {
  const names = ['names.json'];
  for (const service of registeredServiceNames(backends)) names.push(`agent/${service}.json`, `catalog/${service}.json`);
  return names.sort();
}

export function writeConsulOutputs(ir: CompiledConfig, dir: string, options: ConsulEmitOptions = {}): ConsulOutputs {
  const registrations = buildRegistrations(ir, options);
  const rendered = renderConsulFiles(registrations);
  const root = join(dir, 'consul');
  // A service removed from nginx.conf must not leave its old definition behind for the agent to load.
  for (const sub of ['agent', 'catalog']) {
    mkdirSync(join(root, sub), { recursive: true });
    for (const name of readdirSync(join(root, sub))) {
      if (name.endsWith('.json')) rmSync(join(root, sub, name));
    }
  }
  const files = [...rendered.keys()].sort();
  for (const file of files) writeFileSync(join(root, file), rendered.get(file)!);
  return { files: files.map((f) => `consul/${f}`), registrations, notes: consulNotes(registrations) };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
