// The Envoy API schema the validator walks: a compact, plain-data digest of
// Envoy's own protos (shipped in @grpc/grpc-js-xds/deps) extracted once with
// protobufjs and cached on disk, because parsing ~450 .proto files costs about
// half a second while reading the digest back costs a few milliseconds.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Protobuf from 'protobufjs';

export type Label = 'single' | 'repeated' | 'map';
export type FieldKind = 'scalar' | 'enum' | 'message';

export interface FieldSchema {
  /** proto field name (snake_case) */
  name: string;
  /** proto3 JSON name (lowerCamelCase unless json_name says otherwise) */
  json: string;
  kind: FieldKind;
  /** scalar type name ('uint32', 'string'…) or the full name of an enum/message */
  type: string;
  label: Label;
  /** map key scalar type */
  keyType?: string;
  /** the real (non-synthetic) oneof this field belongs to */
  oneof?: string;
  deprecated?: true;
  /** (envoy.annotations.disallowed_by_default): Envoy rejects it unless a runtime flag allows it */
  disallowed?: true;
  /** (validate.rules) as protobufjs parses it, e.g. {string: {min_len: 1}} */
  rules?: Record<string, unknown>;
}

export interface MessageSchema {
  fields: FieldSchema[];
  /** oneofs carrying `option (validate.required) = true` */
  requiredOneofs?: string[];
  deprecated?: true;
  /** (validate.disabled) / (validate.ignored): no rules for this message */
  rulesDisabled?: true;
}

export interface EnumSchema {
  values: Record<string, number>;
  deprecatedValues?: string[];
}

export interface EnvoySchema {
  messages: Record<string, MessageSchema>;
  enums: Record<string, EnumSchema>;
  /** proto files not loaded because an import they need is not shipped */
  skippedFiles: string[];
}

/** Bump when the digest's shape or extraction changes: it invalidates caches. */
const DIGEST_FORMAT = 5;

const PROTO_DIRS = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'];

/** Well-known types protobufjs bundles itself (it never reads them from disk). */
const BUNDLED = new Set([
  'google/protobuf/any.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/empty.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/field_mask.proto',
]);

const IMPORT_RE = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

interface ProtoTree {
  depsDir: string;
  /** include roots searched in order for an import path */
  includeRoots: string[];
  version: string;
}

function locateProtoTree(): ProtoTree {
  const xdsPkg = require.resolve('@grpc/grpc-js-xds/package.json');
  const pbPkg = require.resolve('protobufjs/package.json');
  const depsDir = path.join(path.dirname(xdsPkg), 'deps');
  const xdsVersion = (JSON.parse(fs.readFileSync(xdsPkg, 'utf8')) as { version: string }).version;
  const pbVersion = (JSON.parse(fs.readFileSync(pbPkg, 'utf8')) as { version: string }).version;
  return {
    depsDir,
    // protobufjs ships google/protobuf/descriptor.proto, which validate.proto imports
    includeRoots: [...PROTO_DIRS.map((d) => path.join(depsDir, d)), path.dirname(pbPkg)],
    version: `${DIGEST_FORMAT}:${xdsVersion}:${pbVersion}`,
  };
}

function listProtos(dir: string, base: string, out: string[]): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) listProtos(full, base, out);
    else if (entry.name.endsWith('.proto')) out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

/**
 * The Envoy and xds API files whose whole import closure is present. The npm
 * package ships a subset of Envoy's tree (v2 files and a few tracers import
 * protos it does not ship); those are left out rather than failing the load.
 */
