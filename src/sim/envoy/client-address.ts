// The trusted client address the connection manager works with (what
// %DOWNSTREAM_REMOTE_ADDRESS% gives), from
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-for:
// "If use_remote_address is false and an XFF containing at least one IP address
// is present in the request, the trusted client address is the last (rightmost)
// IP address in XFF. Otherwise, the trusted client address is the source IP
// address of the immediate downstream node's connection"; with
// xff_num_trusted_hops N: the (N+1)th address from the right (use_remote_address
// false) or the Nth (true), falling back to the connection's address when XFF is
// shorter. Original IP detection extensions replace these rules.

import { boolValue, numValue, typeOf, type Obj } from './config.js';

function isIp(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (/^[0-9a-fA-F:.]+$/.test(s) && s.includes(':'));
}

function xffList(headers: Record<string, string>): string[] {
  return (headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function fromRight(list: string[], n: number): string | undefined {
  const v = n >= 1 && list.length >= n ? list[list.length - n] : undefined;
  return v !== undefined && isIp(v) ? v : undefined;
}

/** `headers` are the request's own (lowercased names), before Envoy appends anything. */
export function trustedClientAddress(hcm: Obj, headers: Record<string, string>, peer: string, notes: string[]): string {
  const exts: Obj[] = hcm.original_ip_detection_extensions ?? [];
  if (exts.length) {
    for (const e of exts) {
      const t = typeOf(e);
      const cfg = e.typed_config ?? {};
      if (t.endsWith('.CustomHeaderConfig')) {
        const v = headers[String(cfg.header_name ?? '').toLowerCase()]?.trim();
        if (v && isIp(v)) return v;
      } else if (t.endsWith('.XffConfig')) {
        const v = fromRight(xffList(headers), (numValue(cfg.xff_num_trusted_hops) ?? 0) + 1);
        if (v) return v;
      } else notes.push(`original IP detection extension ${t || e.name} is not simulated`);
    }
    return peer;
  }
  const n = numValue(hcm.xff_num_trusted_hops) ?? 0;
  const list = xffList(headers);
  if (boolValue(hcm.use_remote_address, false)) return (n > 0 ? fromRight(list, n) : undefined) ?? peer;
  return fromRight(list, n + 1) ?? peer;
}
