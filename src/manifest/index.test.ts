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

  it('reads a scaling table from JSON and TOML with the same camelCase keys', async () => {
    const scaling = { concurrency: 10, minInstances: 1, maxInstances: 4, keepAliveMs: 30_000 };
    const a = dir();
    writeFileSync(join(a, 'procyon.json'), JSON.stringify({ main: 'x.ts', scaling }));
    assert.deepEqual((await readManifest(a))?.functions[0]?.scaling, scaling);
    const b = dir();
    writeFileSync(
      join(b, 'procyon.toml'),
      'main = "x.ts"\n[scaling]\nconcurrency = 10\nminInstances = 1\nmaxInstances = 4\nkeepAliveMs = 30_000\n',
    );
    assert.deepEqual({ ...(await readManifest(b))?.functions[0]?.scaling }, scaling);
    const partial = dir();
    writeFileSync(join(partial, 'procyon.toml'), 'main = "x.ts"\n[scaling]\nmaxInstances = 2\n');
    assert.deepEqual({ ...(await readManifest(partial))?.functions[0]?.scaling }, { maxInstances: 2 });
  });

  it('rejects unknown scaling keys and values that are not whole numbers, naming the field', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'procyon.json',
        JSON.stringify({ main: 'x.ts', scaling: { keepAlive: 5 } }),
        /procyon\.json: scaling: .*keepAlive/,
      ],
      [
        'procyon.toml',
        'main = "x.ts"\n[scaling]\nmax_instances = 2\n',
        /procyon\.toml: scaling: .*max_instances/,
      ],
      [
        'procyon.json',
        JSON.stringify({ main: 'x.ts', scaling: { concurrency: 1.5 } }),
        /procyon\.json: scaling\.concurrency: /,
      ],
      [
        'procyon.json',
        JSON.stringify({ main: 'x.ts', scaling: { minInstances: -1 } }),
        /procyon\.json: scaling\.minInstances: /,
      ],
      [
        'procyon.toml',
        'main = "x.ts"\n[scaling]\nkeepAliveMs = "30s"\n',
        /procyon\.toml: scaling\.keepAliveMs: /,
      ],
    ];
    for (const [file, text, error] of cases) {
      const d = dir();
      writeFileSync(join(d, file), text);
      await assert.rejects(readManifest(d), error, text);
    }
  });

  it('reads "process" from JSON and TOML, also in a list, and refuses a name that is not a class', async () => {
    const a = dir();
    writeFileSync(join(a, 'procyon.json'), JSON.stringify({ main: 'counter.ts', process: 'Counter' }));
    assert.equal((await readManifest(a))?.functions[0]?.process, 'Counter');
    const b = dir();
    writeFileSync(
      join(b, 'procyon.toml'),
      '[[functions]]\nmain = "room.ts"\nprocess = "Chat_Room2"\n\n[[functions]]\nmain = "hello.ts"\n',
    );
    assert.deepEqual(
      (await readManifest(b))?.functions.map((f) => f.process),
      ['Chat_Room2', undefined],
    );
    for (const bad of ['2Counter', 'Count-er', '', 'C'.repeat(64), 7]) {
      const d = dir();
      writeFileSync(join(d, 'procyon.json'), JSON.stringify({ main: 'x.ts', process: bad }));
      await assert.rejects(readManifest(d), /procyon\.json: process: /, String(bad));
    }
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
    // Both kinds carry the code the CLI and `serve` report them with.
    await assert.rejects(readManifest(bad), { code: 'PROCYON_CONFIG_INVALID' });
    await assert.rejects(readManifest(syntax), { code: 'PROCYON_CONFIG_INVALID' });
  });
});
