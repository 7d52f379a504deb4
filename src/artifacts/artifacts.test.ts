import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ProcyonError } from '../errors.js';
import {
  ArtifactCache,
  checkArtifact,
  detectFormat,
  hashArtifact,
  packDirectory,
  unpack,
} from './artifacts.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'procyon-artifact-'));

function tree(): string {
  const dir = tmp();
  mkdirSync(join(dir, 'lib/deep'), { recursive: true });
  writeFileSync(join(dir, 'app.py'), 'def handler(e, c):\n    return 1\n');
  writeFileSync(join(dir, 'bootstrap'), '#!/bin/sh\n');
  chmodSync(join(dir, 'bootstrap'), 0o755);
  writeFileSync(join(dir, 'lib/deep/data.bin'), Buffer.from([0, 1, 2, 255]));
  symlinkSync('deep/data.bin', join(dir, 'lib/alias'));
  return dir;
}

/** A zip made by Python's zipfile, with entries as given (name → content, or null for a link to /etc/passwd). */
function zip(entries: Record<string, string | null>): Buffer {
  const out = join(tmp(), 'a.zip');
  const script = `
import zipfile, sys, json
entries = json.loads(sys.argv[2])
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name, content in entries.items():
        if content is None:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, "/etc/passwd")
        else:
            z.writestr(name, content)
`;
  execFileSync('python3', ['-c', script, out, JSON.stringify(entries)]);
  return readFileSync(out);
}

const refused = async (p: Promise<unknown>, message: RegExp): Promise<void> => {
  await assert.rejects(
    p,
    (e: unknown) => e instanceof ProcyonError && e.code === 'PROCYON_VALIDATION' && message.test(e.message),
  );
};

describe('artifacts', () => {
  test('a packed directory unpacks to the same tree, modes and links; the same tree gives the same bytes', async () => {
    const dir = tree();
    const a = await packDirectory(dir);
    const b = await packDirectory(dir);
    assert.equal(hashArtifact(a), hashArtifact(b));
    assert.equal(detectFormat(a), 'tar.gz');
    const out = join(tmp(), 'x');
    await unpack(a, 'tar.gz', out);
    assert.equal(readFileSync(join(out, 'app.py'), 'utf8'), 'def handler(e, c):\n    return 1\n');
    assert.deepEqual([...readFileSync(join(out, 'lib/alias'))], [0, 1, 2, 255]);
    assert.ok(statSync(join(out, 'bootstrap')).mode & 0o100);
    assert.equal(statSync(join(out, 'app.py')).mode & 0o111, 0);
  });

  test('zip archives unpack; traversal, absolute paths, links out and duplicates are refused', async () => {
    const out = join(tmp(), 'z');
    await unpack(zip({ 'app.py': 'x = 1\n', 'pkg/mod.py': 'y = 2\n' }), 'zip', out);
    assert.equal(readFileSync(join(out, 'pkg/mod.py'), 'utf8'), 'y = 2\n');
    await refused(
      unpack(zip({ '../evil.py': 'x' }), 'zip', join(tmp(), 'a')),
      /unsafe path|invalid relative path/,
    );
    await refused(unpack(zip({ 'a/../../evil.py': 'x' }), 'zip', join(tmp(), 'b')), /unsafe path|invalid/i);
    await refused(unpack(zip({ link: null }), 'zip', join(tmp(), 'c')), /links are not allowed/);
    const target = tmp();
    await refused(unpack(zip({ '/abs.py': 'x' }), 'zip', join(target, 'd')), /unsafe path|invalid|absolute/i);
    assert.equal(existsSync('/abs.py'), false);
  });

  test('a tar.gz with a link out of the tree, or a path through a link, is refused', async () => {
    const dir = tmp();
    symlinkSync('/etc', join(dir, 'etc'));
    await refused(packDirectory(dir), /links outside the directory/);
    const evil = join(tmp(), 'evil.tar.gz');
    const src = tmp();
    symlinkSync('/tmp', join(src, 'out'));
    execFileSync('tar', ['czf', evil, '-C', src, 'out']);
    await refused(unpack(readFileSync(evil), 'tar.gz', join(tmp(), 'e')), /links outside the tree/);
    // Each link looks inside by its path; followed, the second leaves the tree through the first.
    const sneaky = tmp();
    symlinkSync('.', join(sneaky, 'a'));
    symlinkSync('a/..', join(sneaky, 'e'));
    const sneakyTar = join(tmp(), 'sneaky.tar.gz');
    execFileSync('tar', ['czf', sneakyTar, '-C', sneaky, 'a', 'e']);
    await refused(unpack(readFileSync(sneakyTar), 'tar.gz', join(tmp(), 's')), /e links outside the tree/);
  });

  test('a bomb stops at the size cap while streaming; garbage is a clear error', async () => {
    const big = join(tmp(), 'big.tar.gz');
    execFileSync('sh', [
      '-c',
      `head -c ${600 * 2 ** 20} /dev/zero > "$1/zeros" && tar czf "${big}" -C "$1" zeros`,
      'sh',
      tmp(),
    ]);
    const dest = join(tmp(), 'bomb');
    await refused(unpack(readFileSync(big), 'tar.gz', dest), /more than \d+ bytes/);
    assert.throws(() => detectFormat(Buffer.from('hello')), /not a \.zip or a \.tar\.gz/);
    await refused(
      unpack(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'tar.gz', join(tmp(), 'g')),
      /not a valid \.tar\.gz|unexpected/i,
    );
  });

  test('the cache unpacks once, read-only, whoever asks at the same time', async () => {
    const bytes = await packDirectory(tree());
    const hash = hashArtifact(bytes);
    let reads = 0;
    const cache = new ArtifactCache({
      dir: tmp(),
      store: { getArtifact: async () => (reads++, { format: 'tar.gz' as const, bytes }) },
    });
    const [a, b] = await Promise.all([cache.path(hash), cache.path(hash)]);
    assert.equal(a, b);
    assert.equal(reads, 1);
    assert.equal(statSync(a).mode & 0o222, 0);
    assert.equal(statSync(join(a, 'app.py')).mode & 0o777, 0o444);
    assert.equal(statSync(join(a, 'bootstrap')).mode & 0o777, 0o555);
    await assert.rejects(cache.path('../x'), /bad artifact hash/);
  });

  test('checkArtifact: the bootstrap or the handler file must be there', async () => {
    const dir = tree();
    await checkArtifact(dir, 'custom', undefined);
    await checkArtifact(dir, 'python3', 'app.handler');
    await refused(checkArtifact(dir, 'nodejs', 'index.handler'), /index\.js or index\.mjs or index\.cjs/);
    await refused(checkArtifact(dir, 'python3', 'lib.deep.mod.handler'), /lib\/deep\/mod\.py/);
    const noexec = tmp();
    writeFileSync(join(noexec, 'bootstrap'), 'x');
    await refused(checkArtifact(noexec, 'custom', undefined), /executable file named "bootstrap"/);
  });
});
