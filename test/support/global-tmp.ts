// Vitest global setup: every test file's temporary directories (os.tmpdir(), mkdtemp) go
// under one directory of this run, removed when the run ends. Tests then cannot leave
// their files behind, and a suite run leaves nothing in /tmp however a test cleans up.
// (The forked test workers inherit TMPDIR; os.tmpdir() reads it on each call.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-test-run-'));
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
