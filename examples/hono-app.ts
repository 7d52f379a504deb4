// A Hono app, bundled from node_modules at deploy like any user dependency: routing with
// parameters, middleware (timing header, CORS, a bearer-token guard), JSON bodies, 404s.
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { cors } from 'hono/cors';

type Env = { Bindings: { TOKEN: string } };
const app = new Hono<Env>().basePath('/hono');

app.use('*', async (c, next) => {
  const start = Date.now();
  await next();
  c.header('x-response-time', `${Date.now() - start}ms`);
});
app.use('/api/*', cors());
app.use('/admin/*', async (c, next) => bearerAuth({ token: c.env.TOKEN })(c, next));

app.get('/', (c) => c.text('Hono on Procyon'));
app.get('/api/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }));
app.post('/api/echo', async (c) => c.json({ received: await c.req.json() }, 201));
app.get('/admin/stats', (c) => c.json({ ok: true }));
app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));

export default app;
