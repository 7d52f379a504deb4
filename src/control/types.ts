/**
 * What the control plane reports about a function and its versions: FunctionService builds these,
 * the control API sends them as they are (docs/API.md), and the CLI reads them through
 * src/api/types.ts. Defined here, below the API, so the control plane never imports the API.
 */
import type { ScalingConfig } from '../store/index.js';

export interface FunctionInfo {
  namespace: string;
  name: string;
  /** Version id the function currently runs. */
  latest: string;
  style: 'fetch' | 'handler' | 'process';
  /** Set for a process class: the export its instances are made from. */
  process?: { className: string };
  /** Set for a native-driver function (docs/native-driver.md). */
  runtime?: { name: 'nodejs' | 'python3' | 'custom'; handler: string; artifact: string; network: boolean };
  /** (MB) */
  memory: number;
  /** (ms) */
  timeout: number;
  routes: string[];
  vars: Record<string, string>;
  /** Binding name → KV namespace. */
  kv: Record<string, string>;
  /** Binding name → function. */
  services: Record<string, string>;
  /** Private hosts the function's fetch() may reach. */
  egress: { allow: string[] };
  /** Scaling policy as deployed: only the fields set; the rest take the node's defaults. */
  scaling: ScalingConfig;
  /** Names of the function's secrets (values are never returned). */
  secrets: string[];
  createdAt: string;
  updatedAt: string;
  /** Where the function answers; absolute URLs or paths on the node. */
  urls: string[];
}

export interface VersionInfo {
  /** 16 hex of sha256(code + config). */
  id: string;
  createdAt: string;
  memory: number;
  timeout: number;
  routes: string[];
  /** The version's scaling policy (fields set at its deploy only). */
  scaling: ScalingConfig;
  /** (bytes) */
  size: number;
}
