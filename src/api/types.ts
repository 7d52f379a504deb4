/**
 * The control API's wire shapes, as docs/API.md defines them: the server builds them, the CLI
 * reads them (and stays tolerant of extra fields).
 */
import type { ScalingConfig } from '../sandbox/index.js';

export interface NamespaceInfo {
  name: string;
  createdAt: string;
}

export interface FunctionInfo {
  namespace: string;
  name: string;
  /** Version id the function currently runs. */
  latest: string;
  style: 'fetch' | 'handler' | 'process';
  /** Set for a process class: the export its instances are made from. */
  process?: { className: string };
  /** Set for a process-driver function (docs/process-driver.md). */
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

export interface LogEntry {
  /** ISO string or ms since epoch: both are accepted. */
  ts: string | number;
  level: string;
  msg: string;
}

export interface Activation {
  id: string;
  namespace: string;
  function: string;
  version: string;
  trigger: 'http' | 'invoke' | 'service' | 'message' | 'alarm' | 'spawn';
  /** Set on activations started through a service binding or a process message: the caller's activation. */
  parentId: string | null;
  /** The process instance, for activations of a process class. */
  instance?: string;
  /** ISO */
  start: string;
  durationMs: number;
  billedMs: number;
  memoryMb: number;
  gbSeconds: number;
  cpuMs: number;
  cold: boolean;
  status: 'success' | 'error';
  errorCode: string | null;
  logs?: LogEntry[];
  logsTruncated: boolean;
}

export interface DeployBody {
  /** The bundled module (isolate driver); absent for a process-driver function. */
  code?: string;
  filename?: string;
  memory?: number;
  timeout?: number;
  routes: string[];
  vars: Record<string, string>;
  kv: Record<string, string>;
  services: Record<string, string>;
  egress?: { allow: string[] };
  scaling?: ScalingConfig;
  /** Deploy this export as a process class (docs/processes.md). */
  process?: { className: string };
  /** A process-driver function (docs/process-driver.md): its runtime, handler and artifact (base64). */
  runtime?: 'nodejs' | 'python3' | 'custom';
  handler?: string;
  artifact?: string;
  network?: boolean;
}

export interface DeployResponse {
  function: FunctionInfo;
  version: VersionInfo;
  changed: boolean;
}
