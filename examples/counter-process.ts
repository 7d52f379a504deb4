// A stateful process: one Counter instance per name, its count in the instance's own storage.
//   GET    /p/default/Counter/<name>   current count
//   POST   /p/default/Counter/<name>   add one (or ?by=N)
//   DELETE /p/default/Counter/<name>   forget it
// Other code reaches it with env.procs.get('Counter', name).call({ add: 1 }).
interface Storage {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
  deleteAll(): Promise<void>;
}
interface Ctx {
  id: { name: string };
  storage: Storage;
}

export class Counter {
  readonly #ctx: Ctx;

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }

  async fetch(request: Request): Promise<Response> {
    const name = this.#ctx.id.name;
    if (request.method === 'DELETE') {
      await this.#ctx.storage.deleteAll();
      return new Response(null, { status: 204 });
    }
    if (request.method === 'POST') {
      const by = Number(new URL(request.url).searchParams.get('by') ?? '1');
      if (!Number.isSafeInteger(by))
        return Response.json({ error: 'by must be an integer' }, { status: 400 });
      return Response.json({ name, count: await this.#add(by) });
    }
    return Response.json({ name, count: (await this.#ctx.storage.get<number>('count')) ?? 0 });
  }

  async onMessage(_from: unknown, message: { add?: number }): Promise<{ count: number }> {
    return { count: await this.#add(Number(message?.add ?? 0)) };
  }

  async #add(by: number): Promise<number> {
    const count = ((await this.#ctx.storage.get<number>('count')) ?? 0) + by;
    // Not awaited on purpose: the output gate holds the response until the write is durable.
    void this.#ctx.storage.put('count', count);
    return count;
  }
}
