// The layer rules of docs/ARCHITECTURE.md, checked on every `npm run lint` so the structure map
// stays true. CommonJS (.cjs) because depcruise loads its config with require() and this package is
// "type": "module".
//
// Layers, bottom to top. A module may import its own layer and the layers below it, never above:
//
//   0  errors.ts, logger.ts, json-depth.ts, names.ts,  shared by everything; policies several layers
//      config.ts, sandbox/egress/, sandbox/limits.ts    use live below all of them (CONVENTIONS.md)
//   1  store/                                           the Store boundary and its adapters
//   2  artifacts/                                       native-driver artifacts (CLI, control, driver)
//   3  sandbox/, scheduler/                             SandboxDriver boundary, both drivers, and the
//                                                       scheduler each driver embeds (it places procs
//                                                       of a ProcSpec; the drivers are its backends)
//   4  registry/, build/, secrets/, auth/, manifest/    services over the store and the drivers
//   5  invoker/                                         the single call path
//   6  procs/, bindings/                                what isolate code reaches through the node
//   7  control/                                         deploy, read, delete
//   8  http/, metrics/                                  shared HTTP plumbing, Prometheus
//   9  gateway/, api/                                   the two HTTP faces
//  10  node/                                            wires all of the above into one node
//  11  cli/                                             the `procyon` command, on top of everything
//
// src/runtime/ is outside the stack: it is the prelude bundled INTO each isolate, so it may import
// only types from the rest (erased at build), and the rest imports only its types (the host loads
// the bundle, it never imports the prelude's code).
//
// Folders are entered through their index.ts: a module importing into a folder it is not inside
// names that folder's index.js, never a deep file (tests are exempt: they test the deep files;
// a folder's own index.ts may reach into its subfolders, since it is what re-exports them).

/** Each entry is one layer: path regexes (from src/) of its members. */
const LAYERS = [
  [
    'errors\\.ts$',
    'logger\\.ts$',
    'json-depth\\.ts$',
    'names\\.ts$',
    'config\\.ts$',
    'sandbox/egress/',
    'sandbox/limits\\.ts$',
  ],
  ['store/'],
  ['artifacts/'],
  ['sandbox/', 'scheduler/'],
  ['registry/', 'build/', 'secrets/', 'auth/', 'manifest/'],
  ['invoker/'],
  ['procs/', 'bindings/'],
  ['control/'],
  ['http/', 'metrics/'],
  ['gateway/', 'api/'],
  ['node/'],
  ['cli/'],
];

const TESTS = ['\\.test\\.ts$', '^test/'];
const inSrc = (members) => members.map((m) => `^src/${m}`);

/** One rule per layer: nothing in it imports any layer above it. */
const layerRules = LAYERS.slice(0, -1).map((members, i) => ({
  name: `layer-${i}-imports-upward`,
  comment: `layer ${i} (${members.join(' ')}) imports a higher layer; see the order at the top of this file`,
  severity: 'error',
  // Tests may build on higher layers (an API test serves through the node's HTTP server).
  from: { path: inSrc(members), pathNot: TESTS },
  // A lower layer's member inside a higher layer's folder (sandbox/egress/ in sandbox/) is not above.
  to: { path: LAYERS.slice(i + 1).flatMap(inSrc), pathNot: LAYERS.slice(0, i + 1).flatMap(inSrc) },
}));

/**
 * "Sibling folders through their index", at each folder depth: an importer under prefix $1 (in
 * the file or folder $2) importing into another folder under the same prefix must name its index.
 */
const indexRules = [0, 1, 2, 3].map((depth) => ({
  name: `deep-import-depth-${depth}`,
  comment: 'imports a deep file of a folder it is not inside; import that folder\u2019s index.js',
  severity: 'error',
  from: {
    path: `^(src/${'[^/]+/'.repeat(depth)})([^/]+)`,
    // A folder's own index.ts is its public face: it gathers what its subfolders export.
    // The prelude is held to types only by its own rule below.
    pathNot: [...TESTS, `^src/${'[^/]+/'.repeat(depth)}index\\.ts$`, '^src/runtime/'],
  },
  // runtime/contract.ts is the prelude's face to the host (types); runtime/index.ts is the bundle entry.
  to: {
    path: '^$1[^/]+/',
    // Any folder's index.ts is its entry, a subfolder's too (sandbox/egress/ is entered on its own,
    // so the config loads no driver).
    pathNot: ['^$1$2/', '^$1[^/]+/index\\.ts$', '^$1[^/]+/[^/]+/index\\.ts$', '^src/runtime/contract\\.ts$'],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a cycle makes the layers meaningless: two modules that need each other are one layer',
      severity: 'error',
      from: {},
      // Cycles through a type-only import are erased at build and decide nothing at run time
      // (e.g. a types.ts naming the class that uses it); value cycles decide module init order.
      // The prelude's require()s (runtime/lazy.ts) run on first use, not at load, for the same reason.
      to: {
        circular: true,
        dependencyTypesNot: ['type-only'],
        viaOnly: { dependencyTypesNot: ['type-only', 'require'] },
      },
    },
    ...layerRules,
    {
      name: 'runtime-imports-only-types',
      comment: 'src/runtime runs inside isolates: code from the rest of src/ would be bundled into them',
      severity: 'error',
      from: { path: '^src/runtime/' },
      // json-depth.ts and sandbox/limits.ts are pure and shared on purpose (node: request bodies,
      // the host's timer cap; prelude: results, its own timer cap).
      to: {
        path: '^src/',
        pathNot: ['^src/runtime/', '^src/json-depth\\.ts$', '^src/sandbox/limits\\.ts$'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'only-types-from-runtime',
      comment: 'the host loads the prelude as a bundle; importing its code would run it in the node',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/runtime/', ...TESTS] },
      to: { path: '^src/runtime/', dependencyTypesNot: ['type-only'] },
    },
    ...indexRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
