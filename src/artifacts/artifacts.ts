/**
 * A native-driver function's program (docs/native-driver.md): a directory the CLI packs as a
 * deterministic .tar.gz, or a .zip / .tar.gz as uploaded; stored by the SHA-256 of its bytes and
 * unpacked read-only once per node. Unpacking treats the archive as hostile: no path leaves the
 * tree, no link points out of it, no device files, and a bomb stops at the size and file caps
 * while it streams, before it is all written.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { ProcyonError } from '../errors.js';
import type { ArtifactFormat, RuntimeSpec } from '../store/index.js';

/** Which bootstrap an artifact is checked against. */
type NativeRuntime = RuntimeSpec['name'];

export type { ArtifactFormat };

export const ARTIFACT_LIMITS = {
  /** Bytes all files of an unpacked artifact may take. */
  unpackedBytes: 512 * 2 ** 20,
  files: 20_000,
} as const;

const bad = (message: string): ProcyonError => new ProcyonError('PROCYON_VALIDATION', `artifact: ${message}`);

export function hashArtifact(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** By magic number: a zip starts with `PK\x03\x04` (or is an empty zip), a gzip with 1f 8b. */
export function detectFormat(bytes: Uint8Array): ArtifactFormat {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5)) return 'zip';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'tar.gz';
  throw bad('not a .zip or a .tar.gz');
}

/**
 * A directory as a gzipped tar, the same bytes for the same tree: sorted entries, no times,
 * owners or other modes than "executable or not". Links must stay inside the tree.
 */
export async function packDirectory(dir: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  let total = 0;
  let files = 0;
  const fixed = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const info = await lstat(full);
      if (++files > ARTIFACT_LIMITS.files) throw bad(`more than ${ARTIFACT_LIMITS.files} files`);
      if (info.isDirectory()) {
        pack.entry({ ...fixed, name: `${path}/`, type: 'directory', mode: 0o755 });
        await walk(path);
      } else if (info.isSymbolicLink()) {
        const target = await readlink(full);
        if (!inside(path, target)) throw bad(`${path} links outside the directory (${target})`);
        pack.entry({ ...fixed, name: path, type: 'symlink', linkname: target, mode: 0o777 });
      } else if (info.isFile()) {
        total += info.size;
        if (total > ARTIFACT_LIMITS.unpackedBytes)
          throw bad(`more than ${ARTIFACT_LIMITS.unpackedBytes} bytes`);
        const mode = info.mode & 0o111 ? 0o755 : 0o644;
        await new Promise<void>((resolve, reject) => {
          void readFile(full).then(
            (data) =>
              pack.entry({ ...fixed, name: path, type: 'file', mode }, data, (err) =>
                err ? reject(err) : resolve(),
              ),
            reject,
          );
        });
      } else throw bad(`${path} is not a file, directory or link`);
    }
  };
  await walk('');
  pack.finalize();
  await ended;
  // gzip's header holds no time when made this way (mtime 0), so the bytes are reproducible.
  return gzipSync(Buffer.concat(chunks), { level: 6 });
}

/** Whether link `target`, found at `path` (both relative to the tree's root), stays in the tree. */
function inside(path: string, target: string): boolean {
  if (isAbsolute(target)) return false;
  const resolved = normalize(join(dirname(path), target));
  return resolved !== '..' && !resolved.startsWith(`..${sep}`) && !isAbsolute(resolved);
}

