// Compiling a file for review: the compiler's result, or the diagnostics exactly
// as `convert` prints them (the review commands answer bad input with exit 2).
import { compile, type CompileResult } from '../compile.js';
import { runConvert } from '../cli/convert.js';

export interface ReviewCompileOptions {
  context?: string;
  prefix?: string;
}

export type Compiled = { ok: true; result: CompileResult } | { ok: false; stderr: string };

export async function compileForReview(file: string, opts: ReviewCompileOptions): Promise<Compiled> {
  const result = compile(file, { context: opts.context, prefix: opts.prefix });
  if (result.ok && result.bootstrap && result.ir) return { ok: true, result };
  // convert's own rendering of the diagnostics (caret lines included).
  const converted = await runConvert(file, { context: opts.context, prefix: opts.prefix });
  return { ok: false, stderr: converted.stderr };
}
