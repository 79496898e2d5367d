// The GitHub Actions recipe: its `check` step's script runs under bash with the
// runner's files (GITHUB_STEP_SUMMARY, GITHUB_OUTPUT) and a stand-in
// `ngx2envoy` on PATH that replays what the real CLI printed for the same
// situation, so the step's plumbing (exit status, summary, step output) is
// exercised for real.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, type CliRun } from './run-cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WORKFLOW = join(ROOT, 'examples', 'github-actions', 'ngx2envoy-check.yml');

interface Step {
  id?: string;
  run?: string;
  name?: string;
}

const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as {
  on: { pull_request: { paths: string[] } };
  jobs: { check: { env: Record<string, string>; steps: Step[] } };
};

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ngx2envoy-ci-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Runs the `check` step's script in `work` with a stand-in ngx2envoy replaying `replay`. */
function runStep(replay: CliRun): { status: number; stdout: string; summary: string; output: string } {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(work, 'replay.out'), replay.stdout + replay.stderr);
  writeFileSync(join(bin, 'ngx2envoy'), `#!/bin/sh\ncat "${join(work, 'replay.out')}"\nexit ${replay.code}\n`);
  chmodSync(join(bin, 'ngx2envoy'), 0o755);
  const summary = join(work, 'summary.md');
  const output = join(work, 'output.txt');
  writeFileSync(summary, '');
  writeFileSync(output, '');
  const step = workflow.jobs.check.steps.find((s) => s.id === 'check')!;
  const r = spawnSync('bash', ['-e', '-c', step.run!], {
    cwd: work,
    encoding: 'utf8',
    env: {
      ...process.env,
      ...workflow.jobs.check.env,
      PATH: `${bin}:${process.env.PATH}`,
      RUNNER_TEMP: work,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
    },
  });
  return { status: r.status ?? -1, stdout: r.stdout, summary: readFileSync(summary, 'utf8'), output: readFileSync(output, 'utf8') };
}

describe('examples/github-actions/ngx2envoy-check.yml', () => {
  it('runs on pull requests touching nginx configuration and the committed output', () => {
    expect(workflow.on.pull_request.paths).toEqual(expect.arrayContaining(['nginx/**', '**/nginx.conf', 'envoy/**']));
    const runs = workflow.jobs.check.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('ngx2envoy check "$NGINX_CONF" --against "$ENVOY_DIR"');
    expect(runs).toContain('ngx2envoy diff');
  });

  it('a stale output fails the step and shows the route summary and diff in the summary and the step output', async () => {
    // The situation the step meets: envoy/ committed, nginx.conf changed since.
    mkdirSync(join(work, 'nginx'));
    const conf = join(work, 'nginx', 'nginx.conf');
    copyFileSync(join(import.meta.dirname, 'fixtures', 'site.conf'), conf);
    expect((await runCli(['convert', conf, '-o', join(work, 'envoy')])).code).toBe(0);
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('proxy_pass http://api_v1/v1/;', 'proxy_pass http://api_v2/v1/;'));
    const real = await runCli(['check', conf, '--against', join(work, 'envoy')]);
    expect(real.code).toBe(1);

    const step = runStep(real);
    expect(step.status).toBe(1);
    expect(step.stdout).toContain('prefix /api/ (server_0/loc_1) changed');
    expect(step.summary).toContain('**envoy is stale**');
    expect(step.summary).toContain('```diff');
    expect(step.summary).toMatch(/\n\+ +cluster: api_v2\n/);
    expect(step.output).toContain('status=1');
    expect(step.output).toMatch(/report<<(NGX2ENVOY_\d+)\n[\s\S]*changed: cluster api_v1[\s\S]*\n\1\n$/);
  });

  it('an up-to-date output passes', async () => {
    const step = runStep({ code: 0, stdout: 'ngx2envoy check: nginx/nginx.conf matches envoy\n', stderr: '' });
    expect(step.status).toBe(0);
    expect(step.summary).toContain('envoy is what nginx/nginx.conf compiles to.');
    expect(step.output).toContain('status=0');
  });

  it('a broken nginx.conf fails the step with the position', async () => {
    mkdirSync(join(work, 'nginx'));
    const conf = join(work, 'nginx', 'nginx.conf');
    writeFileSync(conf, 'events {}\nhttp {\n  server {\n    listen 80\n  }\n}\n');
    const real = await runCli(['check', conf, '--against', work]);
    expect(real.code).toBe(2);
    const step = runStep(real);
    expect(step.status).toBe(2);
    expect(step.summary).toContain('does not compile');
    expect(step.summary).toMatch(/nginx\.conf:5:\d+/);
  });
});
