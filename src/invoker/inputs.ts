/**
 * How a trigger's input reaches a proc and its result comes back, per handler style: HTTP to a
 * Workers-style `fetch` or as an API Gateway event to a Lambda handler, events as JSON, and for
 * process instances fetch, messages and alarms (docs/processes.md).
 */
import { ProcyonError } from '../errors.js';
import type { CallTail, HandlerStyle, InvokeInput, InvokeOutput } from '../sandbox/index.js';
import type { InvocationInput, InvocationRequest, InvocationResult } from './index.js';
import { fromLambdaResult, toApiGatewayEvent } from './lambda.js';

/** Refuses inputs the target cannot take: 400, before anything runs. */
export function checkInput(req: InvocationRequest, style: HandlerStyle): void {
  const kind = req.input.kind;
  if (style === 'process') {
    if (req.instance === undefined)
      throw new ProcyonError(
        'PROCYON_BAD_REQUEST',
        `"${req.fn}" is a process class: address an instance, /p/${req.namespace}/${req.fn}/<name>`,
      );
    if (kind === 'event')
      throw new ProcyonError(
        'PROCYON_BAD_REQUEST',
        'a process instance takes HTTP requests and messages, not events',
      );
    return;
  }
  if (req.instance !== undefined)
    throw new ProcyonError('PROCYON_BAD_REQUEST', `"${req.fn}" is a function, not a process class`);
  if (kind === 'message' || kind === 'alarm')
    throw new ProcyonError(
      'PROCYON_BAD_REQUEST',
      `only process instances take ${kind}s; "${req.fn}" is a function`,
    );
}

export function toSandboxInput(
  input: InvocationInput,
  style: HandlerStyle,
  activationId: string,
): InvokeInput {
  switch (input.kind) {
    case 'message':
      return { type: 'message', from: input.from, message: input.message, reply: input.reply };
    case 'alarm':
      return { type: 'alarm', retryCount: input.retryCount };
    case 'http':
      return style === 'handler'
        ? { type: 'event', event: toApiGatewayEvent(input.request, input.route, activationId) }
        : { type: 'fetch', request: input.request };
    case 'event':
      if (style === 'handler') return { type: 'event', event: input.event };
      // A Workers-style function invoked with an event sees it as a JSON POST.
      return {
        type: 'fetch',
        request: {
          method: 'POST',
          url: input.url,
          headers: [['content-type', 'application/json']],
          body: Buffer.from(JSON.stringify(input.event ?? null)),
        },
      };
  }
}

export function fromSandboxOutput(
  input: InvocationInput,
  result: Extract<InvokeOutput, { ok: true }>['result'],
  activationId: string,
  maxBytes: number,
  tail: CallTail | undefined,
): InvocationResult {
  if (result.type === 'fetch') {
    const body = result.response.stream ? (tail?.body ?? undefined) : undefined;
    return { activationId, kind: 'http', response: result.response, ...(body ? { body } : {}) };
  }
  if (input.kind !== 'http') return { activationId, kind: 'event', value: result.value };
  const response = fromLambdaResult(result.value);
  if (response.body.byteLength > maxBytes) {
    throw new ProcyonError('PROCYON_RESPONSE_TOO_LARGE', `the response body exceeds ${maxBytes} bytes`);
  }
  return { activationId, kind: 'http', response };
}
