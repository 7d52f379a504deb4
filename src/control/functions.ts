/**
 * The control plane for functions: deploy (bundle, type-check, hash, validate in a throwaway
 * isolate, store, publish), read, and delete. The HTTP API and the first-start example loader both
 * use this, so a deploy means the same thing wherever it comes from.
 */
import { createHash } from 'node:crypto';
import { bundleSource, formatBuildError, type BuildError, type TypecheckResult } from '../build/index.js';
import { ProcyonError, type ErrorCode } from '../errors.js';
import type { Invoker } from '../invoker/index.js';
import { fnKey, parseRoute, publicPath, type DeployedFunction, type Registry } from '../registry/index.js';
import type { RuntimeSpec, SandboxDriver, ScalingConfig } from '../sandbox/index.js';
import type { ArtifactService } from './artifacts.js';
import type { FunctionConfig, Store, VersionRecord } from '../store/index.js';
import { scalingConfig } from './scaling.js';
import type { FunctionInfo, VersionInfo } from './types.js';
import { CLASS_NAME_RE } from '../names.js';
import { assertName, checkKind, checkStyle, NAME_PATTERN } from './kind.js';

export { assertName, NAME_PATTERN };
/** What the API takes where a function or a process class is named (checked further by kind). */
export const FN_OR_CLASS_PATTERN = `^(?:${NAME_PATTERN.slice(1, -1)}|${CLASS_NAME_RE.source.slice(1, -1)})$`;

export const LIMITS = {
  memory: { min: 16, max: 2048, default: 128 },
  timeout: { min: 10, max: 900_000, default: 10_000 },
} as const;

export interface DeployInput {
  name: string;
  /** TypeScript or JavaScript for the isolate driver; absent for a native-driver function. */
  code?: string;
  filename?: string;
  memory?: number;
  timeout?: number;
  routes?: string[];
  vars?: Record<string, string>;
  /** Binding name → KV namespace. */
  kv?: Record<string, string>;
  /** Binding name → function in the same namespace. */
  services?: Record<string, string>;
  /** Private hosts the function's `fetch` may reach (`host[:port]` patterns). */
  egress?: { allow: string[] };
  /** Scaling policy; only the fields given are stored (src/control/scaling.ts checks them). */
  scaling?: ScalingConfig;
  /** Deploy the module's export `className` as a process class (docs/processes.md). */
  process?: { className: string };
  /** A native-driver function (docs/native-driver.md): the runtime its artifact runs on. */
  runtime?: RuntimeSpec['name'];
  /** `file.function` for the nodejs and python3 runtimes; optional for custom. */
  handler?: string;
  /** The program: a .zip or .tar.gz (the CLI packs a directory as .tar.gz). */
  artifact?: Buffer;
  /** Let the sandbox reach the network (through the egress policy); without it, none. */
  network?: boolean;
}

export interface FunctionServiceDeps {
  store: Store;
  registry: Registry;
  driver: SandboxDriver;
  artifacts: ArtifactService;
  invoker: Invoker;
  /** How long a delete waits for in-flight calls. (ms) */
  drainMs: number;
  /** The node's limit of procs per version, which a deploy's `scaling.minInstances` must fit in. */
  maxProcsPerVersion: number;
  baseUrl: () => string;
  /**
   * Type-checks one uploaded source when it is TypeScript, off the event loop (`BuildPool.check`);
   * rejects with a ProcyonError past its budget.
   */
  typecheck: (code: string, filename: string) => Promise<TypecheckResult>;
}

export class FunctionService {
  constructor(private readonly deps: FunctionServiceDeps) {}

