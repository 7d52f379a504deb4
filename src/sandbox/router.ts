/**
 * The node's one SandboxDriver: a version with a `runtime` (a Linux program) goes to the native
 * driver, everything else to the isolate driver. Callers (the invoker, the control plane) never
 * see which one runs a function.
 */
import type {
  DriverCallOptions,
  DriverOutput,
  DriverStats,
  InvokeInput,
  ProcSpec,
  SandboxDriver,
  ValidateOutput,
} from './types.js';

export class SandboxRouter implements SandboxDriver {
  readonly name = 'router';

  constructor(
    readonly isolate: SandboxDriver,
    readonly native: SandboxDriver,
  ) {}

  #for(spec: ProcSpec): SandboxDriver {
    return spec.runtime ? this.native : this.isolate;
  }

  validate(spec: ProcSpec): Promise<ValidateOutput> {
    return this.#for(spec).validate(spec);
  }

  invoke(spec: ProcSpec, input: InvokeInput, opts: DriverCallOptions): Promise<DriverOutput> {
    return this.#for(spec).invoke(spec, input, opts);
  }

  capacity(spec: ProcSpec): number {
    return this.#for(spec).capacity(spec);
  }

  retire(namespace: string, fn: string, version?: string): void {
    this.isolate.retire(namespace, fn, version);
    this.native.retire(namespace, fn, version);
  }

  stats(): DriverStats {
    const a = this.isolate.stats();
    const b = this.native.stats();
    return { hosts: a.hosts, hostRestarts: a.hostRestarts, inFlight: a.inFlight + b.inFlight };
  }

  async close(): Promise<void> {
    await Promise.all([this.isolate.close(), this.native.close()]);
  }
}
