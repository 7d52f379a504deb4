/**
 * `procyon invoke <name>`: call a function synchronously with a JSON event and print what it
 * returned, byte for byte when piped (so `procyon invoke f | jq` works), pretty when on a terminal;
 * with `--json`, the activation id and status too, the body as `text` (or `base64` if binary).
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { seg } from '../client.js';
import { contextFor, withCommonOptions } from '../context.js';
import { CliError, usageError } from '../errors.js';
import { note, processIo, type CliIo } from '../io.js';
import { bytesJson, printJson } from '../output.js';
import { resolve } from 'node:path';

interface InvokeOptions {
  data?: string;
  dataFile?: string;
  version?: string;
  verbose?: boolean;
}

export function invokeCommand(): Command {
  return withCommonOptions(new Command('invoke'))
    .description('call a function with a JSON event and print its response')
    .argument('<name>', 'function name')
    .option('--data <json>', 'the event, as JSON (default: {})')
    .option('--data-file <path>', 'read the event JSON from a file ("-" for stdin)')
    .option('--version <version>', 'call this version instead of the latest')
    .option('--verbose', 'print the activation id to stderr')
    .addHelpText('after', `\nExample: procyon invoke hello --data '{"name":"ada"}'`)
    .action(async (name: string, opts: InvokeOptions, cmd: Command) => {
      const ctx = contextFor(cmd);
      const event = await readEvent(opts, ctx.io);
      const path = `${ctx.nsPath}/functions/${seg(name)}/invoke`;
      let res: Response;
      try {
        res = await ctx.client.request('POST', path, { body: event, query: { version: opts.version } });
      } catch (err) {
        // A failed call still has an activation worth looking up.
        if (opts.verbose && err instanceof CliError && err.activationId)
          note(ctx.io, `activation ${err.activationId}`);
        throw err;
      }
      const activation = res.headers.get('x-procyon-activation-id');
      if (opts.verbose && activation) note(ctx.io, `activation ${activation}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (ctx.json)
        return printJson(ctx.io, {
          activationId: activation,
          status: res.status,
          contentType: res.headers.get('content-type'),
          ...bytesJson(body),
        });
      ctx.io.stdout.write(ctx.io.stdout.isTTY ? forTerminal(body, res.headers.get('content-type')) : body);
    });
}

/** `--data` and `--data-file` are parsed here so bad JSON fails before any request. */
export async function readEvent(opts: InvokeOptions, io: CliIo = processIo()): Promise<unknown> {
  if (opts.data !== undefined && opts.dataFile !== undefined)
    throw usageError('pass --data or --data-file, not both');
  let text: string;
  let source: string;
  if (opts.data !== undefined) [text, source] = [opts.data, '--data'];
  else if (opts.dataFile !== undefined) {
    source = opts.dataFile === '-' ? 'stdin' : opts.dataFile;
    try {
      text =
        opts.dataFile === '-' ? await readStdin(io) : await readFile(resolve(io.cwd, opts.dataFile), 'utf8');
    } catch (err) {
      throw new CliError(
        `cannot read --data-file ${opts.dataFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
  } else return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
}

function forTerminal(body: Buffer, contentType: string | null): string | Buffer {
  const text = body.toString('utf8');
  if (contentType?.includes('json') || /^\s*[[{"]/.test(text)) {
    try {
      return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
    } catch {
      // Not JSON after all: print as is.
    }
  }
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}

async function readStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