  async deploy(
    namespace: string,
    input: DeployInput,
  ): Promise<{ fn: FunctionInfo; version: VersionInfo; created: boolean; changed: boolean }> {
    checkKind(input);
    const scaling = scalingConfig(input.scaling, this.deps.maxProcsPerVersion);
    const config: FunctionConfig = {
      memory: input.memory ?? LIMITS.memory.default,
      timeout: input.timeout ?? LIMITS.timeout.default,
      routes: [...new Set((input.routes ?? []).map((r) => parseRoute(r).raw))],
      vars: input.vars ?? {},
      // Only present when used, so versions deployed before bindings existed keep their hash.
      ...(input.kv && Object.keys(input.kv).length ? { kv: input.kv } : {}),
      ...(input.services && Object.keys(input.services).length ? { services: input.services } : {}),
      ...(input.egress?.allow.length ? { egress: { allow: [...new Set(input.egress.allow)] } } : {}),
      ...(scaling ? { scaling } : {}),
      ...(input.process ? { process: { className: input.process.className } } : {}),
    };
    this.#checkEnvNames(namespace, input.name, config);
    // Named in error messages: the module for isolates, the function itself for a program.
    const filename = input.filename ?? (input.runtime ? input.name : `${input.name}.ts`);
    const code = input.runtime ? '' : await this.#build(input.code ?? '', filename);
    if (input.runtime) {
      const artifact = await this.deps.artifacts.accept(
        input.artifact ?? Buffer.alloc(0),
        input.runtime,
        input.handler,
      );
      config.runtime = {
        name: input.runtime,
        handler: input.handler ?? '',
        artifact,
        network: input.network === true,
      };
    }
    const id = createHash('sha256').update(JSON.stringify({ code, config })).digest('hex').slice(0, 16);
    const draft: VersionRecord = {
      namespace,
      fn: input.name,
      id,
      code,
      config,
      style: input.runtime ? 'handler' : 'fetch',
      createdAt: Date.now(),
    };
    this.deps.registry.checkRoutes(draft);
    const existing = await this.deps.store.getVersion(namespace, input.name, id);
    let version: VersionRecord;
    if (existing) {
      version = existing;
    } else {
      const checked = await this.deps.driver.validate(this.deps.registry.specFor(draft));
      if (!checked.ok) {
        throw new ProcyonError(
          deployErrorCode(checked.error.code),
          `${filename}: ${checked.error.message}${locate(checked.error.stack, input.name)}`,
        );
      }
      checkStyle(input, checked.style, filename);
      version = { ...draft, style: checked.style };
    }
    const previous = this.deps.registry.get(namespace, input.name);
    const { fn, created, changed } = await this.deps.store.deploy(version);
    this.deps.registry.set({ record: fn, version, spec: this.deps.registry.specFor(version) });
    // The old version's warm isolates finish what they are doing and go.
    if (previous && previous.version.id !== version.id)
      this.deps.driver.retire(namespace, input.name, previous.version.id);
    const deployed = this.deps.registry.get(namespace, input.name) as DeployedFunction;
    return { fn: this.info(deployed), version: versionInfo(version), created, changed };
  }

