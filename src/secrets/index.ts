/**
 * Secrets at rest: AES-256-GCM under the node's master key. The key comes from
 * `PROCYON_MASTER_KEY` (base64, 32 bytes; what a cluster would share) or from `master.key` in the
 * data dir, created with mode 0600 on first start. Each sealed value is bound to its
 * (namespace, function, name) as additional data, so a sealed blob moved to another secret's row
 * does not decrypt. Plain values exist only in memory, on their way into an isolate.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcyonError } from '../errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FILE = 'master.key';

export class SecretBox {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  static async open(dataDir: string, fromEnv?: string): Promise<SecretBox> {
    if (fromEnv) {
      const key = Buffer.from(fromEnv, 'base64');
      if (key.byteLength !== 32)
        throw new ProcyonError(
          'PROCYON_CONFIG_INVALID',
          'PROCYON_MASTER_KEY must be 32 bytes, base64-encoded',
        );
      return new SecretBox(key);
    }
    const file = join(dataDir, KEY_FILE);
    try {
      const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
      if (key.byteLength !== 32)
        throw new ProcyonError('PROCYON_CONFIG_INVALID', `${file} does not hold a 32-byte base64 key`);
      return new SecretBox(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const key = randomBytes(32);
    // 'wx': never overwrite a key another process wrote in the meantime.
    await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return new SecretBox(key);
  }

  seal(label: string, plain: string): Uint8Array {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(label));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body]));
  }

  unseal(label: string, sealed: Uint8Array): string {
    const buf = Buffer.from(sealed);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(label));
    decipher.setAuthTag(buf.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(buf.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  }
}

export const secretLabel = (namespace: string, fn: string, name: string): string =>
  `${namespace}/${fn}/${name}`;
