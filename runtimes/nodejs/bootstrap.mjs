// Procyon's nodejs runtime: a Lambda Runtime API client (docs/native-driver.md). Polls
// AWS_LAMBDA_RUNTIME_API for invocations, calls the handler named by _HANDLER ("file.function",
// the file under LAMBDA_TASK_ROOT as .js, .mjs or .cjs) with the event and a Lambda-style context
// (async, or with a callback), and posts its JSON result or its error. Booted before it knows its
// function (Procyon's runtime pool), it takes the handler and the environment from the first
// invocation's Procyon-Handler and Procyon-Env headers. No dependencies.
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [host, port] = splitHostPort(process.env.AWS_LAMBDA_RUNTIME_API ?? '');
const BASE = '/2018-06-01/runtime';
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT ?? '/var/task';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function splitHostPort(address) {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

function call(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path: BASE + path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorDoc(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return { errorType: e.name, errorMessage: e.message, stackTrace: (e.stack ?? '').split('\n').slice(1, 20) };
}

function postError(path, err) {
  const doc = errorDoc(err);
  return call('POST', path, JSON.stringify(doc), {
    'content-type': 'application/json',
    'lambda-runtime-function-error-type': doc.errorType,
  });
}

async function load(handlerName) {
  const dot = handlerName.lastIndexOf('.');
  if (dot <= 0) throw new Error(`bad handler "${handlerName}": use file.function`);
  const base = join(TASK_ROOT, handlerName.slice(0, dot));
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file)
    throw new Error(`Cannot find module '${handlerName.slice(0, dot)}' in ${TASK_ROOT} (.js, .mjs or .cjs)`);
  const mod = await import(pathToFileURL(file).href);
  const name = handlerName.slice(dot + 1);
  const fn = mod[name] ?? mod.default?.[name];
  if (typeof fn !== 'function') throw new Error(`${handlerName} is not a function`);
  return fn;
}

function context(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] ?? 0);
  return {
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** An async handler's result, or what a callback-style handler passes to its callback. */
function run(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    const done = (err, value) => (err ? reject(err) : resolve(value));
    try {
      const out = handler(event, ctx, done);
      if (out && typeof out.then === 'function') out.then(resolve, reject);
      else if (handler.length < 3) resolve(out);
    } catch (err) {
      reject(err);
    }
  });
}

let handler;
if (process.env._HANDLER) {
  try {
    handler = await load(process.env._HANDLER);
  } catch (err) {
    console.error(err);
    await postError('/init/error', err);
    process.exit(1);
  }
}

for (;;) {
  const next = await call('GET', '/invocation/next');
  const id = next.headers['lambda-runtime-aws-request-id'];
  if (!handler) {
    const env = next.headers['procyon-env'];
    if (env) Object.assign(process.env, JSON.parse(Buffer.from(env, 'base64').toString('utf8')));
    process.env._HANDLER = next.headers['procyon-handler'] ?? '';
    try {
      handler = await load(process.env._HANDLER);
    } catch (err) {
      console.error(err);
      await postError(`/invocation/${id}/error`, err);
      process.exit(1);
    }
  }
  try {
    const event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
    const result = await run(handler, event, context(next.headers));
    await call('POST', `/invocation/${id}/response`, JSON.stringify(result ?? null), {
      'content-type': 'application/json',
    });
  } catch (err) {
    console.error(err);
    await postError(`/invocation/${id}/error`, err);
  }
}