  /** Bundles a module and type-checks it: the isolate driver's code. */
  async #build(source: string, filename: string): Promise<string> {
    if (!source)
      throw new ProcyonError('PROCYON_VALIDATION', 'a deploy needs code, or a runtime and an artifact');
    const built = await bundleSource(source, filename);
    if (!built.ok) throw buildFailed(built.error);
    // After bundling, which rejects imports: the check then never has another file to look for.
    // JavaScript (what the CLI uploads, having checked on the client) is not checked.
    const checked = await this.deps.typecheck(source, filename);
    if (!checked.ok) throw buildFailed(checked.error);
    return built.code;
  }

  /** `env` is one set of names: vars, KV and service bindings and secrets must not collide. */
  #checkEnvNames(namespace: string, fn: string, config: FunctionConfig): void {
    const seen = new Map<string, string>();
    const groups: [string, string[]][] = [
      ['var', Object.keys(config.vars)],
      ['KV binding', Object.keys(config.kv ?? {})],
      ['service binding', Object.keys(config.services ?? {})],
      ['secret', this.deps.registry.secretNames(namespace, fn)],
    ];
    for (const [kind, names] of groups) {
      for (const name of names) {
        const other = seen.get(name);
        if (other) throw new ProcyonError('PROCYON_VALIDATION', `"${name}" is both a ${other} and a ${kind}`);
        seen.set(name, kind);
      }
    }
  }

  get(namespace: string, name: string): FunctionInfo {
    const f = this.deps.registry.get(namespace, name);
    if (!f) throw notFound(namespace, name);
    return this.info(f);
  }

  list(namespace: string): FunctionInfo[] {
    return this.deps.registry
      .list(namespace)
      .map((f) => this.info(f))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async versions(namespace: string, name: string): Promise<VersionInfo[]> {
    if (!this.deps.registry.get(namespace, name)) throw notFound(namespace, name);
    return (await this.deps.store.listVersions(namespace, name)).map(versionInfo);
  }

  /** Unpublishes at once (new calls get 404), lets in-flight calls finish, then removes everything. */
  async delete(namespace: string, name: string): Promise<void> {
    if (!this.deps.registry.get(namespace, name)) throw notFound(namespace, name);
    this.deps.registry.remove(namespace, name);
    await this.deps.invoker.drain(fnKey(namespace, name), this.deps.drainMs);
    this.deps.driver.retire(namespace, name);
    await this.deps.store.deleteFunction(namespace, name);
  }

  info(f: DeployedFunction): FunctionInfo {
    const base = this.deps.baseUrl();
    const { config } = f.version;
    const urls = config.process
      ? [`${base}/p/${f.record.namespace}/${f.record.name}/<name>`]
      : [`${base}/fn/${f.record.namespace}/${f.record.name}`];
    for (const raw of config.routes)
      urls.push(`${base}${publicPath(f.record.namespace, parseRoute(raw).path)}`);
    return {
      namespace: f.record.namespace,
      name: f.record.name,
      latest: f.version.id,
      style: f.version.style,
      memory: config.memory,
      timeout: config.timeout,
      routes: config.routes,
      vars: config.vars,
      kv: config.kv ?? {},
      services: config.services ?? {},
      egress: config.egress ?? { allow: [] },
      scaling: config.scaling ?? {},
      ...(config.process ? { process: { className: config.process.className } } : {}),
      ...(config.runtime ? { runtime: config.runtime } : {}),
      secrets: this.deps.registry.secretNames(f.record.namespace, f.record.name).sort(),
      createdAt: new Date(f.record.createdAt).toISOString(),
      updatedAt: new Date(f.record.updatedAt).toISOString(),
      urls,
    };
  }
}

function versionInfo(v: VersionRecord): VersionInfo {
  return {
    id: v.id,
    createdAt: new Date(v.createdAt).toISOString(),
    memory: v.config.memory,
    timeout: v.config.timeout,
    routes: v.config.routes,
    scaling: v.config.scaling ?? {},
    size: Buffer.byteLength(v.code),
  };
}

/** What a failed validation means for the deploy: the node's trouble, or the code's. */
function deployErrorCode(code: ErrorCode): ErrorCode {
  return code === 'PROCYON_HOST_CRASHED' || code === 'PROCYON_SANDBOX_UNAVAILABLE'
    ? code
    : 'PROCYON_BUILD_FAILED';
}

function buildFailed(e: BuildError): ProcyonError {
  return new ProcyonError('PROCYON_BUILD_FAILED', formatBuildError(e), {
    details: { file: e.file, line: e.line, column: e.column },
  });
}

function notFound(namespace: string, name: string): ProcyonError {
  return new ProcyonError('PROCYON_FN_NOT_FOUND', `function "${name}" not found in namespace "${namespace}"`);
}

/** The first frame of an error raised while the module loaded, as ` (at hello.js:3:9)`. */
function locate(stack: string | undefined, fn: string): string {
  const m = stack && new RegExp(`${fn}\\.js:(\\d+):(\\d+)`).exec(stack);
  return m ? ` (at line ${m[1]}, column ${m[2]} of the bundled module)` : '';
}
