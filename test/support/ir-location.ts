// A bare IR location for tests of the location search and its linearisation: only the
// fields those read (modifier, pattern, children) vary; the rest is a fixed 404.
import type { Location, LocationModifier } from '../../src/ir/types.js';

export function bareLocation(id: string, modifier: LocationModifier, pattern: string, children: Location[] = []): Location {
  return {
    id,
    modifier,
    pattern,
    children,
    rewrites: [],
    action: { kind: 'static', status: 404, reason: '', source: null },
    policy: {} as Location['policy'],
    source: { file: 't', line: 1, col: 1 },
  };
}
