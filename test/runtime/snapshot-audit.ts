/**
 * The snapshot rule, checked on what actually runs: makes the prelude snapshot in a child Node
 * with V8's function-event log (which also shows what a cold call runs, for the lazy-loading
 * checks), takes every prelude function that ran while the snapshot was made, and lists what in
 * that function's own code (not its nested functions) the snapshot would corrupt
 * (see src/runtime/index.ts): one-character string, template and regular-expression literals,
 * one-character property names and keys, and one-character variables that a nested function
 * captures (their names live on in the scope info that functions compiled later look them up in).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const ISOLATED_VM = pathToFileURL(createRequire(import.meta.url).resolve('isolated-vm')).href;

/** [start, end, name] of a prelude function, as V8's function-event log reports it. */
export type RanFunction = [number, number, string];

/**
 * Runs `script` (an ES module body; `ivm` is isolated-vm and `snapshot` the prelude snapshot) in
 * a child Node with V8's function-event log, and returns the prelude functions that ran: while
 * the snapshot was made, and in the isolates the script made from it.
 */
export function preludeFunctionsRun(
  preludePath: string,
  script = '',
): { atSnapshot: RanFunction[]; inIsolates: RanFunction[] } {
  const dir = mkdtempSync(join(tmpdir(), 'procyon-snapshot-audit-'));
  try {
    const code = `
      import ivm from ${JSON.stringify(ISOLATED_VM)};
      import { readFileSync } from 'node:fs';
      const snapshot = ivm.Isolate.createSnapshot([{ code: readFileSync(${JSON.stringify(preludePath)}, 'utf8'), filename: 'procyon:prelude.js' }]);
      ${script}`;
    // V8 writes one log per isolate into the working directory.
    execFileSync(
      process.execPath,
      [
        '--no-node-snapshot',
        '--log-function-events',
        '--logfile=events.log',
        '--input-type=module',
        '-e',
        code,
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    const result = { atSnapshot: [] as RanFunction[], inIsolates: [] as RanFunction[] };
    for (const file of readdirSync(dir)) {
      const lines = readFileSync(join(dir, file), 'utf8').split('\n');
      const ids = new Set(
        lines
          .filter((l) => l.startsWith('script-details,') && l.includes(',procyon:prelude.js,'))
          .map((l) => l.split(',')[1]),
      );
      // The isolate that made the snapshot compiled the prelude; the others deserialised it.
      const created = lines.some((l) => l.startsWith('script,create,') && ids.has(l.split(',')[2]));
      for (const line of lines) {
        const [kind, event, id, start, end, , , name] = line.split(',');
        if (kind === 'function' && event === 'first-execution' && ids.has(id))
          (created ? result.atSnapshot : result.inIsolates).push([Number(start), Number(end), name ?? '']);
      }
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type FunctionNode = ts.FunctionLikeDeclaration | ts.ClassStaticBlockDeclaration | ts.ClassLikeDeclaration;

function isFunctionNode(node: ts.Node): node is FunctionNode {
  return ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node) || ts.isClassLike(node);
}

/**
 * V8 reports a function from its parameter list (an async arrow from `async`, see the caller);
 * classes stand for their member initializers.
 */
function v8Start(node: FunctionNode, source: ts.SourceFile): number {
  if ('parameters' in node && node.parameters !== undefined) {
    const open = node.parameters.pos - 1;
    return source.text[open] === '(' ? open : node.parameters.pos;
  }
  return node.getStart(source);
}

function isOneChar(text: string): boolean {
  return text.length === 1;
}

/** Offences in the code `root` itself runs: nested functions are skipped, their names are not. */
function offencesIn(root: FunctionNode, source: ts.SourceFile): string[] {
  const found: string[] = [];
  const where = (node: ts.Node): string =>
    `line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: ${node.getText(source).slice(0, 60)}`;
  const nested: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    if (node !== root && isFunctionNode(node)) {
      const name = (node as { name?: ts.Node }).name;
      if (name !== undefined && (ts.isIdentifier(name) || ts.isStringLiteral(name)) && isOneChar(name.text))
        found.push(`one-character name, ${where(name)}`);
      if (name !== undefined && ts.isComputedPropertyName(name)) visit(name.expression);
      nested.push(node);
      if (ts.isClassLike(node)) node.members.forEach((m) => (m.name ? visit(m.name) : undefined));
      return;
    }
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && isOneChar(node.text))
      found.push(`one-character string, ${where(node)}`);
    if (
      (ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) &&
      isOneChar(node.text)
    )
      found.push(`one-character template part, ${where(node)}`);
    if (ts.isRegularExpressionLiteral(node) && isOneChar(node.text.slice(1, node.text.lastIndexOf('/'))))
      found.push(`one-character regular expression, ${where(node)}`);
    if (ts.isPropertyAccessExpression(node) && isOneChar(node.name.text))
      found.push(`one-character property, ${where(node)}`);
    if (
      (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) &&
      ts.isIdentifier(node.name)
    )
      if (isOneChar(node.name.text)) found.push(`one-character key, ${where(node)}`);
    ts.forEachChild(node, visit);
  };
  if (ts.isClassLike(root)) {
    // The member initializers: field values, which run when an instance is made.
    for (const member of root.members)
      if (ts.isPropertyDeclaration(member) && member.initializer) visit(member.initializer);
  } else ts.forEachChild(root, visit);
  // One-character variables of this function that a nested function captures.
  const captured = new Set<string>();
  for (const fn of nested) {
    const collect = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && isOneChar(node.text)) captured.add(node.text);
      ts.forEachChild(node, collect);
    };
    collect(fn);
  }
  const declare = (node: ts.Node): void => {
    if (node !== root && isFunctionNode(node)) return;
    if (
      (ts.isVariableDeclaration(node) || ts.isParameter(node)) &&
      ts.isIdentifier(node.name) &&
      isOneChar(node.name.text) &&
      captured.has(node.name.text)
    )
      found.push(`one-character variable captured by a nested function, ${where(node)}`);
    ts.forEachChild(node, declare);
  };
  ts.forEachChild(root, declare);
  return found;
}

/** What the snapshot would corrupt in the functions that ran while it was made; [] when clean. */
export function auditSnapshotCode(code: string, ran: RanFunction[]): string[] {
  const source = ts.createSourceFile('prelude.js', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const byEnd = new Map<number, FunctionNode[]>();
  const index = (node: ts.Node): void => {
    if (isFunctionNode(node)) byEnd.set(node.end, [...(byEnd.get(node.end) ?? []), node]);
    ts.forEachChild(node, index);
  };
  index(source);
  const problems: string[] = [];
  for (const [start, end, name] of ran) {
    // A class's implicit constructor: no code of its own.
    if (start === end) continue;
    const candidates = byEnd.get(end) ?? [];
    const fn =
      candidates.find((n) => v8Start(n, source) === start || n.getStart(source) === start) ??
      candidates.find((n) => ts.isClassLike(n) && n.getStart(source) <= start);
    // The script itself (the bundle's top level) ends where the last function does.
    if (fn === undefined) {
      if (start === 0) continue;
      problems.push(`${name || '(anonymous)'} at ${start}-${end}: no such function in the bundle`);
      continue;
    }
    for (const offence of offencesIn(fn, source)) problems.push(`${name || '(anonymous)'}: ${offence}`);
  }
  return problems;
}
