import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../contract.js';
import { SqliteStore } from './index.js';

storeContract('sqlite file', () =>
  SqliteStore.create(join(mkdtempSync(join(tmpdir(), 'procyon-store-')), 'db.sqlite')),
);
