/**
 * An in-process node on port 0 for end-to-end tests that drive it over real HTTP. Tests that
 * need a node in its own process (signals, CLI) use harness.ts instead.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type NodeConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { ProcyonNode } from '../../src/node/index.js';

export interface TestNode {
  node: ProcyonNode;
  url: string;
  key: string;
  /** Calls the control API with the admin key; returns status, headers and parsed body. */
  api: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; headers: Headers; body: ApiBody }>;
  deploy: (
    name: string,
    code: string,
    extra?: Record<string, unknown>,
  ) => Promise<{ status: number; body: ApiBody }>;
  stop: () => Promise<void>;
}

// Tests read fields of many response shapes; a loose type keeps them short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of many shapes
export type ApiBody = any;

export async function startTestNode(overrides: Partial<NodeConfigInput> = {}): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'procyon-e2e-'));
  const config = loadConfig(
    { host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', isolateHosts: 2, ...overrides },
    {},
  );
  const node = await ProcyonNode.start(config, createLogger(config.logLevel));
  // A restart on the same data folder does not show the key again: it is in admin.key.
  const key = node.adminKey ?? readFileSync(join(config.dataDir, 'admin.key'), 'utf8').trim();
  const api: TestNode['api'] = async (method, path, body) => {
    const res = await fetch(`${node.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: ApiBody = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return {
    node,
    url: node.url,
    key,
    api,
    deploy: (name, code, extra = {}) =>
      api('PUT', `/api/v1/namespaces/default/functions/${name}`, { code, filename: `${name}.js`, ...extra }),
    stop: () => node.stop(),
  };
}

/** `Response.json()` typed loosely for assertions. */
export const json = (res: Response): Promise<ApiBody> => res.json() as Promise<ApiBody>;