/** An entry's path made safe, or an error: relative, no `..`, no backslashes or NULs. */
function safePath(name: string): string {
  const trimmed = name.replace(/^\.\//, '').replace(/\/+$/, '');
  if (!trimmed || trimmed === '.') return '';
  if (isAbsolute(trimmed) || /\\|\0/.test(trimmed) || trimmed.split('/').some((s) => s === '..'))
    throw bad(`unsafe path "${name.slice(0, 200)}"`);
  return normalize(trimmed);
}

/** Counts what an unpack writes, refusing past the caps. */
class Budget {
  bytes = 0;
  files = 0;
  readonly seen = new Set<string>();
  file(path: string): void {
    if (this.seen.has(path)) throw bad(`"${path}" appears twice`);
    this.seen.add(path);
    if (++this.files > ARTIFACT_LIMITS.files) throw bad(`more than ${ARTIFACT_LIMITS.files} entries`);
  }
  add(n: number): void {
    this.bytes += n;
    if (this.bytes > ARTIFACT_LIMITS.unpackedBytes)
      throw bad(`unpacks to more than ${ARTIFACT_LIMITS.unpackedBytes} bytes`);
  }
}

/** Makes `rel`'s parent directories under `dest`, refusing to pass through a link. */
async function parentOf(dest: string, rel: string): Promise<string> {
  const parts = rel.split(sep).slice(0, -1);
  let dir = dest;
  for (const part of parts) {
    dir = join(dir, part);
    const info = await lstat(dir).catch(() => null);
    if (!info) await mkdir(dir);
    else if (!info.isDirectory()) throw bad(`"${relative(dest, dir)}" is not a directory`);
  }
  return join(dest, rel);
}

async function writeEntry(stream: Readable, to: string, budget: Budget): Promise<void> {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        budget.add(chunk.byteLength);
        done(null, chunk);
      } catch (err) {
        done(err as Error);
      }
    },
  });
  await pipeline(stream, counter, createWriteStream(to, { flags: 'wx', mode: 0o644 }));
}

async function unpackTarGz(bytes: Uint8Array, dest: string, budget: Budget): Promise<void> {
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      void (async () => {
        const rel = safePath(header.name);
        if (!rel) return stream.resume();
        budget.file(rel);
        const to = await parentOf(dest, rel);
        if (header.type === 'directory') {
          await mkdir(to).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e;
          });
          stream.resume();
        } else if (header.type === 'file' || header.type === 'contiguous-file') {
          await writeEntry(stream as unknown as Readable, to, budget);
          if ((header.mode ?? 0) & 0o111) await chmod(to, 0o755);
        } else if (header.type === 'symlink') {
          if (!inside(rel, header.linkname ?? '/')) throw bad(`${rel} links outside the tree`);
          await symlink(header.linkname ?? '', to);
          stream.resume();
        } else throw bad(`${rel}: ${header.type} entries are not allowed`);
      })().then(
        () => next(),
        (err: unknown) => {
          stream.resume();
          extract.destroy(err as Error);
        },
      );
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  const gunzip = createGunzip();
  gunzip.on('error', (err) => extract.destroy(bad(`not a valid .tar.gz (${err.message})`)));
  Readable.from([Buffer.from(bytes)])
    .pipe(gunzip)
    .pipe(extract);
  await done;
}

async function unpackZip(bytes: Uint8Array, dest: string, budget: Budget): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(
      Buffer.from(bytes),
      { lazyEntries: true, validateEntrySizes: true, strictFileNames: true },
      (err, z) => (err ? reject(bad(`not a valid .zip (${err.message})`)) : resolve(z)),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      void (async () => {
        const rel = safePath(entry.fileName);
        if (!rel) return;
        budget.file(rel);
        const to = await parentOf(dest, rel);
        const mode = (entry.externalFileAttributes >>> 16) & 0o177777;
        if (entry.fileName.endsWith('/')) return void (await mkdir(to, { recursive: true }));
        if ((mode & 0o170000) === 0o120000) throw bad(`${rel}: links are not allowed in a .zip`);
        // Zips made off Unix carry no file type; those are plain files.
        const type = mode & 0o170000;
        if (type && type !== 0o100000) throw bad(`${rel}: only files and directories are allowed`);
        // The size the archive claims is checked before reading; validateEntrySizes holds it to that.
        if (entry.uncompressedSize > ARTIFACT_LIMITS.unpackedBytes - budget.bytes)
          throw bad(`unpacks to more than ${ARTIFACT_LIMITS.unpackedBytes} bytes`);
        const stream = await new Promise<Readable>((res, rej) =>
          zip.openReadStream(entry, (err, s) => (err ? rej(bad(err.message)) : res(s))),
        );
        await writeEntry(stream, to, budget);
        if (mode & 0o111) await chmod(to, 0o755);
      })().then(
        () => zip.readEntry(),
        (err: unknown) => {
          zip.close();
          reject(err instanceof ProcyonError ? err : bad((err as Error).message));
        },
      );
    });
    zip.on('end', resolve);
    zip.on('error', (err: Error) => reject(bad(err.message)));
    zip.readEntry();
  });
}

