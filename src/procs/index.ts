/**
 * Stateful processes on a node (docs/processes.md): the manager, the node operations isolates
 * reach through the bridge, and the alarm scheduler, made and stopped together.
 */
import type { Invoker } from '../invoker/index.js';
import type { Logger } from '../logger.js';
import type { RpcRouter } from '../sandbox/ops/index.js';
import type { Registry } from '../registry/index.js';
import type { Store } from '../store/index.js';
import { AlarmScheduler } from './alarms.js';
import { Processes, type InstanceProcs } from './manager.js';
import { registerProcOps } from './rpc.js';

export type { ProcessManager, InstanceAddress, InstanceInfo, Caller } from './types.js';
export { MAX_WAIT_MS, SpawnedProcs, type SpawnedInfo } from './spawned.js';

export interface ProcessesOptions {
  registry: Registry;
  store: Store;
  invoker: Invoker;
  procs: InstanceProcs;
  router: RpcRouter;
  logger: Logger;
  mailbox: number;
  storageMaxBytes: number;
  maxPayloadBytes: number;
}

export interface ProcessRuntime {
  manager: Processes;
  alarms: AlarmScheduler;
  /** Stops alarms and writes what the directory has pending. */
  close(): Promise<void>;
}

export async function startProcesses(o: ProcessesOptions): Promise<ProcessRuntime> {
  const manager = new Processes({
    registry: o.registry,
    store: o.store,
    invoker: o.invoker,
    procs: o.procs,
    logger: o.logger,
    mailbox: o.mailbox,
  });
  const alarms = new AlarmScheduler({
    store: o.store,
    logger: o.logger,
    fire: (id, retryCount) => manager.alarm(id, retryCount),
  });
  manager.onDelete = (id) => alarms.forget(id);
  registerProcOps({
    router: o.router,
    store: o.store,
    procs: manager,
    invoker: o.invoker,
    alarms,
    storageMaxBytes: o.storageMaxBytes,
    maxPayloadBytes: o.maxPayloadBytes,
  });
  await alarms.start();
  // Messages a previous run accepted (202) and did not deliver: delivered now, in the background.
  manager.redeliver().then(
    (n) => n > 0 && o.logger.info({ messages: n }, 'redelivering messages accepted before the restart'),
    (err: unknown) => o.logger.error({ err }, 'could not read the stored messages; they stay stored'),
  );
  return {
    manager,
    alarms,
    close: async () => {
      alarms.stop();
      await manager.close();
    },
  };
}
