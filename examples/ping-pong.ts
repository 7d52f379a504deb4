// Two processes that talk directly (no HTTP, no storage round trip in between):
//   GET /p/default/Ping/<name>/call?rounds=N   Ping calls Pong <name> N times (request/response)
//                                               and reports the mean round trip.
//   GET /p/default/Ping/<name>/rally?n=N        a rally of N exchanges: Ping sends ball 1 to Pong, Pong
//                                               sends it back, Ping sends ball 2, ... all one way (send);
//   GET /p/default/Ping/<name>/score            how far the last rally got.
interface Storage {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
}
interface Ctx {
  id: { name: string };
  storage: Storage;
}
interface Stub {
  call(message: unknown): Promise<unknown>;
  send(message: unknown): Promise<void>;
}
interface Env {
  procs: { get(className: string, name: string): Stub };
}
type From = { type: 'process'; class: string; name: string } | { type: string };
interface Ball {
  ball: number;
}

const MAX_ROUNDS = 10_000;

function count(url: URL, param: string): number | null {
  const n = Number(url.searchParams.get(param) ?? '10');
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_ROUNDS ? n : null;
}

export class Ping {
  readonly #ctx: Ctx;
  readonly #env: Env;

  constructor(ctx: Ctx, env: Env) {
    this.#ctx = ctx;
    this.#env = env;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const action = url.pathname.split('/')[5] ?? '';
    const pong = this.#env.procs.get('Pong', this.#ctx.id.name);
    if (action === 'call') {
      const rounds = count(url, 'rounds');
      if (rounds === null)
        return Response.json({ error: `rounds must be 1..${MAX_ROUNDS}` }, { status: 400 });
      // performance.now() in an isolate has Date.now()'s millisecond steps: time the whole series.
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) {
        const reply = (await pong.call({ ping: i })) as { pong: number };
        if (reply.pong !== i)
          return Response.json({ error: `pong ${reply.pong} for ping ${i}` }, { status: 500 });
      }
      const totalMs = performance.now() - t0;
      return Response.json({ rounds, totalMs, meanMs: totalMs / rounds });
    }
    if (action === 'rally') {
      const n = count(url, 'n');
      if (n === null) return Response.json({ error: `n must be 1..${MAX_ROUNDS}` }, { status: 400 });
      await this.#ctx.storage.put('score', { target: n, reached: 0 });
      await pong.send({ ball: 1 });
      return Response.json({ served: n }, { status: 202 });
    }
    if (action === 'score')
      return Response.json((await this.#ctx.storage.get('score')) ?? { target: 0, reached: 0 });
    return Response.json({ error: 'use /call, /rally or /score' }, { status: 404 });
  }

  /** A ball came back from Pong: count it, and serve the next one until the rally is done. */
  async onMessage(_from: From, message: Ball): Promise<void> {
    const score = (await this.#ctx.storage.get<{ target: number; reached: number }>('score')) ?? {
      target: 0,
      reached: 0,
    };
    await this.#ctx.storage.put('score', { ...score, reached: message.ball });
    if (message.ball < score.target)
      await this.#env.procs.get('Pong', this.#ctx.id.name).send({ ball: message.ball + 1 });
  }
}

export class Pong {
  readonly #env: Env;

  constructor(_ctx: Ctx, env: Env) {
    this.#env = env;
  }

  async onMessage(from: From, message: { ping?: number } & Partial<Ball>): Promise<unknown> {
    if (message.ping !== undefined) return { pong: message.ping };
    // A rally ball: send it back to the Ping that served it.
    if (typeof message.ball === 'number' && from.type === 'process' && 'name' in from)
      await this.#env.procs.get('Ping', from.name).send({ ball: message.ball });
    return null;
  }
}
