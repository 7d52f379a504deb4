/**
 * A streamed response that fails mid-body (RELIABILITY case 25): the client must see an error, not
 * a clean end of a truncated body, and the activation must record the failure with its code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from './node.js';
import { waitFor } from '../wait.js';

// Two chunks, then the stream throws, never ends (the call's timeout cuts it), or ends cleanly;
// or it throws at once.
const STREAMER = `export default { async fetch(request) {
  const mode = new URL(request.url).searchParams.get('mode');
  let n = 0;
  const body = new ReadableStream({ async pull(controller) {
    n++;
    if (mode === 'first') throw new Error('broke before the first byte');
    if (n <= 2) { controller.enqueue(new TextEncoder().encode('part' + n + '\\n')); return; }
    if (mode === 'throw') throw new Error('broke mid-body');
    if (mode === 'hang') await new Promise(() => {});
    controller.close();
  } });
  return new Response(body, { headers: { 'content-type': 'text/plain' } });
} };`;

describe('streamed responses that fail mid-body', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    const ns = await t.api('PUT', '/api/v1/namespaces/streams-abort');
    assert.equal(ns.status, 201);
    const deployed = await t.api('PUT', '/api/v1/namespaces/streams-abort/functions/streamer', {
      code: STREAMER,
      filename: 'streamer.js',
      // Long enough for two chunks on a busy machine; the hanging stream waits this out.
      timeout: 2_000,
    });
    assert.equal(deployed.status, 201);
  });
  after(async () => t.stop());

  /** Reads the whole body; returns the error the read failed with, if it did. */
  const readBody = async (res: Response): Promise<{ text?: string; error?: unknown }> => {
    try {
      return { text: await res.text() };
    } catch (error) {
      return { error };
    }
  };

  /** The activation once its tail has closed it (the record is added when the stream ends). */
  const activation = (id: string) =>
    waitFor(
      async () => {
        await t.node.recorder.flush();
        const res = await t.api('GET', `/api/v1/namespaces/streams-abort/activations/${id}`);
        return res.status === 200 ? res.body : undefined;
      },
      { what: `activation ${id}` },
    );

  const call = async (mode: string) => {
    const res = await fetch(`${t.url}/fn/streams-abort/streamer?mode=${mode}`);
    // The status line went out before the body failed: it stays 200.
    assert.equal(res.status, 200);
    const id = res.headers.get('x-procyon-activation-id');
    assert.ok(id, 'the response names its activation');
    return { res, id };
  };

  it('a clean stream still ends cleanly and records success', async () => {
    const { res, id } = await call('ok');
    assert.deepEqual(await readBody(res), { text: 'part1\npart2\n' });
    const a = await activation(id);
    assert.equal(a.status, 'success');
  });

  it('a stream that throws mid-body aborts the connection; the activation is an error', async () => {
    const { res, id } = await call('throw');
    const read = await readBody(res);
    assert.equal(read.text, undefined, 'a truncated body must not read as complete');
    assert.ok(read.error instanceof Error);
    const a = await activation(id);
    assert.equal(a.status, 'error');
    assert.equal(a.errorCode, 'PROCYON_FUNCTION_ERROR');
  });

  it('a stream cut by the function timeout mid-body aborts the connection; the activation is a timeout', async () => {
    const { res, id } = await call('hang');
    const read = await readBody(res);
    assert.equal(read.text, undefined, 'a truncated body must not read as complete');
    assert.ok(read.error instanceof Error);
    const a = await activation(id);
    assert.equal(a.status, 'error');
    assert.equal(a.errorCode, 'PROCYON_TIMEOUT');
  });

  it('a stream that fails before its first byte is an ordinary error response', async () => {
    const res = await fetch(`${t.url}/fn/streams-abort/streamer?mode=first`);
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PROCYON_FUNCTION_ERROR');
    const id = res.headers.get('x-procyon-activation-id');
    assert.ok(id);
    assert.equal((await activation(id)).errorCode, 'PROCYON_FUNCTION_ERROR');
  });

  it('the invoke API aborts a failing stream the same way', async () => {
    // Invoked with an event, the Workers-style function sees a POST without `mode`: make it throw.
    await t.api('PUT', '/api/v1/namespaces/streams-abort/functions/invoked', {
      code: STREAMER.replace("searchParams.get('mode')", "searchParams.get('mode') ?? 'throw'"),
      filename: 'invoked.js',
    });
    const res = await fetch(`${t.url}/api/v1/namespaces/streams-abort/functions/invoked/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-procyon-activation-id');
    assert.ok(id);
    const read = await readBody(res);
    assert.ok(read.error instanceof Error, 'the body read fails');
    assert.equal((await activation(id)).errorCode, 'PROCYON_FUNCTION_ERROR');
  });

  it('the node keeps serving the function afterwards', async () => {
    const { res } = await call('ok');
    assert.equal(await res.text(), 'part1\npart2\n');
  });
});
