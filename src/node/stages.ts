/**
 * Start-up in stages that clean up after themselves (Fastify's avvio idea, in small): each stage
 * returns its result and how to undo it. When a stage fails, the stages already done are undone
 * in reverse order and the stage's own error is rethrown unchanged, so a failed start leaves no
 * host process, socket, open store or data-dir lock behind. A graceful stop undoes the same list.
 */
import type { Logger } from '../logger.js';

export type Undo = () => Promise<void> | void;

/** What a stage made, and how to take it down again (nothing to undo: leave `undo` out). */
export interface Staged<T> {
  value: T;
  undo?: Undo;
}

export class Stages {
  readonly #done: { name: string; undo: Undo }[] = [];
  #unwinding: Promise<void> | null = null;

  constructor(private readonly logger: Pick<Logger, 'error'>) {}

  /** Runs one stage; if it fails, undoes the earlier ones and rejects with its error. */
  async run<T>(name: string, stage: () => Promise<Staged<T>>): Promise<T> {
    let staged: Staged<T>;
    try {
      staged = await stage();
    } catch (err) {
      // The stage's error is what the caller sees (and reports); an undo that fails too is logged.
      await this.unwind().catch(() => undefined);
      throw err;
    }
    if (staged.undo) this.#done.push({ name, undo: staged.undo });
    return staged.value;
  }

  /**
   * Undoes every stage done, last first. An undo that fails does not stop the others (a store
   * that will not close must not keep the lock held); the first failure rejects once all ran.
   * Idempotent.
   */
  unwind(): Promise<void> {
    this.#unwinding ??= this.#unwind();
    return this.#unwinding;
  }

  async #unwind(): Promise<void> {
    let first: { error: unknown } | undefined;
    for (const { name, undo } of this.#done.reverse()) {
      try {
        await undo();
      } catch (err) {
        this.logger.error({ err, stage: name }, `could not undo "${name}"`);
        first ??= { error: err };
      }
    }
    if (first) throw first.error;
  }
}