function loadableFiles(tree: ProtoTree): { files: string[]; skipped: string[]; locate: (rel: string) => string | null } {
  const located = new Map<string, string | null>();
  const locate = (rel: string): string | null => {
    let found = located.get(rel);
    if (found !== undefined) return found;
    found = null;
    for (const root of tree.includeRoots) {
      const candidate = path.join(root, rel);
      if (fs.existsSync(candidate)) {
        found = candidate;
        break;
      }
    }
    located.set(rel, found);
    return found;
  };
  const verdict = new Map<string, boolean>();
  const complete = (rel: string, visiting: Set<string>): boolean => {
    if (BUNDLED.has(rel)) return true;
    const known = verdict.get(rel);
    if (known !== undefined) return known;
    if (visiting.has(rel)) return true; // cycles are judged by their other members
    const file = locate(rel);
    if (file === null) {
      verdict.set(rel, false);
      return false;
    }
    visiting.add(rel);
    const source = fs.readFileSync(file, 'utf8');
    const ok = [...source.matchAll(IMPORT_RE)].every((m) => complete(m[1]!, visiting));
    visiting.delete(rel);
    verdict.set(rel, ok);
    return ok;
  };
  const candidates = [
    ...listProtos(path.join(tree.depsDir, 'envoy-api', 'envoy'), path.join(tree.depsDir, 'envoy-api'), []),
    ...listProtos(path.join(tree.depsDir, 'xds'), path.join(tree.depsDir, 'xds'), []),
  ].sort();
  const files: string[] = [];
  const skipped: string[] = [];
  for (const rel of candidates) (complete(rel, new Set()) ? files : skipped).push(rel);
  return { files, skipped, locate };
}

/** protoc's default JSON name: drop each underscore and upper-case the letter after it. */
export function protoJsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merge protobufjs' parsedOptions entries for one option name into one object. */
function mergeParsedOption(parsed: unknown, optionName: string): Record<string, unknown> | undefined {
  if (!Array.isArray(parsed)) return undefined;
  let merged: Record<string, unknown> | undefined;
  for (const entry of parsed) {
    if (!isPlainObject(entry) || !(optionName in entry)) continue;
    merged = deepMerge(merged ?? {}, entry[optionName] as Record<string, unknown>);
  }
  return merged;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

type PB = typeof Protobuf;
const require = createRequire(import.meta.url);

/** protobufjs is required only on the slow path: the cached digest needs none of it. */
function protobufjs(): PB {
  return require('protobufjs') as PB;
}

/**
 * protobufjs gives a repeated option field (`in`, `not_in`) as a scalar
 * when the proto lists one value: make every such list an array.
 */
function normaliseRules(rules: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rules)) {
    if ((k === 'in' || k === 'not_in') && !Array.isArray(v)) out[k] = [v];
    else out[k] = isPlainObject(v) ? normaliseRules(v) : v;
  }
  return out;
}

