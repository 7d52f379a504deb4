// A counter kept in a KV namespace: every GET /counter/:name adds one; DELETE resets it.
interface Env {
  COUNTS: {
    get(key: string): Promise<string | null>;
    put(key: string, value: string): Promise<void>;
    delete(key: string): Promise<void>;
  };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const name = new URL(request.url).pathname.split('/').pop() || 'default';
    if (request.method === 'DELETE') {
      await env.COUNTS.delete(name);
      return new Response(null, { status: 204 });
    }
    const count = Number((await env.COUNTS.get(name)) ?? '0') + 1;
    await env.COUNTS.put(name, String(count));
    return Response.json({ name, count });
  },
};
