import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../contract.js';
import { procStoreContract } from '../proc-contract.js';
import { SqliteStore } from './index.js';

const create = () => SqliteStore.create(join(mkdtempSync(join(tmpdir(), 'procyon-store-')), 'db.sqlite'));
storeContract('sqlite file', create);
procStoreContract('sqlite file', create);
