// ngx_stream_access_module: the rules of src/lower/access.ts, in effect for a
// stream server (levels: stream, server).
import type { StreamAccess } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { accessRulesAt, accessRulesOfLevel, isAccessDirective } from './access.js';
import type { Level } from './util.js';

/**
 * The rules in effect for a server (levels: stream, server), per family; null
 * when no level has any (everyone is let in). Marks every allow/deny directive.
 */
export function streamAccess(levels: Level[], r: Reporter): StreamAccess | null {
  const access = accessRulesAt(levels);
  for (const level of levels) {
    accessRulesOfLevel(level); // (nginx's errors in rules an inner level replaces)
    for (const d of level.ds) {
      if (!isAccessDirective(d)) continue;
      if (d.args[0]?.value.startsWith('unix:')) r.mark(d, 'ignored', 'unix-socket clients: no unix listener is translated');
      else r.mark(d, 'translated', 'RBAC network filter (first matching rule decides, as nginx; the direct peer address)');
    }
  }
  return access;
}
