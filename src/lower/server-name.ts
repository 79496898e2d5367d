// `server_name` → names by kind, the way ngx_http_server_names sorts them.
import type { Directive } from '../parse/ast.js';
import type { ServerName } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { pcreToRe2 } from './regex.js';
import { errorAt, src, srcOf } from './util.js';

export function lowerServerName(d: Directive, r: Reporter): ServerName[] {
  const out: ServerName[] = [];
  const notes: string[] = [];
  let cls: 'translated' | 'approximated' = 'translated';
  for (const a of d.args) {
    const raw = a.value;
    const at = src(a.source);
    if (raw === '') {
      out.push({ kind: 'empty', value: '', source: at });
      notes.push('"" (requests without Host) is served by the default server in Envoy');
      continue;
    }
    if (raw.startsWith('~')) {
      const re = raw.slice(1);
      const conv = pcreToRe2(re);
      if (!conv.ok) {
        throw errorAt(a.source, `server_name regex "${re}" has no RE2 form: ${conv.message} at offset ${conv.offset}`, 'pcre-only-regex');
      }
      out.push({ kind: 'regex', value: re, source: at });
      // nginx matches the lowercased Host; Envoy matches the Host as sent, case-insensitively.
      if (/(^|[^\\])[A-Z]/.test(re.replace(/\(\?[a-zA-Z]*\)|\\[A-Za-z]/g, ''))) {
        notes.push(`regex "${re}" has upper-case letters: nginx matches it against the lowercased Host (so they never match), Envoy matches case-insensitively`);
        cls = 'approximated';
      }
      continue;
    }
    const name = raw.toLowerCase();
    if (name.startsWith('*.') && !name.slice(2).includes('*')) out.push({ kind: 'wildcard-prefix', value: name, source: at });
    else if (name.startsWith('.') && !name.includes('*')) {
      out.push({ kind: 'exact', value: name.slice(1), dot: true, source: at });
      out.push({ kind: 'wildcard-prefix', value: `*${name}`, dot: true, source: at });
    } else if (name.endsWith('.*') && !name.slice(0, -2).includes('*')) out.push({ kind: 'wildcard-suffix', value: name, source: at });
    else if (name.includes('*')) throw errorAt(a.source, `invalid server name or wildcard "${raw}"`, 'server-name');
    else {
      if (name === '_' || !/^[a-z0-9._-]+$/.test(name)) notes.push(`"${raw}" can never match a real Host`);
      out.push({ kind: 'exact', value: name, source: at });
    }
  }
  r.mark(d, cls, ['virtual host domains', ...notes].join('; '));
  return out;
}
