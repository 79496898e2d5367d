// Free ports that are also distinct from each other: freePort() alone may hand
// out the same port twice when nothing is bound to it in between.
import { freePort } from '../../support/nginx.js';

export function portAllocator(): () => Promise<number> {
  const given = new Set<number>();
  return async () => {
    for (;;) {
      const p = await freePort();
      if (!given.has(p)) {
        given.add(p);
        return p;
      }
    }
  };
}
