/** Request schemas of the control API (TypeBox → JSON Schema, validated by Fastify's Ajv). */
import { Type, type Static } from '@sinclair/typebox';
import { FN_OR_CLASS_PATTERN, LIMITS, NAME_PATTERN } from '../control/index.js';
import { CLASS_NAME_RE } from '../names.js';
import { EGRESS_PATTERN_SOURCE } from '../sandbox/egress/index.js';

export const NsParams = Type.Object({ ns: Type.String({ pattern: NAME_PATTERN }) });
export const FnParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  name: Type.String({ pattern: FN_OR_CLASS_PATTERN }),
});
/** A process instance: its class and name are checked by the manager (src/names.ts). */
export const ProcParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  className: Type.String({ minLength: 1, maxLength: 256 }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
});
export const ProcListQuery = Type.Object({
  class: Type.Optional(Type.String({ pattern: CLASS_NAME_RE.source })),
});
export const MessageBody = Type.Object({ message: Type.Unknown() }, { additionalProperties: false });
export const ActivationParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  id: Type.String({ minLength: 1, maxLength: 64 }),
});

/** Names on `env`: vars, secrets and bindings share one namespace of identifiers. */
export const BINDING_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
/** Binding name → a KV namespace or function name. */
const BindingMap = Type.Optional(
  Type.Record(Type.String({ pattern: BINDING_NAME }), Type.String({ pattern: NAME_PATTERN }), {
    maxProperties: 64,
  }),
);

const DeployFields = {
  /** The module, for the isolate driver. A native-driver function sends `artifact` instead. */
  code: Type.Optional(Type.String({ minLength: 1 })),
  /** A native-driver function (docs/native-driver.md): the runtime its artifact runs on. */
  runtime: Type.Optional(
    Type.Union([Type.Literal('nodejs'), Type.Literal('python3'), Type.Literal('custom')]),
  ),
  /** `file.function`; checked further by the control service (src/control/kind.ts). */
  handler: Type.Optional(Type.String({ minLength: 1, maxLength: 384 })),
  /** The program as a .zip or .tar.gz, base64. */
  artifact: Type.Optional(Type.String({ minLength: 4, pattern: '^[A-Za-z0-9+/]*={0,2}$' })),
  /** Let the sandbox reach the network (through the egress policy). @default false */
  network: Type.Optional(Type.Boolean()),
  filename: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\]+$' })),
  memory: Type.Optional(Type.Integer({ minimum: LIMITS.memory.min, maximum: LIMITS.memory.max })),
  timeout: Type.Optional(Type.Integer({ minimum: LIMITS.timeout.min, maximum: LIMITS.timeout.max })),
  routes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 64 })),
  vars: Type.Optional(
    Type.Record(Type.String({ pattern: BINDING_NAME }), Type.String({ maxLength: 65_536 }), {
      maxProperties: 128,
    }),
  ),
  kv: BindingMap,
  services: BindingMap,
  /** Deploy the module's export of this name as a process class (docs/processes.md). */
  process: Type.Optional(
    Type.Object(
      { className: Type.String({ pattern: CLASS_NAME_RE.source }) },
      { additionalProperties: false },
    ),
  ),
  /** Private hosts the function's `fetch` may reach: `host[:port]` patterns (see src/sandbox/types.ts). */
  egress: Type.Optional(
    Type.Object(
      {
        allow: Type.Array(Type.String({ minLength: 1, maxLength: 300, pattern: EGRESS_PATTERN_SOURCE }), {
          maxItems: 64,
        }),
      },
      { additionalProperties: false },
    ),
  ),
  /**
   * Scaling policy. Only the types here: the ranges and the rules between fields are checked by
   * the control service (src/control/scaling.ts), which every deploy path goes through.
   */
  scaling: Type.Optional(
    Type.Object(
      {
        concurrency: Type.Optional(Type.Integer()),
        minInstances: Type.Optional(Type.Integer()),
        maxInstances: Type.Optional(Type.Integer()),
        keepAliveMs: Type.Optional(Type.Integer()),
      },
      { additionalProperties: false },
    ),
  ),
};

export const DeployBody = Type.Object(
  { name: Type.String({ pattern: FN_OR_CLASS_PATTERN }), ...DeployFields },
  { additionalProperties: false },
);
export const DeployByNameBody = Type.Object(DeployFields, { additionalProperties: false });
export type DeployBody = Static<typeof DeployBody>;
export type DeployByNameBody = Static<typeof DeployByNameBody>;

export const InvokeQuery = Type.Object({
  version: Type.Optional(Type.String({ pattern: '^[a-z0-9]{1,64}$' })),
});

export const ActivationQuery = Type.Object({
  fn: Type.Optional(Type.String({ pattern: FN_OR_CLASS_PATTERN })),
  status: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('error')])),
  since: Type.Optional(Type.String({ maxLength: 40 })),
  until: Type.Optional(Type.String({ maxLength: 40 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export type ActivationQuery = Static<typeof ActivationQuery>;

export const SecretParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  name: Type.String({ pattern: NAME_PATTERN }),
  secret: Type.String({ pattern: BINDING_NAME }),
});
export const SecretBody = Type.Object({ value: Type.String() }, { additionalProperties: false });

export const KvParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  kv: Type.String({ pattern: NAME_PATTERN }),
});
export const KvKeyParams = Type.Object({
  ns: Type.String({ pattern: NAME_PATTERN }),
  kv: Type.String({ pattern: NAME_PATTERN }),
  key: Type.String({ minLength: 1, maxLength: 512 }),
});
export const KvListQuery = Type.Object({
  prefix: Type.Optional(Type.String({ maxLength: 512 })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export const KvPutQuery = Type.Object({
  ttl: Type.Optional(Type.Integer({ minimum: 60 })),
});

export const CreateKeyBody = Type.Object(
  {
    /** The namespace the key is for; null or absent for an admin key. */
    namespace: Type.Optional(Type.Union([Type.String({ pattern: NAME_PATTERN }), Type.Null()])),
  },
  { additionalProperties: false },
);
export const KeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
