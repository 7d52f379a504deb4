// Lambda style JSON API over HTTP (API Gateway v2 events), with its data in KV.
interface Event {
  requestContext: { http: { method: string } };
  pathParameters?: { id?: string };
  body?: string;
  isBase64Encoded?: boolean;
}
interface Kv {
  get(key: string, type: 'json'): Promise<unknown>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(opts: { prefix: string }): Promise<{ keys: { name: string }[] }>;
}

const json = (statusCode: number, data: unknown) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(data),
});

export const handler = async (event: Event, context: { env?: { TODOS: Kv } }) => {
  const kv = context.env?.TODOS;
  if (!kv) return json(500, { error: 'TODOS binding missing' });
  const id = event.pathParameters?.id;
  switch (event.requestContext.http.method) {
    case 'GET': {
      if (id) {
        const todo = await kv.get(`todo:${id}`, 'json');
        return todo ? json(200, todo) : json(404, { error: `no todo ${id}` });
      }
      const { keys } = await kv.list({ prefix: 'todo:' });
      return json(200, await Promise.all(keys.map((k) => kv.get(k.name, 'json'))));
    }
    case 'POST': {
      let input: { title?: unknown };
      try {
        input = JSON.parse(event.body ?? '{}') as { title?: unknown };
      } catch {
        return json(400, { error: 'body must be JSON' });
      }
      if (typeof input.title !== 'string' || !input.title) return json(400, { error: 'title is required' });
      const todo = { id: crypto.randomUUID(), title: input.title, done: false };
      await kv.put(`todo:${todo.id}`, JSON.stringify(todo));
      return json(201, todo);
    }
    case 'DELETE':
      if (!id) return json(400, { error: 'id is required' });
      await kv.delete(`todo:${id}`);
      return { statusCode: 204 };
    default:
      return json(405, { error: 'method not allowed' });
  }
};
