// Calls the auth function through a service binding (env.AUTH), in the node, without HTTP.
interface Env {
  AUTH: { fetch(input: string, init?: RequestInit): Promise<Response> };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const auth = await env.AUTH.fetch('http://auth/check', {
      headers: { authorization: request.headers.get('authorization') ?? '' },
    });
    if (!auth.ok) return Response.json({ error: 'unauthorized' }, { status: 401 });
    const { user } = (await auth.json()) as { user: string };
    return Response.json({ user, plan: 'free' });
  },
};
