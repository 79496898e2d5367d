// Shared state of one emission: report notes raised while emitting, and the
// `# nginx: file:line` comment attached to each listener, route and cluster.
import type { ReportClass, ReportEntry, Src } from '../../ir/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export class Emission {
  readonly notes: ReportEntry[] = [];
  /** Object (listener, route, cluster) → comment text shown above it in YAML. */
  readonly comments = new Map<object, string>();
  private readonly once = new Set<string>();

  note(at: Src, directive: string, cls: ReportClass, reason: string): void {
    this.notes.push({ file: at.file, line: at.line, col: at.col, directive, class: cls, reason });
  }

  noteOnce(key: string, at: Src, directive: string, cls: ReportClass, reason: string): void {
    if (this.once.has(key)) return;
    this.once.add(key);
    this.note(at, directive, cls, reason);
  }

  comment(obj: object, at: Src): void {
    // Many routes come from one directive (a location and its guarded copies): one text each.
    let text = this.sourceText.get(at);
    if (text === undefined) this.sourceText.set(at, (text = ` nginx: ${at.file}:${at.line}`));
    this.comments.set(obj, text);
  }

  /** The comment of an object made from several directives (a listener of several `listen`s): a method of its own, kept out of comment, which is hot. */
  commentList(obj: object, at: Src[]): void {
    this.comments.set(obj, ' nginx: ' + at.map((s) => `${s.file}:${s.line}`).join(', '));
  }

  /** `to` replaces `from` in the output (a compacted copy): it takes over its comment. */
  moveComment(from: object, to: object): void {
    const text = this.comments.get(from);
    if (text === undefined) return;
    this.comments.delete(from);
    this.comments.set(to, text);
  }

  // (a Map: it lives as long as this emission only, and a WeakMap costs the collector more)
  private readonly sourceText = new Map<Src, string>();
}