/** Unpacks `bytes` into `dest` (created; left partly written on error, for the caller to remove). */
export async function unpack(bytes: Uint8Array, format: ArtifactFormat, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const budget = new Budget();
  if (format === 'zip') await unpackZip(bytes, dest, budget);
  else await unpackTarGz(bytes, dest, budget);
  await checkLinks(dest, await realpath(dest));
}

/**
 * Every link, followed as the file system follows it, must end inside the tree: a path check
 * alone misses links through other links (`a -> .`, then `e -> a/..`).
 */
async function checkLinks(dir: string, root: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await checkLinks(path, root);
    else if (entry.isSymbolicLink()) {
      const target = await realpath(path).catch(() => null);
      if (target === null || (target !== root && !target.startsWith(`${root}${sep}`)))
        throw bad(`${relative(root, path)} links outside the tree (or nowhere)`);
    }
  }
}

/** Every directory 0555 and every file 0444 or 0555: nobody in a sandbox can change the code. */
async function freeze(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await freeze(path);
    else if (entry.isFile()) await chmod(path, (await stat(path)).mode & 0o111 ? 0o555 : 0o444);
  }
  await chmod(dir, 0o555);
}

/** Unpacked artifacts of this node, by hash: unpacked on first use, from the store. */
export class ArtifactCache {
  readonly #unpacking = new Map<string, Promise<string>>();

  constructor(
    private readonly deps: {
      dir: string;
      store: { getArtifact(hash: string): Promise<{ format: ArtifactFormat; bytes: Uint8Array } | null> };
    },
  ) {}

  /** The directory of artifact `hash`, unpacked read-only (once, whoever asks at the same time). */
  path(hash: string): Promise<string> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return Promise.reject(bad(`bad artifact hash "${hash.slice(0, 80)}"`));
    let p = this.#unpacking.get(hash);
    if (!p) {
      p = this.#unpack(hash);
      this.#unpacking.set(hash, p);
      // A failure is not kept: the next caller tries again.
      p.catch(() => this.#unpacking.delete(hash));
    }
    return p;
  }

  async #unpack(hash: string): Promise<string> {
    const final = join(this.deps.dir, hash);
    if (await stat(final).catch(() => null)) return final;
    const found = await this.deps.store.getArtifact(hash);
    if (!found) throw new ProcyonError('PROCYON_NOT_FOUND', `artifact ${hash} is not in the store`);
    await mkdir(this.deps.dir, { recursive: true, mode: 0o755 });
    const tmp = join(this.deps.dir, `.tmp-${hash}-${randomBytes(4).toString('hex')}`);
    try {
      await unpack(found.bytes, found.format, tmp);
      await freeze(tmp);
      await rename(tmp, final);
    } catch (err) {
      await chmodTree(tmp);
      await rm(tmp, { recursive: true, force: true });
      // Another unpack of the same hash (another node process on this data dir) may have won.
      if (
        (err as NodeJS.ErrnoException).code === 'ENOTEMPTY' ||
        (err as NodeJS.ErrnoException).code === 'EEXIST'
      )
        return final;
      throw err;
    }
    return final;
  }
}

/** Makes a half-frozen tree writable again so it can be removed. */
async function chmodTree(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => null);
  if (!info?.isDirectory()) return;
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true }))
    if (entry.isDirectory()) await chmodTree(join(dir, entry.name));
}

/** What the runtime needs from the artifact: a `bootstrap` program, or the handler's file. */
export async function checkArtifact(
  dir: string,
  runtime: NativeRuntime,
  handler: string | undefined,
): Promise<void> {
  const isFile = async (rel: string, executable = false): Promise<boolean> => {
    const info = await lstat(join(dir, rel)).catch(() => null);
    return !!info && info.isFile() && (!executable || (info.mode & 0o111) !== 0);
  };
  if (runtime === 'custom') {
    if (!(await isFile('bootstrap', true)))
      throw bad('a custom runtime needs an executable file named "bootstrap" at the root of the archive');
    return;
  }
  const module = (handler ?? '').slice(0, (handler ?? '').lastIndexOf('.'));
  const candidates =
    runtime === 'nodejs'
      ? ['.js', '.mjs', '.cjs'].map((ext) => module + ext)
      : [`${module.replace(/\./g, '/')}.py`];
  for (const c of candidates) if (await isFile(c)) return;
  throw bad(`the handler "${handler}" needs ${candidates.join(' or ')} in the archive`);
}
