/**
 * Routes across tenants (RELIABILITY case 29): each namespace has its own route space, under
 * `/ns/<ns>`, and only the default namespace's routes are also on the node's root. One namespace
 * claiming `/*`, `/:any` or another's exact route changes nothing for anyone else, and no error
 * names another namespace or its functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from './node.js';

/** Answers with its own name and the path it saw, so a test can tell who served a request. */
const whoami = (name: string): string =>
  `export default { fetch(req) { return new Response('${name} ' + new URL(req.url).pathname); } };\n`;

describe('routes per namespace', () => {
  let t: TestNode;
  // Names that would stand out in any message that leaked them.
  const A = 'routes-alpha';
  const B = 'routes-bravo';
  const C = 'routes-charlie';
  const D = 'routes-delta';
  const E = 'routes-echo';

  before(async () => {
    t = await startTestNode();
    for (const ns of [A, B, C, D, E])
      assert.equal((await t.api('PUT', `/api/v1/namespaces/${ns}`)).status, 201);
  });
  after(async () => {
    await t.stop();
  });

  const deploy = (ns: string, name: string, routes: string[]) =>
    t.api('PUT', `/api/v1/namespaces/${ns}/functions/${name}`, {
      code: whoami(name),
      filename: `${name}.js`,
      routes,
    });
  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${t.url}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it("a namespace's routes are served under /ns/<ns>; another's catch-alls and same paths do not touch them", async () => {
    const shop = await deploy(A, 'alpha-shop', ['GET /shop/items', '/shop/items/:id']);
    assert.equal(shop.status, 201, JSON.stringify(shop.body));
    assert.deepEqual(shop.body.function.urls.slice(1), [
      `${t.url}/ns/${A}/shop/items`,
      `${t.url}/ns/${A}/shop/items/:id`,
    ]);
    // B claims everything it can: A's exact route, a catch-all and a one-segment parameter.
    for (const [name, routes] of [
      ['bravo-same', ['GET /shop/items']],
      ['bravo-all', ['/*']],
      ['bravo-any', ['/:any']],
    ] as const) {
      const res = await deploy(B, name, [...routes]);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.doesNotMatch(JSON.stringify(res.body), /alpha/);
    }

    assert.deepEqual(await get(`/ns/${A}/shop/items`), {
      status: 200,
      text: `alpha-shop /ns/${A}/shop/items`,
    });
    assert.deepEqual(await get(`/ns/${A}/shop/items/7`), {
      status: 200,
      text: `alpha-shop /ns/${A}/shop/items/7`,
    });
    // A path A does not serve is A's 404, never B's catch-all.
    assert.equal((await get(`/ns/${A}/elsewhere`)).status, 404);
    assert.equal((await get(`/ns/${A}/x`)).status, 404);
    // B's routes answer in B's space only.
    assert.deepEqual(await get(`/ns/${B}/shop/items`), {
      status: 200,
      text: `bravo-same /ns/${B}/shop/items`,
    });
    assert.deepEqual(await get(`/ns/${B}/x`), { status: 200, text: `bravo-any /ns/${B}/x` });
    assert.deepEqual(await get(`/ns/${B}/a/b/c`), { status: 200, text: `bravo-all /ns/${B}/a/b/c` });
  });

  it("the node's root belongs to the default namespace: another's /* does not capture it", async () => {
    const catchAll = await deploy(C, 'charlie-root', ['/*', '/rootgrab/*']);
    assert.equal(catchAll.status, 201, JSON.stringify(catchAll.body));
    // Were C's routes on the root, its `/*` and `/rootgrab/*` would answer these.
    assert.equal((await get('/rootgrab/x')).status, 404);
    assert.equal((await get('/routes-unclaimed-path')).status, 404);
    const own = await t.deploy('root-owner', whoami('root-owner'), { routes: ['GET /rootgrab/x'] });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    assert.deepEqual(own.body.function.urls.slice(1), [`${t.url}/rootgrab/x`]);
    assert.deepEqual(await get('/rootgrab/x'), { status: 200, text: 'root-owner /rootgrab/x' });
    assert.deepEqual(await get('/ns/default/rootgrab/x'), {
      status: 200,
      text: 'root-owner /ns/default/rootgrab/x',
    });
    // No namespace can claim the route spaces themselves.
    const reserved = await t.deploy('root-ns', whoami('root-ns'), { routes: [`/ns/${A}/shop/items`] });
    assert.equal(reserved.status, 400);
    assert.equal(reserved.body.error.code, 'PROCYON_VALIDATION');
  });

  it("a conflict within one's own namespace is 409 naming only one's own function", async () => {
    assert.equal((await deploy(E, 'echo-first', ['GET /dup'])).status, 201);
    // The same route in another namespace is no conflict (it once was a 409 naming echo-first).
    const first = await deploy(D, 'delta-one', ['GET /dup']);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const res = await deploy(D, 'delta-two', ['GET /dup']);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'PROCYON_CONFLICT');
    assert.equal(res.body.error.message, 'route "GET /dup" is already served by function "delta-one"');
    assert.doesNotMatch(res.body.error.message, /echo|namespace/);
    assert.equal((await t.api('GET', `/api/v1/namespaces/${D}/functions/delta-two`)).status, 404);
    assert.deepEqual(await get(`/ns/${E}/dup`), { status: 200, text: `echo-first /ns/${E}/dup` });
    assert.deepEqual(await get(`/ns/${D}/dup`), { status: 200, text: `delta-one /ns/${D}/dup` });
  });
});
