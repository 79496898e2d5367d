// Envoy's protos, loaded once with protobufjs from the copy shipped in
// @grpc/grpc-js-xds (deps/envoy-api, xds, protoc-gen-validate, googleapis).
// Every envoy/**.proto whose imports resolve is loaded, so any `@type` an
// emitter writes into a typed_config can be encoded into a real Any.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** The directory holding Envoy's proto trees (deps/ of @grpc/grpc-js-xds). */
export function envoyProtoDepsDir(): string {
  const pkg = require.resolve('@grpc/grpc-js-xds/package.json');
  return path.join(path.dirname(pkg), 'deps');
}

/** Include directories, in lookup order, for Envoy's protos and their imports. */
export function protoIncludeDirs(): string[] {
  const deps = envoyProtoDepsDir();
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  return [
    path.join(deps, 'envoy-api'),
    path.join(deps, 'xds'),
    path.join(deps, 'protoc-gen-validate'),
    path.join(deps, 'googleapis'),
    protobufjsDir, // google/protobuf/descriptor.proto
  ];
}

function listProtos(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listProtos(full));
    else if (entry.name.endsWith('.proto')) out.push(full);
  }
  return out;
}

function resolveImport(includeDirs: string[], rel: string): string | null {
  for (const dir of includeDirs) {
    const full = path.join(dir, rel);
    if (fs.existsSync(full)) return full;
  }
  return null;
}

/** True when `rel` and everything it imports can be found (the deps tree omits some v2 files). */
function makeLoadableCheck(includeDirs: string[]): (rel: string) => boolean {
  const known = new Map<string, boolean>();
  const check = (rel: string): boolean => {
    const cached = known.get(rel);
    if (cached !== undefined) return cached;
    if (protobuf.common.get(rel)) return known.set(rel, true), true;
    const full = resolveImport(includeDirs, rel);
    known.set(rel, full !== null); // provisional, breaks import cycles
    if (!full) return false;
    const text = fs.readFileSync(full, 'utf8');
    for (const m of text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)"/gm)) {
      if (!check(m[1]!)) return known.set(rel, false), false;
    }
    return true;
  };
  return check;
}

let cachedRoot: protobuf.Root | null = null;

/** The protobufjs Root with every loadable Envoy v3 proto (field names kept snake_case). */
export function envoyRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const includeDirs = protoIncludeDirs();
  const envoyApi = includeDirs[0]!;
  const loadable = makeLoadableCheck(includeDirs);
  const files = listProtos(path.join(envoyApi, 'envoy'))
    .map((f) => path.relative(envoyApi, f).split(path.sep).join('/'))
    .filter((rel) => !/\/v2(alpha\d*)?\//.test(rel) && !rel.startsWith('envoy/api/v2'))
    .sort()
    .filter(loadable);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    path.isAbsolute(target) ? target : (resolveImport(includeDirs, target) ?? target);
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

const typesByName = new Map<string, protobuf.Type>();

/** Look up a message type by full name or type URL (memoised: protobufjs searches the namespace tree each time). */
export function lookupMessage(nameOrUrl: string): protobuf.Type {
  let type = typesByName.get(nameOrUrl);
  if (!type) {
    const name = nameOrUrl.startsWith(TYPE_URL_PREFIX) ? nameOrUrl.slice(TYPE_URL_PREFIX.length) : nameOrUrl;
    type = envoyRoot().lookupType(name);
    typesByName.set(nameOrUrl, type);
  }
  return type;
}
