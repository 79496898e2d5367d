// The report lines of an upstream's `server` lines: each line's own verdict and,
// with max_fails/fail_timeout, what those become (which depends on how many
// servers are live), in one entry: the worse class and both reasons in order.
import { describe, expect, test } from 'vitest';
import { parseText } from '../../src/parse/index.js';
import { lower } from '../../src/lower/index.js';
import type { ReportEntry } from '../../src/ir/types.js';

function serverLines(upstream: string): Pick<ReportEntry, 'line' | 'class' | 'reason'>[] {
  const text = `events {}\nhttp {\n  upstream pool {\n${upstream}\n  }\n  server { listen 80; location / { proxy_pass http://pool; } }\n}\n`;
  const { ir, errors } = lower(parseText(text, 'nginx.conf'));
  expect(errors).toEqual([]);
  return ir!.report.filter((e) => e.directive === 'server' && e.line >= 4 && e.line < 4 + upstream.split('\n').length).map((e) => ({ line: e.line, class: e.class, reason: e.reason }));
}

const OUTLIER = 'max_fails/fail_timeout → outlier detection on local-origin failures (consecutive failures, not failures within a window)';
const SINGLE = 'max_fails/fail_timeout have no effect with a single server (nginx never marks it unavailable)';

describe('upstream server lines in the report', () => {
  test('two live servers: failure limits are outlier detection; the worse class wins over the line\'s own', () => {
    expect(serverLines('    server 10.0.0.1:80 max_fails=2 slow_start=10s;\n    server 10.0.0.2:80 fail_timeout=5s;\n    server 10.0.0.3:80 backup;')).toEqual([
      { line: 4, class: 'unsupported', reason: `endpoint 10.0.0.1:80; \`slow_start=10s\` not translated; ${OUTLIER}` },
      { line: 5, class: 'approximated', reason: `endpoint 10.0.0.2:80; ${OUTLIER}` },
      { line: 6, class: 'translated', reason: 'endpoint 10.0.0.3:80; backup: priority 1 endpoint (used when the primary ones are unhealthy)' },
    ]);
  });

  test('one live server (the other down): failure limits have no effect, and a down server counts for nothing', () => {
    expect(serverLines('    server 10.0.0.1:80 max_fails=3;\n    server 10.0.0.2:80 down max_fails=1;')).toEqual([
      { line: 4, class: 'translated', reason: `endpoint 10.0.0.1:80; ${SINGLE}` },
      { line: 5, class: 'translated', reason: `endpoint 10.0.0.2:80; marked down: left out of the cluster; ${SINGLE}` },
    ]);
  });
});
