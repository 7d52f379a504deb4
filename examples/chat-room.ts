// A chat room per process instance: every client of room R talks to the one ChatRoom "R".
//   POST /p/default/ChatRoom/<room>/messages  {"user": "ann", "text": "hi"}  -> {"seq": 1}
//   GET  /p/default/ChatRoom/<room>/messages?since=0                         -> {"messages": [...]}
//   GET  /p/default/ChatRoom/<room>/members                                   -> who posted lately
// Messages are kept in storage (the room survives swap-out and restarts); the recent members are
// in memory only, so they are forgotten when the room is swapped out.
interface Storage {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
  list<T>(options: { start?: string; prefix?: string; limit?: number }): Promise<Map<string, T>>;
}
interface Ctx {
  id: { name: string };
  storage: Storage;
}
interface Message {
  seq: number;
  user: string;
  text: string;
  at: number;
}

const MAX_TEXT = 2_000;
const PAGE = 100;
const key = (seq: number): string => `msg:${String(seq).padStart(12, '0')}`;

export class ChatRoom {
  readonly #ctx: Ctx;
  readonly #members = new Map<string, number>();

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.split('/').slice(5).join('/');
    if (path === 'messages' && request.method === 'POST') return this.#post(request);
    if (path === 'messages' && request.method === 'GET') {
      const since = Number(url.searchParams.get('since') ?? '0');
      if (!Number.isSafeInteger(since) || since < 0)
        return Response.json({ error: 'since must be a non-negative integer' }, { status: 400 });
      const page = await this.#ctx.storage.list<Message>({
        prefix: 'msg:',
        start: key(since + 1),
        limit: PAGE,
      });
      return Response.json({ room: this.#ctx.id.name, messages: [...page.values()] });
    }
    if (path === 'members' && request.method === 'GET') {
      return Response.json({ members: [...this.#members.keys()] });
    }
    return Response.json({ error: `no route ${request.method} /${path}` }, { status: 404 });
  }

  async #post(request: Request): Promise<Response> {
    let body: { user?: unknown; text?: unknown };
    try {
      body = (await request.json()) as typeof body;
    } catch {
      return Response.json({ error: 'the body must be JSON' }, { status: 400 });
    }
    const { user, text } = body;
    if (typeof user !== 'string' || user.length === 0 || user.length > 64)
      return Response.json({ error: 'user must be a string of 1..64 characters' }, { status: 400 });
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT)
      return Response.json({ error: `text must be a string of 1..${MAX_TEXT} characters` }, { status: 400 });
    // Events run one at a time through the input gate, so read-increment-write needs no lock.
    const seq = ((await this.#ctx.storage.get<number>('seq')) ?? 0) + 1;
    const message: Message = { seq, user, text, at: Date.now() };
    void this.#ctx.storage.put('seq', seq);
    void this.#ctx.storage.put(key(seq), message);
    this.#members.set(user, message.at);
    return Response.json({ seq }, { status: 201 });
  }
}
