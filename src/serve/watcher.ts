// Watching the configuration for `serve`: the config file and every file it
// includes, through their directories (fs.watch on a directory survives an
// editor's write-to-temp-and-rename, which replaces the file's inode); any
// change to a watched file name, or to a *.conf file in a watched directory
// (a new file a glob include would pick up), counts.
//
// Timing: a reload starts once the files have been quiet for `quietMs` (a
// short window: an editor's save, `cp`, `mv` are bursts of events within a few
// milliseconds, and the reload is what users wait for). A file that is empty
// or missing when the window ends is most likely being rewritten (`cp` and
// shell redirection truncate first, editors may move the old file away
// first), so the reload waits `graceMs` more for the rest of the write; a
// file still empty then is taken as it is. Every relevant event bumps
// `generation`: a reload that sees it move while it loads was reading files
// being written and must not install what it read (src/serve/index.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Editors' temporaries and backups: never a reason to reload. */
const WATCH_NOISE = /(^\.|~$|\.sw[a-p]$|^4913$|\.tmp$)/;

/** What changed since the last reload: file paths, or null when an event named no file (anything may have changed). */
export type ChangedFiles = ReadonlySet<string> | null;

export interface WatcherOptions {
  /** Quiet window after the last event, ms. */
  quietMs: number;
  /** Extra wait when a changed file is empty or missing at the end of the window, ms. */
  graceMs: number;
  onChange: (changed: ChangedFiles) => void;
  /** Called when the reload is held back because a changed file is empty or missing. */
  onDefer?: () => void;
  log: (line: string) => void;
}

export class ConfigWatcher {
  /** Bumped on every relevant event. */
  generation = 0;
  private watchers = new Map<string, fs.FSWatcher>();
  private names = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private changed: Set<string> | null = new Set();
  private graceTaken = false;
  private quietWaiters: Array<() => void> = [];

  constructor(private readonly options: WatcherOptions) {}

  /** (Re-)arm on the current file list: directories come and go with includes. */
  arm(files: string[]): void {
    const absolute = files.map((f) => path.resolve(f));
    this.names = new Set(absolute);
    const dirs = new Set(absolute.map((f) => path.dirname(f)));
    for (const [dir, watcher] of this.watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, (_event, name) => this.event(dir, name?.toString() ?? null));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch (err) {
        this.options.log(`serve: cannot watch ${dir}: ${(err as Error).message}`);
      }
    }
  }

  /** Resolves once no reload is pending (at once when none is). */
  quiet(): Promise<void> {
    if (!this.timer) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  private event(dir: string, name: string | null): void {
    const full = name === null ? null : path.join(dir, name);
    if (full !== null && name !== null) {
      const relevant = this.names.has(full) || (name.endsWith('.conf') && !WATCH_NOISE.test(name));
      if (!relevant) return;
    }
    this.generation += 1;
    if (full === null) this.changed = null;
    else this.changed?.add(full);
    this.graceTaken = false;
    this.schedule(this.options.quietMs);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    this.timer = null;
    if (!this.graceTaken && this.looksPartlyWritten()) {
      this.graceTaken = true;
      this.schedule(this.options.graceMs);
      this.options.onDefer?.();
      return;
    }
    const changed = this.changed;
    this.changed = new Set();
    this.graceTaken = false;
    this.options.onChange(changed);
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A changed file (or, when unknown, a watched one) is empty or missing. */
  private looksPartlyWritten(): boolean {
    for (const file of this.changed ?? this.names) {
      try {
        if (fs.statSync(file).size === 0) return true;
      } catch {
        return true;
      }
    }
    return false;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/**
 * A content hash of the input files (path and bytes of each; a missing file
 * hashes as missing): an event that changed no byte (a save without edits,
 * `touch`) reloads nothing.
 */
export function hashInputs(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort()) {
    hash.update(file + '\0');
    try {
      const bytes = fs.readFileSync(file);
      hash.update(String(bytes.length) + '\0');
      hash.update(bytes);
    } catch {
      hash.update('missing\0');
    }
  }
  return hash.digest('hex');
}
