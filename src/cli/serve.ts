// `ngx2envoy serve FILE`: an xDS control plane (ADS, state of the world and
// delta) for the compiled configuration, reloading when the files change.
// A bad initial configuration ends with exit 1 and its diagnostics; later bad
// edits keep the last good snapshot (see src/serve/index.ts).
import { Option, type Command } from 'commander';
import { runServe, ServeLoadError, DEFAULT_ADMIN_ADDRESS, DEFAULT_DEBOUNCE_MS, DEFAULT_XDS_ADDRESS, type ServeOptions } from '../serve/index.js';
import { parseHostPort } from '../emit/envoy/xds.js';
import { CliExit } from './exit.js';

export interface ServeCommandOptions {
  xdsAddress: string;
  adminAddress: string;
  nodeId?: string;
  context?: string;
  prefix?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  consulAddr?: string;
  debounceMs?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the compiled configuration to Envoy over xDS (ADS: state of the world and delta), reloading on change')
    .argument('<file>', 'the nginx configuration file (or an Envoy static bootstrap .yaml/.json to serve as is)')
    .option('--xds-address <host:port>', 'where the ADS gRPC server listens', DEFAULT_XDS_ADDRESS)
    .option('--admin-address <host:port>', 'where the admin HTTP endpoint listens (/healthz /ready /metrics /config_dump)', DEFAULT_ADMIN_ADDRESS)
    .option('--node-id <id>', 'the Envoy node id expected to connect (logged when another node connects; every node gets the same resources)')
    .addOption(new Option('--context <ctx>', 'the context the file is written for (a conf.d fragment is http)').choices(['auto', 'main', 'http', 'server', 'location', 'stream']))
    .option('--prefix <dir>', "directory relative includes are resolved against (default: the file's directory)")
    .option('--tls-cert <file>', 'serve xDS over TLS with this certificate chain (PEM)')
    .option('--tls-key <file>', 'the private key for --tls-cert (PEM)')
    .option('--client-ca <file>', 'require client certificates signed by this CA (mTLS)')
    .option('--consul-addr <url>', 'take endpoints of Consul services from this Consul agent (EDS overrides)')
    .option('--debounce-ms <ms>', 'reload once the files have been quiet this long (longer while a changed file is empty or missing)', String(DEFAULT_DEBOUNCE_MS))
    .action((file: string, opts: ServeCommandOptions) => serveCommand(file, opts));
}

/**
 * The serve command's body, shared with `convert FILE --serve`: serve until
 * SIGTERM; a bad initial config, an unreadable TLS file or a busy address end
 * with exit 1 and a message, never a stack trace.
 */
export async function serveCommand(file: string, opts: Partial<ServeCommandOptions>): Promise<void> {
  const full: ServeCommandOptions = { xdsAddress: DEFAULT_XDS_ADDRESS, adminAddress: DEFAULT_ADMIN_ADDRESS, ...dropUndefined(opts) };
  await runServe(file, serveOptions(full)).catch((err: unknown) => {
    if (err instanceof ServeLoadError) throw new CliExit(1, `ngx2envoy serve: ${file}: the configuration cannot be served:\n${err.message}`);
    // Files that cannot be read, addresses that cannot be bound: a message, no stack.
    if (err instanceof Error && ('code' in err || /No address added|address already in use/i.test(err.message))) {
      throw new CliExit(1, `ngx2envoy serve: ${err.message}`);
    }
    throw err;
  });
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Command-line options → ServeOptions; usage errors end with exit 2. */
export function serveOptions(opts: ServeCommandOptions): ServeOptions {
  for (const [flag, value] of [
    ['--xds-address', opts.xdsAddress],
    ['--admin-address', opts.adminAddress],
  ] as const) {
    try {
      parseHostPort(value);
    } catch (err) {
      throw new CliExit(2, `ngx2envoy serve: ${flag}: ${(err as Error).message}`);
    }
  }
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new CliExit(2, 'ngx2envoy serve: --tls-cert and --tls-key go together');
  }
  if (opts.clientCa && !opts.tlsCert) throw new CliExit(2, 'ngx2envoy serve: --client-ca needs --tls-cert and --tls-key');
  const debounceMs = opts.debounceMs === undefined ? undefined : Number(opts.debounceMs);
  if (debounceMs !== undefined && !(Number.isInteger(debounceMs) && debounceMs >= 0)) {
    throw new CliExit(2, `ngx2envoy serve: --debounce-ms: expected a whole number of milliseconds, got "${opts.debounceMs}"`);
  }
  const out: ServeOptions = {
    xdsAddress: opts.xdsAddress,
    adminAddress: opts.adminAddress,
    context: opts.context,
    prefix: opts.prefix,
    consulAddr: opts.consulAddr,
    debounceMs,
    nodeId: opts.nodeId,
  };
  if (opts.tlsCert && opts.tlsKey) out.tls = { certFile: opts.tlsCert, keyFile: opts.tlsKey, clientCaFile: opts.clientCa };
  return out;
}