function typeName(t: Protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

function fieldSchema(pb: PB, field: Protobuf.Field): FieldSchema {
  const resolved = field.resolvedType;
  const opts = (field.options ?? {}) as Record<string, unknown>;
  const out: FieldSchema = {
    name: field.name,
    json: typeof opts.json_name === 'string' ? opts.json_name : protoJsonName(field.name),
    kind: resolved instanceof pb.Enum ? 'enum' : resolved instanceof pb.Type ? 'message' : 'scalar',
    type: resolved ? typeName(resolved) : field.type,
    label: field.map ? 'map' : field.repeated ? 'repeated' : 'single',
  };
  if (field.map) out.keyType = (field as unknown as Protobuf.MapField).keyType;
  const oneof = field.partOf;
  // proto3 `optional` makes a synthetic oneof of one member: not a real choice
  if (oneof && !(oneof.oneof.length === 1 && oneof.name === `_${field.name}`)) out.oneof = oneof.name;
  if (opts.deprecated === true) out.deprecated = true;
  if (opts['(envoy.annotations.disallowed_by_default)'] === true) out.disallowed = true;
  const rules = mergeParsedOption((field as unknown as { parsedOptions?: unknown }).parsedOptions, '(validate.rules)');
  if (rules && Object.keys(rules).length > 0) out.rules = normaliseRules(rules);
  return out;
}

function messageSchema(pb: PB, type: Protobuf.Type): MessageSchema {
  const out: MessageSchema = { fields: type.fieldsArray.map((f) => fieldSchema(pb, f)) };
  const required = type.oneofsArray
    .filter((o) => (o.options as Record<string, unknown> | undefined)?.['(validate.required)'] === true)
    .map((o) => o.name);
  if (required.length > 0) out.requiredOneofs = required;
  const opts = (type.options ?? {}) as Record<string, unknown>;
  if (opts.deprecated === true) out.deprecated = true;
  if (opts['(validate.disabled)'] === true || opts['(validate.ignored)'] === true) out.rulesDisabled = true;
  return out;
}

function enumSchema(e: Protobuf.Enum): EnumSchema {
  const out: EnumSchema = { values: { ...e.values } };
  const valueOpts = (e as unknown as { valuesOptions?: Record<string, Record<string, unknown>> }).valuesOptions;
  if (valueOpts) {
    const deprecated = Object.keys(valueOpts).filter((k) => valueOpts[k]?.deprecated === true);
    if (deprecated.length > 0) out.deprecatedValues = deprecated.sort();
  }
  return out;
}

function collect(pb: PB, ns: Protobuf.NamespaceBase, schema: EnvoySchema): void {
  for (const child of ns.nestedArray) {
    // google.protobuf: the well-known types have their own JSON forms (walk.ts) and
    // descriptor.proto's shape depends on whether protobufjs has its bundled copy loaded
    if (typeName(child) === 'google.protobuf') continue;
    if (child instanceof pb.Type) schema.messages[typeName(child)] = messageSchema(pb, child);
    else if (child instanceof pb.Enum) schema.enums[typeName(child)] = enumSchema(child);
    if (child instanceof pb.Namespace || child instanceof pb.Type) collect(pb, child, schema);
  }
}

/** Parse the shipped protos with protobufjs and digest them (slow path: ~0.5 s). */
export function buildSchemaFromProtos(tree: ProtoTree = locateProtoTree()): EnvoySchema {
  const { files, skipped, locate } = loadableFiles(tree);
  const pb = protobufjs();
  const root = new pb.Root();
  root.resolvePath = (_origin, target) => locate(target) ?? target;
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  const schema: EnvoySchema = { messages: {}, enums: {}, skippedFiles: skipped };
  collect(pb, root, schema);
  return schema;
}

function cachePath(tree: ProtoTree): string {
  const key = createHash('sha256').update(`${tree.version}:${tree.depsDir}`).digest('hex').slice(0, 16);
  // <project>/node_modules/.cache/ngx2envoy, next to the package the protos come from
  const nodeModules = path.resolve(tree.depsDir, '..', '..', '..');
  return path.join(nodeModules, '.cache', 'ngx2envoy', `envoy-schema-${key}.json`);
}

function readCache(file: string): EnvoySchema | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as EnvoySchema;
    return isPlainObject(parsed.messages) && isPlainObject(parsed.enums) ? parsed : null;
  } catch {
    return null;
  }
}

/** Best effort: an unwritable cache only costs the next run the slow path. */
function writeCache(file: string, schema: EnvoySchema): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(schema));
    fs.renameSync(tmp, file); // atomic: concurrent processes never read half a file
    removeStaleDigests(file);
  } catch {
    /* read-only install: fine */
  }
}

/** Digests of other proto/protobufjs versions are never read again. */
function removeStaleDigests(current: string): void {
  const dir = path.dirname(current);
  for (const name of fs.readdirSync(dir)) {
    if (/^envoy-schema-[0-9a-f]{16}\.json$/.test(name) && name !== path.basename(current)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

let loaded: EnvoySchema | undefined;

export interface SchemaLoadOptions {
  /** read and write the on-disk digest (default true; NGX2ENVOY_SCHEMA_CACHE=0 turns it off) */
  cache?: boolean;
}

/** The schema, loaded once per process on first use. */
export function envoySchema(options: SchemaLoadOptions = {}): EnvoySchema {
  if (loaded) return loaded;
  const useCache = options.cache ?? process.env.NGX2ENVOY_SCHEMA_CACHE !== '0';
  const tree = locateProtoTree();
  const file = cachePath(tree);
  let schema = useCache ? readCache(file) : null;
  if (!schema) {
    schema = buildSchemaFromProtos(tree);
    if (useCache) writeCache(file, schema);
  }
  loaded = schema;
  return schema;
}
