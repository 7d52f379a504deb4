import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import {
  adminKeyPath,
  DEFAULT_URL,
  isLoopback,
  normaliseUrl,
  profilePath,
  readProfile,
  resolveTarget,
  writeProfile,
} from './config.js';
import { CliError } from './errors.js';

const root = mkdtempSync(join(tmpdir(), 'procyon-cli-config-'));
void after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh home, config dir and working directory per test, so no real profile is ever read. */
function sandbox() {
  const dir = mkdtempSync(join(root, 't-'));
  const home = join(dir, 'home');
  const cwd = join(dir, 'work');
  mkdirSync(home);
  mkdirSync(cwd);
  const env: NodeJS.ProcessEnv = { PROCYON_CONFIG_DIR: join(dir, 'config') };
  return { dir, home, cwd, env, profile: join(dir, 'config', 'profile.json') };
}

function writeAdminKey(cwd: string, key: string, dataDir = '.procyon') {
  mkdirSync(join(cwd, dataDir), { recursive: true });
  writeFileSync(join(cwd, dataDir, 'admin.key'), `${key}\n`);
}

void describe('resolveTarget', () => {
  let s: ReturnType<typeof sandbox>;
  void beforeEach(() => {
    s = sandbox();
  });

  void it('falls back to the local-dev URL and the admin key of ./.procyon', () => {
    writeAdminKey(s.cwd, 'admin-secret');
    const t = resolveTarget({ flags: {}, env: s.env, cwd: s.cwd, home: s.home });
    assert.deepEqual(t, {
      url: DEFAULT_URL,
      key: 'admin-secret',
      urlSource: 'default',
      keySource: 'admin.key',
    });
  });

  void it('reads the admin key from PROCYON_DATA_DIR', () => {
    writeAdminKey(s.cwd, 'other', 'data');
    const t = resolveTarget({
      flags: {},
      env: { ...s.env, PROCYON_DATA_DIR: 'data' },
      cwd: s.cwd,
      home: s.home,
    });
    assert.equal(t.key, 'other');
  });

  void it('has no key when nothing provides one', () => {
    const t = resolveTarget({ flags: {}, env: s.env, cwd: s.cwd, home: s.home });
    assert.equal(t.key, undefined);
    assert.equal(t.keySource, undefined);
  });

  void it('prefers flags over env over profile', () => {
    writeProfile(s.profile, { url: 'https://profile.example', key: 'p-key' });
    const env = { ...s.env, PROCYON_URL: 'https://env.example', PROCYON_KEY: 'e-key' };
    const base = { cwd: s.cwd, home: s.home };

    assert.deepEqual(resolveTarget({ ...base, flags: {}, env: s.env }), {
      url: 'https://profile.example',
      key: 'p-key',
      urlSource: 'profile',
      keySource: 'profile',
    });
    assert.deepEqual(resolveTarget({ ...base, flags: {}, env }), {
      url: 'https://env.example',
      key: 'e-key',
      urlSource: 'env',
      keySource: 'env',
    });
    assert.deepEqual(resolveTarget({ ...base, flags: { url: 'https://flag.example/', key: 'f-key' }, env }), {
      url: 'https://flag.example',
      key: 'f-key',
      urlSource: 'flag',
      keySource: 'flag',
    });
  });

  void it("does not send the profile's key to another URL", () => {
    writeProfile(s.profile, { url: 'https://profile.example', key: 'p-key' });
    const t = resolveTarget({
      flags: { url: 'https://elsewhere.example' },
      env: s.env,
      cwd: s.cwd,
      home: s.home,
    });
    assert.equal(t.key, undefined);
    const same = resolveTarget({
      flags: { url: 'https://profile.example/' },
      env: s.env,
      cwd: s.cwd,
      home: s.home,
    });
    assert.equal(same.key, 'p-key');
  });

  void it('sends the local admin key only to loopback URLs', () => {
    writeAdminKey(s.cwd, 'admin-secret');
    const remote = resolveTarget({
      flags: { url: 'https://remote.example' },
      env: s.env,
      cwd: s.cwd,
      home: s.home,
    });
    assert.equal(remote.key, undefined);
    const local = resolveTarget({
      flags: { url: 'http://localhost:9000' },
      env: s.env,
      cwd: s.cwd,
      home: s.home,
    });
    assert.equal(local.key, 'admin-secret');
  });

  void it('treats empty env values as unset', () => {
    writeAdminKey(s.cwd, 'admin-secret');
    const t = resolveTarget({
      flags: {},
      env: { ...s.env, PROCYON_URL: '', PROCYON_KEY: '' },
      cwd: s.cwd,
      home: s.home,
    });
    assert.equal(t.url, DEFAULT_URL);
    assert.equal(t.key, 'admin-secret');
  });

  void it('rejects a malformed URL as a usage error', () => {
    assert.throws(
      () => resolveTarget({ flags: { url: 'localhost:8080' }, env: s.env, cwd: s.cwd, home: s.home }),
      (err: unknown) =>
        err instanceof CliError && err.exitCode === 2 && /only http and https/.test(err.message),
    );
    assert.throws(
      () => resolveTarget({ flags: { url: 'not a url' }, env: s.env, cwd: s.cwd, home: s.home }),
      (err: unknown) => err instanceof CliError && /invalid URL "not a url"/.test(err.message),
    );
  });
});

void describe('profile', () => {
  void it('defaults to ~/.config/procyon/profile.json', () => {
    assert.equal(profilePath({}, '/home/ada'), '/home/ada/.config/procyon/profile.json');
    assert.equal(profilePath({ PROCYON_CONFIG_DIR: '/etc/p' }, '/home/ada'), '/etc/p/profile.json');
  });

  void it('is written with mode 0600, also over an existing file', () => {
    const s = sandbox();
    mkdirSync(join(s.dir, 'config'));
    writeFileSync(s.profile, '{}', { mode: 0o644 });
    writeProfile(s.profile, { url: 'http://a', key: 'k' });
    assert.equal(statSync(s.profile).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(s.profile, 'utf8')), { url: 'http://a', key: 'k' });
    assert.deepEqual(readProfile(s.profile), { url: 'http://a', key: 'k' });
  });

  void it('reports a corrupt profile instead of ignoring it', () => {
    const s = sandbox();
    mkdirSync(join(s.dir, 'config'));
    writeFileSync(s.profile, '{not json');
    assert.throws(() => readProfile(s.profile), /is not valid JSON; run procyon login again/);
    writeFileSync(s.profile, '{"url": 1}');
    assert.throws(() => readProfile(s.profile), /must be \{"url": \.\.\., "key": \.\.\.\}/);
  });
});

void describe('helpers', () => {
  void it('normalises URLs', () => {
    assert.equal(normaliseUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
    assert.equal(normaliseUrl('https://x.example/base//'), 'https://x.example/base');
  });

  void it('knows loopback hosts', () => {
    for (const u of ['http://127.0.0.1:1', 'http://localhost', 'http://[::1]:8080', 'http://127.1.2.3']) {
      assert.equal(isLoopback(u), true, u);
    }
    for (const u of ['http://10.0.0.1', 'https://procyon.example', 'http://127.0.0.1.nip.io']) {
      assert.equal(isLoopback(u), false, u);
    }
  });

  void it('resolves the admin key path against the working directory', () => {
    assert.equal(adminKeyPath({}, '/srv/app'), '/srv/app/.procyon/admin.key');
    assert.equal(adminKeyPath({ PROCYON_DATA_DIR: '/var/lib/p' }, '/srv/app'), '/var/lib/p/admin.key');
  });
});
