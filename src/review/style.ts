// Colour for human output: only on a terminal, never when NO_COLOR is set
// (https://no-color.org), never in --json.
export interface Painter {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
}

export function paint(enabled: boolean): Painter {
  const wrap = (code: string) => (s: string) => (enabled && s ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { red: wrap('31'), green: wrap('32'), yellow: wrap('33'), bold: wrap('1') };
}

/** Whether to colour what goes to this stream. */
export function wantColor(stream: NodeJS.WriteStream): boolean {
  const noColor = process.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return stream.isTTY === true;
}
