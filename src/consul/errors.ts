// Consul's refusals as one line. Consul answers errors in plain text; the npm
// client keeps only bodies under 80 characters as the message and otherwise
// says `forbidden` / `not found`, leaving the text in err.response.body.

export class ConsulRequestError extends Error {
  constructor(
    readonly status: number | null,
    readonly operation: string,
    readonly consulMessage: string,
  ) {
    super(status === null ? `${operation}: ${consulMessage}` : `${operation} refused (${status}): ${consulMessage}`);
  }
}

interface ClientErrorShape {
  message?: string;
  code?: string;
  isResponse?: boolean;
  response?: { statusCode?: number; body?: unknown };
  cause?: unknown;
}

/** Turns anything thrown by the npm client or a plain request into a ConsulRequestError. */
export function toConsulError(err: unknown, operation: string): ConsulRequestError {
  if (err instanceof ConsulRequestError) return err;
  const e = (err ?? {}) as ClientErrorShape;
  if (e.response && typeof e.response.statusCode === 'number') {
    return new ConsulRequestError(e.response.statusCode, operation, bodyText(e.response.body) || e.message || 'error');
  }
  return new ConsulRequestError(null, operation, networkMessage(e));
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body);
  return oneLine(text);
}

function networkMessage(e: ClientErrorShape): string {
  const cause = e.cause as ClientErrorShape | undefined;
  const code = e.code ?? cause?.code;
  const message = oneLine(String(e.message ?? cause?.message ?? e));
  return code && !message.includes(code) ? `${message} (${code})` : message || 'request failed';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
