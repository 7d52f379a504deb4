import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SecretBox, secretLabel } from './index.js';

describe('SecretBox', () => {
  it('creates a 0600 master key once and round-trips values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procyon-secrets-'));
    const box = await SecretBox.open(dir);
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    const sealed = box.seal(secretLabel('ns', 'fn', 'TOKEN'), 's3cret value');
    assert.ok(!Buffer.from(sealed).includes(Buffer.from('s3cret')), 'ciphertext hides the value');
    const again = await SecretBox.open(dir);
    assert.equal(again.unseal(secretLabel('ns', 'fn', 'TOKEN'), sealed), 's3cret value');
  });

  it('refuses a sealed value under another label, a tampered one, or a wrong key', async () => {
    const box = await SecretBox.open(mkdtempSync(join(tmpdir(), 'procyon-secrets-')));
    const sealed = box.seal('a/b/C', 'v');
    assert.throws(() => box.unseal('a/b/D', sealed));
    const tampered = new Uint8Array(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    assert.throws(() => box.unseal('a/b/C', tampered));
    const other = await SecretBox.open('/nonexistent', Buffer.alloc(32, 7).toString('base64'));
    assert.throws(() => other.unseal('a/b/C', sealed));
    await assert.rejects(SecretBox.open('/nonexistent', 'c2hvcnQ='), /32 bytes/);
  });
});
