// The content hashes of emitted names and versions (Lua script names, Consul instance
// hashes, xDS resource versions): SHA-256 of a text, in hex.
import * as crypto from 'node:crypto';

/**
 * crypto.hash (Node 20.12 on) hashes in one call, without a Hash object per text: a
 * quarter of the cost over the thousands of texts of a large configuration. Node 20.11
 * (package.json's oldest) has only createHash; both give the same digest.
 */
export function sha256Hex(text: string): string {
  return typeof crypto.hash === 'function' ? crypto.hash('sha256', text) : crypto.createHash('sha256').update(text).digest('hex');
}
