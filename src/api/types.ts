/**
 * The control API's wire shapes, as docs/API.md defines them: the server builds them, the CLI
 * reads them (and stays tolerant of extra fields). FunctionInfo and VersionInfo are defined in
 * src/control/types.ts, where FunctionService builds them.
 */
import type { FunctionInfo, VersionInfo } from '../control/index.js';
import type { ScalingConfig } from '../sandbox/index.js';

export type { FunctionInfo, VersionInfo };

export interface NamespaceInfo {
  name: string;
  createdAt: string;
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
  /** The bundled module (isolate driver); absent for a native-driver function. */
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
  /** A native-driver function (docs/native-driver.md): its runtime, handler and artifact (base64). */
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
