import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf, fetchResult, TestProc, withProc } from './harness.js';

describe('bind', () => {
  test('detects the handler style', async () => {
    const styles: string[] = [];
    for (const code of [
      `export default { fetch() { return new Response(''); } };`,
      `export default { async fetch() { return new Response(''); } }; export const handler = () => 1;`,
      `export const handler = async () => 1;`,
      `export function handler() { return 1; }`,
    ]) {
      await withProc(code, async (proc) => {
        styles.push(proc.style);
      });
    }
    assert.deepEqual(styles, ['fetch', 'fetch', 'handler', 'handler']);
  });

  test('a module with neither export fails with a clear TypeError', async () => {
    for (const code of [
      `export const x = 1;`,
      `export default function fetch() {}`,
      `export default { fetch: 'no' }; export const handler = 'nope';`,
      `console.log('nothing exported');`,
    ]) {
      await assert.rejects(TestProc.create(code), (err: Error) => {
        assert.equal(err.name, 'TypeError');
        assert.match(
          err.message,
          /^the module must export default \{ fetch\(request, env, ctx\) \} or export a handler\(event, context\) function \(it exports /,
        );
        return true;
      });
    }
  });
});

describe('dispatch: fetch style', () => {
  test('the handler sees the request, env and ctx', async () => {
    const code = `
      export default {
        async fetch(request, env, ctx) {
          const body = await request.text();
          return Response.json({
            method: request.method, url: request.url, headers: [...request.headers], body,
            env: { ...env }, frozen: Object.isFrozen(env), self: this === undefined ? 'none' : typeof this.fetch,
            ctx: [typeof ctx.waitUntil, typeof ctx.passThroughOnException],
            isRequest: request instanceof Request,
          });
        },
      };`;
    await withProc(
      code,
      async (proc) => {
        const res = fetchResult(
          await proc.fetch({
            method: 'post',
            url: 'https://fn.example/a/../b?x=1',
            headers: [
              ['X-Test', 'yes'],
              ['content-type', 'text/plain'],
            ],
            body: 'héllo',
          }),
        );
        assert.equal(res.status, 200);
        assert.deepEqual(res.headers, [['content-type', 'application/json']]);
        assert.deepEqual(JSON.parse(res.text), {
          method: 'POST',
          url: 'https://fn.example/b?x=1',
          headers: [
            ['content-type', 'text/plain'],
            ['x-test', 'yes'],
          ],
          body: 'héllo',
          env: { GREETING: 'hi', OTHER: 'x' },
          frozen: true,
          self: 'function',
          ctx: ['function', 'function'],
          isRequest: true,
        });
      },
      { vars: { GREETING: 'hi', OTHER: 'x' } },
    );
  });

  test('the response comes back as plain data: status, headers (one entry per Set-Cookie), bytes', async () => {
    const code = `
      export default {
        fetch() {
          const headers = new Headers({ 'X-B': '2' });
          headers.append('Set-Cookie', 'a=1');
          headers.append('Set-Cookie', 'b=2; HttpOnly');
          headers.append('x-b', '3');
          return new Response(new Uint8Array([0, 255, 128, 10]), { status: 418, statusText: 'Teapot', headers });
        },
      };`;
    await withProc(code, async (proc) => {
      const result = await proc.fetch();
      assert.ok(result.ok && result.result.type === 'fetch');
      const { response } = result.result;
      assert.equal(response.status, 418);
      assert.deepEqual(response.headers, [
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2; HttpOnly'],
        ['x-b', '2, 3'],
      ]);
      assert.ok(response.body instanceof Uint8Array);
      assert.deepEqual([...response.body], [0, 255, 128, 10]);
    });
  });

  test('a string body gets text/plain;charset=UTF-8; a null body is empty bytes', async () => {
    const code = `export default { fetch(req) { return new URL(req.url).pathname === '/text' ? new Response('hi') : new Response(null, { status: 204 }); } };`;
    await withProc(code, async (proc) => {
      const text = fetchResult(await proc.fetch({ url: 'https://fn.example/text' }));
      assert.deepEqual(
        [text.status, text.headers, text.text],
        [200, [['content-type', 'text/plain;charset=UTF-8']], 'hi'],
      );
      const empty = fetchResult(await proc.fetch({ url: 'https://fn.example/empty' }));
      assert.deepEqual([empty.status, empty.headers, empty.text], [204, [], '']);
    });
  });

  test('a GET request that arrives with a body is passed on without it', async () => {
    await withProc(
      `export default { async fetch(req) { return new Response(String((await req.text()).length)); } };`,
      async (proc) => {
        assert.equal(fetchResult(await proc.fetch({ method: 'GET', body: 'ignored' })).text, '0');
      },
    );
  });

  test('anything but a Response is PROCYON_BAD_RESPONSE naming what was returned', async () => {
    const code = `
      export default {
        fetch(req) {
          const kind = new URL(req.url).searchParams.get('kind');
          if (kind === 'undefined') return undefined;
          if (kind === 'string') return 'hello';
          if (kind === 'object') return { status: 200, body: 'x' };
          if (kind === 'fake') return Object.create(Response.prototype);
          if (kind === 'map') return new Map();
          if (kind === 'error') return Response.error();
          if (kind === 'used') { const r = new Response('x'); r.text(); return r; }
        },
      };`;
    await withProc(code, async (proc) => {
      const messages: string[] = [];
      for (const kind of ['undefined', 'string', 'object', 'map', 'error', 'used']) {
        const error = errorOf(await proc.fetch({ url: `https://fn.example/?kind=${kind}` }));
        assert.equal(error.code, 'PROCYON_BAD_RESPONSE');
        messages.push(error.message);
      }
      assert.deepEqual(messages, [
        'the fetch handler must return a Response, but it returned undefined',
        'the fetch handler must return a Response, but it returned a string',
        'the fetch handler must return a Response, but it returned an object',
        'the fetch handler must return a Response, but it returned an object (Map)',
        'the fetch handler returned Response.error()',
        'the fetch handler returned a Response whose body had already been read',
      ]);
      // An object made from Response.prototype without the constructor is not a Response.
      assert.deepEqual(errorOf(await proc.fetch({ url: 'https://fn.example/?kind=fake' })), {
        code: 'PROCYON_BAD_RESPONSE',
        message:
          'the fetch handler must return a Response, but it returned an object with Response.prototype that new Response() did not make',
      });
    });
  });

  test('a body over maxResponseBytes is PROCYON_RESPONSE_TOO_LARGE; exactly the limit is fine', async () => {
    await withProc(`export default { fetch() { return new Response('x'.repeat(1000)); } };`, async (proc) => {
      const error = errorOf(await proc.fetch({}, { maxResponseBytes: 999 }));
      assert.deepEqual(error, {
        code: 'PROCYON_RESPONSE_TOO_LARGE',
        message: 'the response body is 1000 bytes, over the limit of 999 bytes',
      });
      assert.equal(fetchResult(await proc.fetch({}, { maxResponseBytes: 1000 })).text.length, 1000);
    });
  });

  test('a thrown Error is PROCYON_FUNCTION_ERROR with "Name: message" and the stack', async () => {
    await withProc(`export default { async fetch() { null.x; } };`, async (proc) => {
      const error = errorOf(await proc.fetch());
      assert.equal(error.code, 'PROCYON_FUNCTION_ERROR');
      assert.match(error.message, /^TypeError: Cannot read properties of null/);
      assert.match(
        error.stack ?? '',
        /^TypeError: Cannot read properties of null.*\n\s+at Object\.fetch \(user\.js:1:/s,
      );
      // The prelude's own frames are trimmed: they say nothing about the user's code.
      assert.doesNotMatch(error.stack ?? '', /prelude/);
    });
  });

  test('a thrown non-Error is described safely', async () => {
    const code = `
      export default {
        fetch(req) {
          const kind = new URL(req.url).searchParams.get('kind');
          if (kind === 'string') throw 'oops';
          if (kind === 'object') throw { code: 42 };
          if (kind === 'null') throw null;
          if (kind === 'reject') return Promise.reject(Symbol('s'));
          if (kind === 'hostile') throw new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); } });
        },
      };`;
    await withProc(code, async (proc) => {
      const out: [string, string][] = [];
      for (const kind of ['string', 'object', 'null', 'reject', 'hostile']) {
        const error = errorOf(await proc.fetch({ url: `https://fn.example/?kind=${kind}` }));
        out.push([error.code, error.message]);
      }
      assert.deepEqual(out, [
        ['PROCYON_FUNCTION_ERROR', "Uncaught 'oops'"],
        ['PROCYON_FUNCTION_ERROR', 'Uncaught { code: 42 }'],
        ['PROCYON_FUNCTION_ERROR', 'Uncaught null'],
        ['PROCYON_FUNCTION_ERROR', 'Uncaught Symbol(s)'],
        ['PROCYON_FUNCTION_ERROR', 'Uncaught [object: inspection failed]'],
      ]);
    });
  });

  test('ctx.waitUntil keeps going after the response and logs a rejection', async () => {
    const code = `
      let resolveLater;
      export default {
        async fetch(req, env, ctx) {
          if (new URL(req.url).pathname === '/finish') { resolveLater(); return new Response('finished'); }
          ctx.waitUntil(new Promise((resolve) => { resolveLater = resolve; }).then(() => console.log('background done')));
          ctx.waitUntil(Promise.reject(new Error('background failed')));
          ctx.passThroughOnException();
          return new Response('first');
        },
      };`;
    await withProc(code, async (proc) => {
      assert.equal(fetchResult(await proc.fetch()).text, 'first');
      assert.equal(fetchResult(await proc.fetch({ url: 'https://fn.example/finish' })).text, 'finished');
      const messages = proc.logs.map((l) => `${l.level} ${l.msg.split('\n')[0]}`);
      assert.deepEqual(messages, [
        'error Uncaught (in waitUntil) Error: background failed',
        'log background done',
      ]);
    });
  });
});

describe('globals used during a call', () => {
  test('queueMicrotask runs callbacks in order and logs what they throw', async () => {
    const code = `
      export default {
        async fetch() {
          const order = [];
          queueMicrotask(() => order.push(1));
          queueMicrotask(() => { throw new Error('in microtask'); });
          queueMicrotask(() => order.push(2));
          await new Promise((resolve) => queueMicrotask(resolve));
          await null;
          let notFn = 'no error';
          try { queueMicrotask('x'); } catch (e) { notFn = e.name; }
          return Response.json({ order, notFn });
        },
      };`;
    await withProc(code, async (proc) => {
      assert.deepEqual(JSON.parse(fetchResult(await proc.fetch()).text), {
        order: [1, 2],
        notFn: 'TypeError',
      });
      assert.equal(proc.logs.length, 1);
      assert.match(proc.logs[0]?.msg ?? '', /^Uncaught Error: in microtask\n\s+at user\.js:/);
      assert.equal(proc.logs[0]?.level, 'error');
    });
  });
});

describe('dispatch guards', () => {
  test('an event to a fetch module and a request to a handler module are PROCYON_INTERNAL', async () => {
    await withProc(`export default { fetch() { return new Response('x'); } };`, async (proc) => {
      const error = errorOf(await proc.event({}));
      assert.deepEqual(error, {
        code: 'PROCYON_INTERNAL',
        message: 'an event was sent to a fetch-style module',
      });
    });
    await withProc(`export const handler = () => 1;`, async (proc) => {
      const error = errorOf(await proc.fetch());
      assert.deepEqual(error, {
        code: 'PROCYON_INTERNAL',
        message: 'a fetch request was sent to a handler-style module',
      });
    });
  });

  test('malformed input is PROCYON_INTERNAL, not a crash', async () => {
    await withProc(`export default { fetch() { return new Response('x'); } };`, async (proc) => {
      const bad = await proc.dispatch({ type: 'nope' } as never);
      assert.equal(errorOf(bad).code, 'PROCYON_INTERNAL');
      const badUrl = await proc.dispatch({
        type: 'fetch',
        request: { method: 'GET', url: '/relative', headers: [], body: null },
      });
      assert.equal(errorOf(badUrl).code, 'PROCYON_INTERNAL');
      assert.match(errorOf(badUrl).message, /^could not build the Request: TypeError: /);
      // The proc still works afterwards.
      assert.equal(fetchResult(await proc.fetch()).text, 'x');
    });
  });
});
