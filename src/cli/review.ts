// The review commands: `check` (is the committed output still what the config
// compiles to?), `diff` (what changes between two configs, route by route) and
// `explain` (nginx and Envoy side by side for one request). Exit codes: 0 same /
// agree, 1 differences found, 2 bad input or usage.
import { Option, type Command } from 'commander';
import { isIP } from 'node:net';
import { runCheck } from '../review/check.js';
import { compileForReview } from '../review/compiled.js';
import { diffCompiled, renderDiff } from '../review/diff.js';
import { explainCompiled, explainRequest, renderExplain } from '../review/explain.js';
import { wantColor } from '../review/style.js';
import { CliExit } from './exit.js';

const contextOption = () =>
  new Option('--context <ctx>', 'the context the file is written for (a conf.d fragment is http; stream for the body of stream {})').choices(['auto', 'main', 'http', 'server', 'stream']).default('auto');
const prefixOption = () => new Option('--prefix <dir>', "directory relative includes are resolved against (default: the file's directory)");

interface CommonOptions {
  context?: string;
  prefix?: string;
}

export function registerReview(program: Command): void {
  program
    .command('check')
    .description('recompile FILE and compare with what `convert -o DIR` wrote: exit 0 same, 1 changed (summary + diff), 2 bad input')
    .argument('<file>', 'the nginx configuration file')
    .requiredOption('--against <dir>', 'the directory `ngx2envoy convert FILE -o DIR` wrote (committed)')
    .addOption(contextOption())
    .addOption(prefixOption())
    .action(async (file: string, opts: CommonOptions & { against: string }) => {
      const out = await runCheck(file, opts.against, { context: opts.context, prefix: opts.prefix, color: wantColor(process.stdout) });
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      if (out.exitCode !== 0) throw new CliExit(out.exitCode);
    });

  program
    .command('diff')
    .description('semantic diff of two nginx configurations through the compiler: listeners, virtual hosts, routes, clusters, and requests whose destination changes')
    .argument('<old>', 'the configuration before')
    .argument('<new>', 'the configuration after')
    .option('--json', 'print the ngx2envoy.diff/v1 JSON document')
    .addOption(contextOption())
    .addOption(prefixOption())
    .action(async (oldFile: string, newFile: string, opts: CommonOptions & { json?: boolean }) => {
      const before = await compileForReview(oldFile, opts);
      const after = await compileForReview(newFile, opts);
      if (!before.ok || !after.ok) {
        throw new CliExit(2, [before, after].map((c) => (c.ok ? '' : c.stderr)).join('').trimEnd());
      }
      const doc = diffCompiled(oldFile, newFile, before.result, after.result);
      process.stdout.write(opts.json ? JSON.stringify(doc, null, 2) + '\n' : renderDiff(doc, wantColor(process.stdout)));
      if (!doc.equivalent) throw new CliExit(1);
    });

  program
    .command('explain')
    .description('which nginx server and location take a request, and what the compiled Envoy configuration does with it')
    .argument('<file>', 'the nginx configuration file')
    .argument('<method>', 'request method, e.g. GET')
    .argument('<url>', 'http://host[:port]/path?query, or /path (Host from --header, else localhost)')
    .option('--json', 'print the ngx2envoy.explain/v1 JSON document')
    .option('--port <n>', 'the port the request arrives on (default: the URL port, the only listener port, or 80/443)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliExit(2, `ngx2envoy: invalid --port "${v}"`);
      return n;
    })
    .option('--address <ip>', 'the local address the request arrives on (for `listen IP:port`; default: any)')
    .option('--from <ip>', 'the client\'s address, tested by allow/deny (default: 127.0.0.1)', (v) => {
      if (isIP(v) === 0) throw new CliExit(2, `ngx2envoy: invalid --from "${v}" (an IPv4 or IPv6 address)`);
      return v;
    })
    .option('--header <k:v>', 'a request header (repeatable), e.g. --header "Host: example.com"', collectHeader, {})
    .addOption(contextOption())
    .addOption(prefixOption())
    .action(async (file: string, method: string, url: string, opts: CommonOptions & { json?: boolean; port?: number; address?: string; from?: string; header: Record<string, string> }) => {
      const compiled = await compileForReview(file, opts);
      if (!compiled.ok) throw new CliExit(2, compiled.stderr.trimEnd());
      const req = explainRequest(compiled.result.ir!, { method, url, port: opts.port, address: opts.address, from: opts.from, headers: opts.header });
      const doc = explainCompiled(compiled.result, req);
      process.stdout.write(opts.json ? JSON.stringify(doc, null, 2) + '\n' : renderExplain(doc, wantColor(process.stdout)));
      if (!doc.agree) throw new CliExit(1);
    });
}

function collectHeader(value: string, previous: Record<string, string>): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new CliExit(2, `ngx2envoy: --header wants "Name: value", got "${value}"`);
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
}
