/**
 * Secrets of a function: set, list (names only) and delete. Values are sealed before they reach
 * the store and are never returned by any API. A change takes effect on the next call: the
 * function's warm isolates are retired so that new ones start with the new `env`.
 */
import { ProcyonError } from '../errors.js';
import type { Registry } from '../registry/index.js';
import type { SandboxDriver } from '../sandbox/index.js';
import { secretLabel, type SecretBox } from '../secrets/index.js';
import type { Store } from '../store/index.js';

/** Largest secret value. (bytes) */
export const MAX_SECRET_BYTES = 64 * 1024;
export const SECRET_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';

export interface SecretInfo {
  name: string;
  updatedAt: string;
}

/** Every secret of a function, decrypted, for its isolates' `env`. */
export async function unsealSecrets(
  store: Store,
  box: SecretBox,
  namespace: string,
  fn: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of await store.listSecrets(namespace, fn)) {
    out[s.name] = box.unseal(secretLabel(namespace, fn, s.name), s.sealed);
  }
  return out;
}

export class SecretService {
  constructor(
    private readonly deps: { store: Store; box: SecretBox; registry: Registry; driver: SandboxDriver },
  ) {}

  async put(namespace: string, fn: string, name: string, value: string): Promise<SecretInfo> {
    const deployed = this.#deployed(namespace, fn);
    if (!new RegExp(SECRET_NAME_PATTERN).test(name)) {
      throw new ProcyonError(
        'PROCYON_VALIDATION',
        `invalid secret name "${name.slice(0, 80)}": use letters, digits and _`,
      );
    }
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES) {
      throw new ProcyonError(
        'PROCYON_PAYLOAD_TOO_LARGE',
        `secret values are at most ${MAX_SECRET_BYTES} bytes`,
      );
    }
    const { config } = deployed.version;
    if (name in config.vars || name in (config.kv ?? {}) || name in (config.services ?? {})) {
      throw new ProcyonError('PROCYON_CONFLICT', `"${name}" is already a var or binding of function "${fn}"`);
    }
    const updatedAt = Date.now();
    const sealed = this.deps.box.seal(secretLabel(namespace, fn, name), value);
    await this.deps.store.putSecret({ namespace, fn, name, sealed, updatedAt });
    await this.#reload(namespace, fn);
    return { name, updatedAt: new Date(updatedAt).toISOString() };
  }

  async list(namespace: string, fn: string): Promise<SecretInfo[]> {
    this.#deployed(namespace, fn);
    return (await this.deps.store.listSecrets(namespace, fn)).map((s) => ({
      name: s.name,
      updatedAt: new Date(s.updatedAt).toISOString(),
    }));
  }

  async delete(namespace: string, fn: string, name: string): Promise<void> {
    this.#deployed(namespace, fn);
    if (!(await this.deps.store.deleteSecret(namespace, fn, name))) {
      throw new ProcyonError('PROCYON_NOT_FOUND', `secret "${name}" not found on function "${fn}"`);
    }
    await this.#reload(namespace, fn);
  }

  #deployed(namespace: string, fn: string) {
    const deployed = this.deps.registry.get(namespace, fn);
    if (!deployed)
      throw new ProcyonError(
        'PROCYON_FN_NOT_FOUND',
        `function "${fn}" not found in namespace "${namespace}"`,
      );
    return deployed;
  }

  async #reload(namespace: string, fn: string): Promise<void> {
    this.deps.registry.setSecrets(
      namespace,
      fn,
      await unsealSecrets(this.deps.store, this.deps.box, namespace, fn),
    );
    this.deps.driver.retire(namespace, fn);
  }
}
