// A proc spec for scheduler tests: the fields the scheduler reads, with small defaults.
import type { ProcSpec, ScalingConfig } from '../sandbox/index.js';

export function spec(fn: string, scaling: ScalingConfig = {}, namespace = 'ns', version = 'v1'): ProcSpec {
  return {
    key: `${namespace}/${fn}@${version}`,
    namespace,
    fn,
    version,
    code: '',
    memoryMb: 128,
    timeoutMs: 1000,
    vars: {},
    secrets: {},
    bindings: { kv: [], services: [] },
    egress: { allow: [] },
    scaling,
  };
}
