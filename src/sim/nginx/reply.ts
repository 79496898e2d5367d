// What nginx sends when it answers a request itself (checked with nginx 1.22):
// - `return CODE "text"`: the text, as default_type (text/plain unless default_type says
//   otherwise, which the IR does not keep: noted); error_page does not apply to it;
// - `return CODE;`, a redirect, its own errors (a deny's 403, a 413, 502/504 for a failed
//   upstream, 404): error_page for the status when one is in effect at the location (or the
//   server, outside locations), else its page (src/lower/special-response.ts) as text/html,
//   an empty body for a status without a page;
// - error_page with a URL: that redirect (302, or =301/302/303/307/308) with the page of its
//   status; with a file nginx serves as a static file: the file, with the status (=code
//   replaces it, `=` alone makes it the file's 200); a URI served otherwise or a named
//   location runs an internal redirect the model does not follow (noted, the page kept).
import { readFileSync } from 'node:fs';
import type { ErrorPage } from '../../ir/types.js';
import { nginxPage, PAGE_CONTENT_TYPE, type ServerTokens } from '../../lower/special-response.js';

export interface NginxReply {
  status: number;
  body: string;
  /** null: no Content-Type header */
  contentType: string | null;
  /** a redirect's Location */
  location?: string;
}

/** The settings of the location (or server) answering: its error pages and server_tokens. */
export interface ReplyLevel {
  errorPages: ErrorPage[];
  tokens: ServerTokens;
}

/** `return CODE "text"`. */
export function textReply(status: number, text: string, uncertain: string[]): NginxReply {
  if (text !== '') uncertain.push('the text of `return` is sent as default_type (text/plain unless default_type is set, which the model does not read)');
  return { status, body: text, contentType: 'text/plain' };
}

/** nginx's own answer with `status` (and the Location of a redirect): error_page, else its page. */
export function specialReply(status: number, level: ReplyLevel, uncertain: string[], location?: string): NginxReply {
  const page = level.errorPages.find((p) => p.codes.includes(status));
  const viaPage = page ? errorPageReply(status, page, level.tokens, uncertain) : null;
  if (viaPage) return viaPage;
  const body = nginxPage(status, level.tokens);
  const out: NginxReply = { status, body: body ?? '', contentType: body === null ? null : PAGE_CONTENT_TYPE };
  if (location !== undefined) out.location = location;
  return out;
}

function errorPageReply(status: number, page: ErrorPage, tokens: ServerTokens, uncertain: string[]): NginxReply | null {
  const at = `error_page at ${page.source.file}:${page.source.line}`;
  if (page.target.parts.some((p) => 'var' in p)) {
    uncertain.push(`${at} has variables: not followed`);
    return null;
  }
  if (/^https?:\/\//i.test(page.target.raw)) {
    const code = typeof page.override === 'number' && [301, 302, 303, 307, 308].includes(page.override) ? page.override : 302;
    return { status: code, body: nginxPage(code, tokens) ?? '', contentType: PAGE_CONTENT_TYPE, location: page.target.raw };
  }
  if (!page.file) {
    uncertain.push(`${at} redirects internally to ${page.target.raw}: not followed (nginx's answer is that location's)`);
    return null;
  }
  let body: string;
  try {
    body = readFileSync(page.file, 'utf8');
  } catch {
    uncertain.push(`${at}: ${page.file} cannot be read (nginx would answer 404)`);
    return null;
  }
  if (!/\.html?$/i.test(page.file)) uncertain.push(`${at}: the Content-Type of ${page.file} comes from nginx's types, taken as text/html`);
  const code = typeof page.override === 'number' ? page.override : page.override === 'target' ? 200 : status;
  return { status: code, body, contentType: PAGE_CONTENT_TYPE };
}
