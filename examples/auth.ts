// An internal auth check, reached by other functions through a service binding (no route).
export default {
  async fetch(request: Request): Promise<Response> {
    const token = request.headers.get('authorization')?.replace(/^Bearer\s+/i, '');
    if (token !== 'let-me-in') return Response.json({ ok: false }, { status: 401 });
    return Response.json({ ok: true, user: 'demo' });
  },
};
