/**
 * A native-driver function's artifact at deploy: stored by content hash (the store keeps it for
 * every node), unpacked once on this node, and checked to hold what its runtime needs (a
 * `bootstrap`, or the handler's file) before any sandbox is started for it.
 */
import type { RuntimeSpec } from '../sandbox/index.js';
import { checkArtifact, detectFormat, hashArtifact, type ArtifactCache } from '../artifacts/index.js';
import type { Store } from '../store/index.js';

export class ArtifactService {
  constructor(private readonly deps: { store: Store; cache: ArtifactCache }) {}

  /** Returns the artifact's hash once it is stored, unpacked and fit for `runtime`. */
  async accept(bytes: Buffer, runtime: RuntimeSpec['name'], handler: string | undefined): Promise<string> {
    const format = detectFormat(bytes);
    const hash = hashArtifact(bytes);
    await this.deps.store.putArtifact(hash, format, bytes);
    const dir = await this.deps.cache.path(hash);
    await checkArtifact(dir, runtime, handler);
    return hash;
  }

  /** Where the artifact is unpacked on this node (unpacked from the store on first use). */
  path(hash: string): Promise<string> {
    return this.deps.cache.path(hash);
  }
}
