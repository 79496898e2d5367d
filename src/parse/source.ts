// Reading a configuration file: bytes → text, with the problems nginx would not
// notice but that must not pass silently here.
//
// nginx reads bytes. This project works on text, so a file is decoded as UTF-8.
// Invalid UTF-8 is reported as an error at the first bad byte of each line
// (the bytes become U+FFFD so the rest of the file still parses and reports).
// A NUL byte is reported as an error at its position, the first of each line
// (nginx would keep it in a word, where C code later stops reading); the parse
// goes on, treating it as an ordinary character as nginx does.
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { Diagnostic, SourcePos } from './ast.js';

export type ReadResult = { ok: true; text: string; errors: Diagnostic[] } | { ok: false; error: Diagnostic };

/** errno names → nginx's `(N: strerror)` text for the failures a config read can meet. */
const ERRNO: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  ENAMETOOLONG: [36, 'File name too long'],
  EMFILE: [24, 'Too many open files'],
};

/** nginx's wording for a failed open/read, e.g. `open() "x" failed (2: No such file or directory)`. */
export function ioMessage(err: unknown, path: string): { message: string; code: string } {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'EIO';
  const known = ERRNO[code];
  const reason = known ? `${known[0]}: ${known[1]}` : `${code}`;
  // nginx opens a directory fine and fails on the read that follows.
  const call = code === 'EISDIR' ? 'pread()' : 'open()';
  return { message: `${call} "${path}" failed (${reason})`, code: code === 'ENOENT' ? 'file-not-found' : 'file-unreadable' };
}

/** Reads `path`; a failure becomes a Diagnostic placed at `at` (an include's position) or the file's start. */
export function readConfigFile(path: string, displayPath: string, at?: SourcePos): ReadResult {
  try {
    // Read as text directly: no copy of the bytes stays alive beside the text
    // while a large file is parsed. Only a file whose text holds U+FFFD (the
    // decoder's replacement for invalid UTF-8, or one written as such) is read
    // again as bytes, to find and report the invalid sequences.
    const text = readFileSync(path, 'utf8');
    return text.includes('\uFFFD') ? decodeConfig(readFileSync(path), displayPath) : { ok: true, text, errors: nulBytes(text, displayPath) };
  } catch (err) {
    const { message, code } = ioMessage(err, displayPath);
    return { ok: false, error: { severity: 'error', message, code, source: at ?? { file: displayPath, line: 1, col: 1 } } };
  }
}

/** Decodes bytes as UTF-8, reporting invalid sequences and NUL bytes with their line:col. */
export function decodeConfig(bytes: Uint8Array, file: string): { ok: true; text: string; errors: Diagnostic[] } {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const errors = isUtf8(bytes) ? [] : invalidUtf8(bytes, file);
  return { ok: true, text, errors: [...errors, ...nulBytes(text, file)] };
}

/** NUL characters of text, as errors at their position: the first of each line (one pass). */
export function nulBytes(text: string, file: string): Diagnostic[] {
  const errors: Diagnostic[] = [];
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\0'); i >= 0; i = text.indexOf('\0', i + 1)) {
    for (let nl = text.indexOf('\n', lineStart); nl >= 0 && nl < i; nl = text.indexOf('\n', nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    const col = Array.from(text.slice(lineStart, i)).length + 1;
    errors.push({ severity: 'error', message: 'unexpected NUL byte', code: 'nul-byte', source: { file, line, col } });
    const endOfLine = text.indexOf('\n', i);
    i = endOfLine < 0 ? text.length : endOfLine; // the rest of this line is not reported again
  }
  return errors;
}

/** One error per line holding invalid UTF-8, at its first bad byte. */
function invalidUtf8(bytes: Uint8Array, file: string): Diagnostic[] {
  const errors: Diagnostic[] = [];
  let line = 1;
  let lineStart = 0;
  let reportedLine = 0;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b === 0x0a) {
      line++;
      lineStart = i + 1;
      i++;
      continue;
    }
    const size = sequenceLength(bytes, i);
    if (size > 0) {
      i += size;
      continue;
    }
    if (reportedLine !== line) {
      reportedLine = line;
      const col = Array.from(Buffer.from(bytes.subarray(lineStart, i)).toString("utf8")).length + 1;
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      errors.push({
        severity: 'error',
        message: `invalid UTF-8 byte 0x${hex}`,
        code: 'invalid-utf8',
        source: { file, line, col },
      });
    }
    i++;
  }
  return errors;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 when it is invalid. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const size = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (size === 0 || i + size > bytes.length) return 0;
  for (let k = 1; k < size; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  const second = bytes[i + 1]!;
  if (b === 0xe0 && second < 0xa0) return 0; // overlong
  if (b === 0xed && second > 0x9f) return 0; // surrogates
  if (b === 0xf0 && second < 0x90) return 0; // overlong
  if (b === 0xf4 && second > 0x8f) return 0; // beyond U+10FFFF
  return size;
}
