import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readManifest } from './index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'procyon-manifest-'));

describe('readManifest', () => {
  it('reads one function from procyon.json and several from procyon.toml', async () => {
    const a = dir();
    writeFileSync(join(a, 'procyon.json'), JSON.stringify({ main: 'x.ts', kv: { STORE: 'counts' } }));
    assert.deepEqual((await readManifest(a))?.functions, [{ main: 'x.ts', kv: { STORE: 'counts' } }]);
    const b = dir();
    writeFileSync(
      join(b, 'procyon.toml'),
      '[[functions]]\nname = "a"\nmain = "a.ts"\nroutes = ["GET /a"]\n[functions.vars]\nX = "1"\n\n[[functions]]\nmain = "b.ts"\n',
    );
    const m = await readManifest(b);
    assert.deepEqual(
      m?.functions.map((f) => [f.name, f.main, f.vars]),
      [
        ['a', 'a.ts', { X: '1' }],
        [undefined, 'b.ts', undefined],
      ],
    );
  });

  it('is null without a manifest and names the file and field when one is wrong', async () => {
    assert.equal(await readManifest(dir()), null);
    const bad = dir();
    writeFileSync(join(bad, 'procyon.json'), JSON.stringify({ main: 'x.ts', memory: 'lots' }));
    await assert.rejects(readManifest(bad), /procyon\.json: memory: /);
    const unknown = dir();
    writeFileSync(join(unknown, 'procyon.json'), JSON.stringify({ main: 'x.ts', surprise: true }));
    await assert.rejects(readManifest(unknown), /procyon\.json/);
    const syntax = dir();
    writeFileSync(join(syntax, 'procyon.toml'), 'main = ');
    await assert.rejects(readManifest(syntax), /procyon\.toml: /);
  });
});
