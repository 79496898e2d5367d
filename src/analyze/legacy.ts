// Directives nginx has removed (so nginx-directives.tsv, from 1.31, lacks them)
// that real configurations still carry and the nginx versions in service still
// accept. Checked against Debian's nginx 1.22.
import type { DirectiveVariant } from './table-types.js';

export const LEGACY_NGINX_DIRECTIVES: readonly DirectiveVariant[] = [
  // `ssl on;` — deprecated in 1.15.0 for `listen … ssl`, removed in 1.25.1.
  {
    name: 'ssl',
    module: 'src/http/modules/ngx_http_ssl_module.c (removed in 1.25.1)',
    moduleType: 'http',
    contexts: ['http', 'server'],
    arity: ['FLAG'],
    block: false,
    onOff: true,
    ifdef: 'if (NGX_HTTP_SSL)',
  },
  {
    name: 'ssl',
    module: 'src/mail/ngx_mail_ssl_module.c (removed in 1.25.1)',
    moduleType: 'mail',
    contexts: ['mail', 'mail-server'],
    arity: ['FLAG'],
    block: false,
    onOff: true,
  },
];
