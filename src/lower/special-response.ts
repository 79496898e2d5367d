// nginx's own response pages (the special responses of ngx_http_special_response.c):
// what nginx sends as the body when it answers a status itself (its 502 for an
// unreachable upstream, `return 404;`, a deny's 403, a 413, its redirects). Checked
// byte for byte against nginx 1.22.1 for every status 200..599 (test/lower/special-response.test.ts):
// - the statuses listed below have a page, the others an empty body;
// - the title is the page's own text, not always the status line's reason (302 says
//   "Found", 401 "Authorization Required");
// - lines end with CRLF; the tail names nginx with its version (server_tokens on, the
//   default, and `build` on a build without a build name) or without (off).
// nginx adds padding for MSIE clients (msie_padding) and a refresh page for MSIE
// redirects (msie_refresh): not reproduced (reported where they are set).

/** The nginx version whose pages are reproduced (server_tokens on). */
export const NGINX_VERSION = '1.22.1';

/** server_tokens in effect: absent in the IR means `on`. */
export type ServerTokens = 'on' | 'off' | 'build';

const TITLES: Record<number, string> = {
  301: '301 Moved Permanently',
  302: '302 Found',
  303: '303 See Other',
  307: '307 Temporary Redirect',
  308: '308 Permanent Redirect',
  400: '400 Bad Request',
  401: '401 Authorization Required',
  402: '402 Payment Required',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Not Allowed',
  406: '406 Not Acceptable',
  409: '409 Conflict',
  410: '410 Gone',
  411: '411 Length Required',
  412: '412 Precondition Failed',
  413: '413 Request Entity Too Large',
  414: '414 Request-URI Too Large',
  415: '415 Unsupported Media Type',
  416: '416 Requested Range Not Satisfiable',
  421: '421 Misdirected Request',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  501: '501 Not Implemented',
  502: '502 Bad Gateway',
  503: '503 Service Temporarily Unavailable',
  504: '504 Gateway Time-out',
  505: '505 HTTP Version Not Supported',
  507: '507 Insufficient Storage',
};

/** The statuses nginx has a page for (494..498 excepted: nginx answers them with another status line). */
export const PAGE_STATUSES: readonly number[] = Object.keys(TITLES).map(Number);

const pages = new Map<string, string>();

/** nginx's page for `status`, or null when nginx sends an empty body for it. */
export function nginxPage(status: number, tokens: ServerTokens = 'on'): string | null {
  const title = TITLES[status];
  if (title === undefined) return null;
  const key = `${status} ${tokens}`;
  let page = pages.get(key);
  if (page === undefined) {
    const tail = tokens === 'off' ? 'nginx' : `nginx/${NGINX_VERSION}`;
    page = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>${tail}</center>\r\n</body>\r\n</html>\r\n`;
    pages.set(key, page);
  }
  return page;
}

/** The Content-Type nginx sends with its pages. */
export const PAGE_CONTENT_TYPE = 'text/html';
