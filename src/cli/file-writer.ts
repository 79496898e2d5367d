// `convert -o DIR` writes its files on a worker thread while the main thread renders the
// next ones. Creating the ~4,000 Consul files of the benchmark is the kernel's work (ext4
// inode and directory updates: 0.2 s to 2 s of system time depending on the disk's load);
// on a thread of its own it overlaps the rendering of envoy.yaml and the reports instead of
// following it. Files are handed over as soon as each is rendered, so nothing is written
// before validation has passed (convert renders nothing before that).
//
// The worker's program is plain JavaScript in a string (`eval: true`): it then runs the same
// from dist/ and from the TypeScript sources under the test runner, which has no .js file to
// point a worker at. It writes exactly as writeInPlace below does.
import { Worker } from 'node:worker_threads';
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A file of `-o DIR`. `bytes`, when present, is its UTF-8 text as built (written as is);
 * `blocks`, when present instead, is the same in pieces written one after the other.
 */
export interface OutputFile {
  path: string;
  text: string;
  bytes?: Uint8Array;
  /**
   * Each a view at the start of memory no other view uses (the YAML writer's blocks): the
   * file writer moves that memory to its thread, the caller must not read them afterwards.
   */
  blocks?: Uint8Array[];
}

/**
 * Writes `bytes` as the whole content of `path`: over the old content, then cut to length if
 * the old content was longer. Not writeFileSync: its O_TRUNC first empties the file, and
 * emptying thousands of existing files (the Consul ones on every re-run) cost ext4 about 7
 * times the CPU of the writes. Not an ftruncate every time either: on ext4 it costs about as
 * much as the write even when the size does not change (a new file), fstat a fraction of it.
 */
export function writeInPlace(path: string, bytes: Uint8Array | Uint8Array[] | string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o666);
  try {
    const oldSize = fstatSync(fd).size;
    const size = typeof bytes === 'string' ? writeText(fd, bytes) : writeParts(fd, Array.isArray(bytes) ? bytes : [bytes]);
    if (oldSize > size) ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

function writeParts(fd: number, parts: Uint8Array[]): number {
  let size = 0;
  for (const part of parts) {
    for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, part.length - at, size + at);
    size += part.length;
  }
  return size;
}

/**
 * A text written as UTF-8 from the string: encoded by the write itself, no Buffer made per
 * file (most of the 4,000 Consul files are over half Node's buffer pool: an ArrayBuffer
 * each). A short write (a full disk) is completed from the bytes. Returns the size written.
 */
function writeText(fd: number, text: string): number {
  let size = writeSync(fd, text, 0, 'utf8');
  const length = Buffer.byteLength(text, 'utf8');
  if (size < length) {
    const bytes = Buffer.from(text, 'utf8');
    while (size < length) size += writeSync(fd, bytes, size, length - size, size);
  }
  return size;
}

/** Each directory is created once (4,000 Consul files share two), then each file written once. */
export function writeOutputFiles(files: OutputFile[]): void {
  const made = new Set<string>();
  for (const f of files) {
    const dir = dirname(f.path);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeInPlace(f.path, f.blocks ?? f.bytes ?? f.text);
  }
}

/** What the worker gets per file: the text (encoded there), the bytes or their blocks. */
interface FileMessage {
  path: string;
  text?: string;
  bytes?: Uint8Array;
  blocks?: Uint8Array[];
}

/** Files the writer thread makes itself (see FileWriter.render). */
export interface RenderJob {
  module: string;
  fn: string;
  args: unknown[];
  /** Made now, written only once `release` is called (not at all if it never is). */
  hold?: boolean;
}

