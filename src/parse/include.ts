// Where an `include` points: nginx resolves a relative path against the
// configuration prefix (the main file's directory, or --prefix here), and a
// path holding any of `*?[` is a glob whose matches are read in sorted order;
// a glob that matches nothing is fine, a plain file that is missing is not.
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

export function isGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

export function includePath(arg: string, baseDir: string): string {
  return isAbsolute(arg) ? arg : resolve(baseDir, arg);
}

/** The files a glob matches, sorted as glob(3) sorts them in the C locale (byte order). */
export function expandGlob(pattern: string): string[] {
  const absolute = resolve(pattern);
  const parts = absolute.split(sep).filter((p) => p !== '');
  let paths: string[] = [sep];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of paths) {
      if (!isGlob(part)) {
        next.push(join(dir, part));
        continue;
      }
      const matcher = globComponent(part);
      for (const name of listDir(dir)) if (matcher.test(name)) next.push(join(dir, name));
    }
    paths = next;
  }
  return paths.filter(exists).sort(compareBytes);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One path component of a glob as a RegExp; wildcards never match a leading dot. */
function globComponent(part: string): RegExp {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!;
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const close = part.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = part.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      source += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else if (ch === '\\' && i + 1 < part.length) {
      source += escapeRegExp(part[++i]!);
    } else source += escapeRegExp(ch);
  }
  const leadingDot = part.startsWith('.') ? '' : '(?!\\.)';
  try {
    return new RegExp('^' + leadingDot + source + '$', 's');
  } catch {
    return /(?!)/; // a malformed class (e.g. [z-a]) matches nothing, as glob(3) finds nothing
  }
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
