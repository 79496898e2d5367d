// ngx_http_realip_module → RealIp (who the client is when a proxy or load
// balancer sits in front), and the report lines.
import type { Directive } from '../parse/ast.js';
import type { RealIp } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveArray } from './headers.js';
import { effectiveSimple } from './limits.js';
import { type Level, srcOf } from './util.js';

export function realIpAt(levels: Level[]): RealIp | null {
  const from = effectiveArray(levels, 'set_real_ip_from');
  if (from.length === 0) return null;
  const header = effectiveSimple(levels, 'real_ip_header');
  return {
    from: from.map((d) => d.args[0]?.value ?? ''),
    header: header?.args[0]?.value ?? 'X-Real-IP',
    recursive: effectiveSimple(levels, 'real_ip_recursive')?.args[0]?.value === 'on',
    source: srcOf(from[0]!),
  };
}

const ANY = new Set(['0.0.0.0/0', '::/0']);

/** What the connection manager can express for a RealIp, and the difference. */
export function realIpVerdict(ri: RealIp): { exact: boolean; note: string } {
  const header = ri.header.toLowerCase();
  const trustsAll = ri.from.some((f) => ANY.has(f));
  if (header === 'proxy_protocol') return { exact: true, note: 'the address comes from the PROXY protocol header (proxy_protocol listener filter)' };
  const peer = trustsAll ? '' : `; Envoy takes it from any peer, nginx only from ${ri.from.join(', ')}`;
  if (header === 'x-forwarded-for') {
    const rec = ri.recursive ? '; real_ip_recursive: nginx skips every trusted address from the right, Envoy trusts exactly one hop' : '';
    return { exact: trustsAll && !ri.recursive, note: `use_remote_address with xff_num_trusted_hops 1: the last X-Forwarded-For address is the client${peer}${rec}` };
  }
  return { exact: trustsAll, note: `original_ip_detection custom_header ${ri.header}${peer}` };
}

export function markRealIp(ds: Directive[], r: Reporter, effective: RealIp | null): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (d.name !== 'set_real_ip_from' && d.name !== 'real_ip_header' && d.name !== 'real_ip_recursive') continue;
    if (!effective) {
      r.mark(d, 'translated', 'no effect without set_real_ip_from');
      continue;
    }
    const v = realIpVerdict(effective);
    r.mark(d, v.exact ? 'translated' : 'approximated', v.note);
  }
}
