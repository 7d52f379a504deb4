/**
 * `procyon serve`: runs a node in the foreground. SIGTERM/SIGINT drain it (exit 0); a second
 * signal exits at once.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import type { NodeConfigInput } from '../config.js';

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
    .addOption(new Option('--unsafe-process-sandbox', 'deprecated: --unsafe-native-sandbox').hideHelp())
    .action(async (flags: ServeFlags) => {
      // Loaded here, not at the top: every other CLI command would pay ~170 ms for the node's modules.
      const [
        { deprecatedEnvNotes, loadConfig },
        { createLogger },
        { deployExamples },
        node_,
        { describeLayers },
      ] = await Promise.all([
        import('../config.js'),
        import('../logger.js'),
        import('../node/examples.js'),
        import('../node/index.js'),
        import('../sandbox/index.js'),
      ]);
      const { ADMIN_KEY_FILE, DEFAULT_NAMESPACE, ProcyonNode, writeReadyFile } = node_;
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
      const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
      out(`Procyon node listening on ${node.url} (data: ${config.dataDir})`);
      out(
        config.trusted
          ? 'Sandboxes: isolate driver in TRUSTED mode (isolates inside the node process)'
          : `Sandboxes: isolate driver, ${config.isolateHosts} isolate host process(es) + 1 low-priority host for CPU-heavy functions`,
      );
      out(`Sandboxes: ${describeLayers(node.nativeDriver.layers)}`);
      if (node.adminKey) {
        out(`Admin API key (shown once; saved to ${join(config.dataDir, ADMIN_KEY_FILE)}, mode 0600):`);
        out(`  ${node.adminKey}`);
      }
      if (node.firstStart && config.examplesDir) {
        const { deployed, skipped } = await deployExamples(
          config.examplesDir,
          DEFAULT_NAMESPACE,
          node.functions,
          node.nativeDriver.available,
        );
        out(`Deployed ${deployed.length} example function(s) from ${config.examplesDir}`);
        if (skipped.length)
          out(
            `Skipped ${skipped.join(', ')}: the native driver is not available on this machine (see above)`,
          );
      }
      const fns = node.functions.list(DEFAULT_NAMESPACE);
      if (fns.length) {
        out('Functions:');
        for (const f of fns) out(`  ${f.name.padEnd(16)} ${f.urls.join('  ')}`);
      }
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