/** The worker's answer once told the files are all sent: none failed, or the first failure. */
interface WriterResult {
  error?: { message: string; code?: string; syscall?: string; path?: string };
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const made = new Set();
let failure = null;
// Files of render jobs made ahead, written when released (never, if the command fails first).
let held = [];
function writeInPlace(file, content) {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o666);
  try {
    const oldSize = fs.fstatSync(fd).size;
    const size = typeof content === 'string' ? writeText(fd, content) : writeParts(fd, content);
    if (oldSize > size) fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}
function writeParts(fd, parts) {
  let size = 0;
  for (const part of parts) {
    for (let at = 0; at < part.length; ) at += fs.writeSync(fd, part, at, part.length - at, size + at);
    size += part.length;
  }
  return size;
}
function writeText(fd, text) {
  let size = fs.writeSync(fd, text, 0, 'utf8');
  const length = Buffer.byteLength(text, 'utf8');
  if (size < length) {
    const bytes = Buffer.from(text, 'utf8');
    while (size < length) size += fs.writeSync(fd, bytes, size, length - size, size);
  }
  return size;
}
// Messages are handled one after the other, in order: a render job imports its module first.
let queue = Promise.resolve();
parentPort.on('message', (message) => {
  queue = queue.then(() => handle(message));
});
async function handle(message) {
  if (typeof message === 'string') {
    // DIR first, as the synchronous writer's first file (DIR/envoy.yaml) made it: the same first error
    try {
      fs.mkdirSync(message, { recursive: true });
      made.add(message);
    } catch (e) {
      failure = errorOf(e);
    }
    return;
  }
  if (message === null) {
    parentPort.postMessage(failure === null ? {} : { error: failure });
    parentPort.close();
    return;
  }
  if (Array.isArray(message)) return writeFiles(message);
  if (message.release === true) {
    const files = held;
    held = [];
    return writeFiles(files);
  }
  // A render job: the files are made here, from data, by a function of the compiled code.
  if (failure !== null) return;
  let files;
  try {
    const module = await import(message.module);
    files = module[message.fn](...message.args);
  } catch (e) {
    failure = { message: 'rendering ' + message.fn + ': ' + String(e && e.message) };
    return;
  }
  if (message.hold === true) held.push(...files);
  else writeFiles(files);
}
function writeFiles(files) {
  for (const f of files) {
    if (failure !== null) return; // as the synchronous writer: nothing after the first failure
    try {
      const dir = path.dirname(f.path);
      if (!made.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      writeInPlace(f.path, f.blocks !== undefined ? f.blocks : f.bytes !== undefined ? [f.bytes] : f.text);
    } catch (e) {
      failure = errorOf(e);
    }
  }
}
function errorOf(e) {
  return { message: String(e && e.message), code: e && e.code, syscall: e && e.syscall, path: e && e.path };
}
`;

/**
 * The files of one `convert -o`, written on a worker thread in the order given. `close`
 * resolves once every file is written, or rejects with the first write's error (the
 * message the synchronous write would have thrown).
 */
export class FileWriter {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private readonly result: Promise<void>;
  /** Created before the first file (null once asked for). */
  private dir: string | null;

  /** `dir`: the directory the files go to (convert's DIR), created before the first of them. */
  constructor(dir: string) {
    this.dir = dir;
    this.result = new Promise<void>((resolve, reject) => {
      this.worker.once('message', (r: WriterResult) => (r.error ? reject(writeError(r.error)) : resolve()));
      this.worker.once('error', reject);
      // Exiting before answering is a failure (the answer, when given, settles first).
      this.worker.once('exit', (code) => reject(new Error(`the file writer thread stopped (exit ${code})`)));
    });
    // Settled by close or abort; a rejection nobody awaits (abort) must not be reported as unhandled.
    this.result.catch(() => undefined);
  }

  /**
   * Hands files over. Bytes that own their whole memory (large buffers), and blocks, are
   * moved, not copied: the caller must not read them afterwards. Texts are encoded on the worker.
   */
  write(files: OutputFile[]): void {
    if (this.dir !== null) {
      this.worker.postMessage(this.dir);
      this.dir = null;
    }
    const batch: FileMessage[] = [];
    const moved: ArrayBuffer[] = [];
    for (const f of files) {
      const b = f.bytes;
      if (f.blocks !== undefined) {
        batch.push({ path: f.path, blocks: f.blocks });
        for (const block of f.blocks) if (isBlockOfItsOwn(block) && !moved.includes(block.buffer)) moved.push(block.buffer);
      } else if (b === undefined) batch.push({ path: f.path, text: f.text });
      else {
        batch.push({ path: f.path, bytes: b });
        if (ownsItsMemory(b)) moved.push(b.buffer as ArrayBuffer);
      }
    }
    this.worker.postMessage(batch, moved);
  }

  /**
   * Hands over files the worker makes itself: `job.fn` of the ES module at `job.module` (a
   * file: URL of compiled JavaScript), called with `job.args`, returns them ({path, text or
   * bytes}); they are written in their turn among the others (held: see RenderJob). `transfer`: buffers of the
   * arguments to move rather than copy. A failure of the function fails `close`.
   */
  render(job: RenderJob, transfer: ArrayBuffer[] = []): void {
    if (this.dir !== null) {
      this.worker.postMessage(this.dir);
      this.dir = null;
    }
    this.worker.postMessage(job, transfer);
  }

  /** Writes the files of the render jobs held so far (in their turn among the others). */
  release(): void {
    this.worker.postMessage({ release: true });
  }

  /** Tells the worker that every file has been handed over, and waits until they are written. */
  close(): Promise<void> {
    this.worker.postMessage(null);
    return this.result;
  }

  /** Stops the worker (the command failed before its files were complete); resolves once it has stopped. */
  async abort(): Promise<void> {
    await this.worker.terminate();
  }
}

/** A buffer that is its whole ArrayBuffer (not a slice of Node's shared pool) can be transferred. */
function ownsItsMemory(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
}

/**
 * A block (see OutputFile.blocks) larger than Node's buffer pool: moved. A smaller one may be
 * a slice of the pool (Buffer.from of a short text): copied, which costs little.
 */
function isBlockOfItsOwn(b: Uint8Array): b is Uint8Array & { buffer: ArrayBuffer } {
  return b.byteOffset === 0 && b.buffer instanceof ArrayBuffer && b.buffer.byteLength > Buffer.poolSize;
}

function writeError(e: NonNullable<WriterResult['error']>): Error {
  return Object.assign(new Error(e.message), { code: e.code, syscall: e.syscall, path: e.path });
}
