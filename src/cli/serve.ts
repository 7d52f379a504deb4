/**
 * `procyon serve`: runs a node in the foreground. SIGTERM/SIGINT drain it (exit 0); a second
 * signal exits at once. Its start-up summary is printed as lines, or with `--json` as one JSON
 * object, so scripts need not scrape the banner.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import type { NodeConfigInput } from '../config.js';
import type { SandboxLayers } from '../sandbox/index.js';
import { ioOf, say, type CliIo } from './io.js';

interface ServeFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  examples?: string;
  readyFile?: string;
  isolateHosts?: string;
  logLevel?: string;
  unsafeNativeSandbox?: boolean;
  /** The old spelling of --unsafe-native-sandbox, kept for one release. */
  unsafeProcessSandbox?: boolean;
  json?: boolean;
}

/** What `serve` reports once the node listens; `--json` prints exactly this. */
export interface ServeSummary {
  url: string;
  dataDir: string;
  isolateDriver: { trusted: boolean; hosts: number };
  /** The native driver's sandbox layers found on this machine, and what is missing. */
  nativeDriver: { available: boolean; layers: SandboxLayers; description: string };
  /** Only on the node's first start; it is also saved to `adminKeyFile`. */
  adminKey?: string;
  adminKeyFile?: string;
  examples?: { dir: string; deployed: string[]; skipped: string[] };
  functions: { name: string; urls: string[] }[];
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run a Procyon node (embedded SQLite store, isolate hosts, HTTP on --host:--port)')
    .option('--host <host>', 'interface to bind (env PROCYON_HOST)', undefined)
    .option('--port <port>', 'HTTP port, 0 for any free one (env PROCYON_PORT)', undefined)
    .option('--data-dir <dir>', 'store, admin key and artifacts (env PROCYON_DATA_DIR)', undefined)
    .option('--examples <dir>', 'deploy the functions in <dir>/procyon.json on the first start')
    .option('--ready-file <path>', 'write {"url","pid"} here once listening')
    .option('--isolate-hosts <n>', 'isolate host processes (env PROCYON_ISOLATE_HOSTS)')
    .option('--log-level <level>', 'node log level (env PROCYON_LOG_LEVEL)')
    .option(
      '--unsafe-native-sandbox',
      'development only: without bubblewrap, run native-driver functions as plain, unisolated child processes (env PROCYON_UNSAFE_NATIVE_SANDBOX)',
    )
    .option(
      '--json',
      'print the start-up summary as one JSON object (the node log stays pino JSON lines on stdout)',
    )
    .addOption(new Option('--unsafe-process-sandbox', 'deprecated: --unsafe-native-sandbox').hideHelp())
    .action(async (flags: ServeFlags, cmd: Command) => {
      // Loaded here, not at the top: every other CLI command would pay ~170 ms for the node's modules.
      const [{ deprecatedEnvNotes, loadConfig }, { createLogger }, node_, { describeLayers }] =
        await Promise.all([
          import('../config.js'),
          import('../logger.js'),
          import('../node/index.js'),
          import('../sandbox/index.js'),
        ]);
      const { ADMIN_KEY_FILE, DEFAULT_NAMESPACE, ProcyonNode, deployExamples, writeReadyFile } = node_;
      const input: Partial<NodeConfigInput> = {
        host: flags.host,
        port: flags.port,
        dataDir: flags.dataDir,
        isolateHosts: flags.isolateHosts,
        logLevel: flags.logLevel as NodeConfigInput['logLevel'],
        examplesDir: flags.examples,
        ...(flags.unsafeNativeSandbox || flags.unsafeProcessSandbox ? { unsafeNativeSandbox: true } : {}),
        readyFile: flags.readyFile,
      };
      if (flags.unsafeProcessSandbox)
        process.stderr.write('note: --unsafe-process-sandbox is deprecated; use --unsafe-native-sandbox\n');
      for (const note of deprecatedEnvNotes()) process.stderr.write(`note: ${note}\n`);
      const config = loadConfig(input);
      const logger = createLogger(config.logLevel);
      const node = await ProcyonNode.start(config, logger);
      const summary: ServeSummary = {
        url: node.url,
        dataDir: config.dataDir,
        isolateDriver: { trusted: config.trusted, hosts: config.trusted ? 1 : config.isolateHosts },
        nativeDriver: {
          available: node.nativeDriver.available,
          layers: node.nativeDriver.layers,
          description: describeLayers(node.nativeDriver.layers),
        },
        ...(node.adminKey
          ? { adminKey: node.adminKey, adminKeyFile: join(config.dataDir, ADMIN_KEY_FILE) }
          : {}),
        functions: [],
      };
      if (node.firstStart && config.examplesDir) {
        const { deployed, skipped } = await deployExamples(
          config.examplesDir,
          DEFAULT_NAMESPACE,
          node.functions,
          node.nativeDriver.available,
        );
        summary.examples = { dir: config.examplesDir, deployed, skipped };
      }
      summary.functions = node.functions.list(DEFAULT_NAMESPACE).map((f) => ({ name: f.name, urls: f.urls }));
      const io = ioOf(cmd);
      // One line, not pretty-printed: the node's own log lines share stdout (pino, one JSON each).
      if (flags.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
      else printBanner(io, summary);
      if (config.readyFile) await writeReadyFile(config.readyFile, node.url);

      let signals = 0;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (++signals > 1) process.exit(1);
        logger.info({ signal }, 'draining');
        node.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
}

/** The start-up summary as the lines a person reads. */
function printBanner(io: CliIo, s: ServeSummary): void {
  say(io, `Procyon node listening on ${s.url} (data: ${s.dataDir})`);
  say(
    io,
    s.isolateDriver.trusted
      ? 'Sandboxes: isolate driver in TRUSTED mode (isolates inside the node process)'
      : `Sandboxes: isolate driver, ${s.isolateDriver.hosts} isolate host process(es) + 1 low-priority host for CPU-heavy functions`,
  );
  say(io, `Sandboxes: ${s.nativeDriver.description}`);
  if (s.adminKey) {
    say(io, `Admin API key (shown once; saved to ${s.adminKeyFile}, mode 0600):`);
    say(io, `  ${s.adminKey}`);
  }
  if (s.examples) {
    say(io, `Deployed ${s.examples.deployed.length} example function(s) from ${s.examples.dir}`);
    if (s.examples.skipped.length)
      say(
        io,
        `Skipped ${s.examples.skipped.join(', ')}: the native driver is not available on this machine (see above)`,
      );
  }
  if (s.functions.length) {
    say(io, 'Functions:');
    for (const f of s.functions) say(io, `  ${f.name.padEnd(16)} ${f.urls.join('  ')}`);
  }
}
