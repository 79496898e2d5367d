// Reading a directive's arguments without building them. A parsed directive's
// `args` makes a fresh array of fresh Arg views at each read (nodes.ts); a
// reader that wants only values or the count, in a hot loop, asks for those.
// Plain Directive objects (built by tests or tools) are read through `args`.
import type { Directive } from './ast.js';
import { DirectiveNode } from './nodes.js';

/** `d.args.length`. */
export function argCount(d: Directive): number {
  return d instanceof DirectiveNode ? d.argCount : d.args.length;
}

/** `d.args[i]?.value`. */
export function argValue(d: Directive, i: number): string | undefined {
  return d instanceof DirectiveNode ? d.argValue(i) : d.args[i]?.value;
}

/** `d.args.map((a) => a.value)`: a fresh array of the values only. */
export function argValues(d: Directive): string[] {
  if (!(d instanceof DirectiveNode)) return d.args.map((a) => a.value);
  const count = d.argCount;
  const values = new Array<string>(count);
  for (let i = 0; i < count; i++) values[i] = d.argValue(i)!;
  return values;
}
