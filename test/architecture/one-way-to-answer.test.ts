/**
 * One way to answer (issue 15): every route in src/http and src/app answers through its
 * request's Exchange (src/http/exchange.ts), which writes to the Node response and counts
 * the request once. None answers with Hono's Context helpers (c.json, c.body, c.text, ...),
 * which would bypass the timer and the count, or builds a web Response by hand.
 */
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const FOLDERS = ['src/http', 'src/app'].map((f) => resolve(ROOT, f));

/** Hono Context methods that build an answer. */
const ANSWERING = new Set(['json', 'body', 'text', 'html', 'newResponse', 'redirect', 'notFound']);

/**
 * Where a web Response may still be built, and why. client-error.ts answers what the Node
 * adapter could not turn into a Request (a bad Host or target), before any route is chosen.
 */
const RESPONSE_ALLOWED = new Set(['src/http/client-error.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** A program over the two folders, type-checked as tsconfig.json says. */
function program(files: readonly string[]): ts.Program {
  const configPath = resolve(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config as object, ts.sys, ROOT);
  return ts.createProgram({ rootNames: files, options: { ...parsed.options, noEmit: true } });
}

/** Whether `type` is Hono's Context (declared in hono's context module). */
function isHonoContext(type: ts.Type): boolean {
  const symbol = type.getSymbol() ?? type.aliasSymbol;
  if (symbol?.getName() !== 'Context') return false;
  return (symbol.declarations ?? []).some((d) =>
    /[\\/]node_modules[\\/]hono[\\/]/.test(d.getSourceFile().fileName),
  );
}

/** `file:line what` for every answer built outside the Exchange. */
function answersOutsideTheExchange(): string[] {
  const files = FOLDERS.flatMap(sourceFiles);
  const prog = program(files);
  const checker = prog.getTypeChecker();
  const found: string[] = [];
  for (const file of files) {
    const source = prog.getSourceFile(file);
    if (source === undefined) throw new Error(`not in the program: ${file}`);
    const name = relative(ROOT, file);
    const where = (node: ts.Node) =>
      `${name}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        ANSWERING.has(node.expression.name.text) &&
        isHonoContext(checker.getTypeAtLocation(node.expression.expression))
      ) {
        found.push(`${where(node)} ${node.expression.getText(source)}(...)`);
      }
      if (
        ts.isNewExpression(node) &&
        node.expression.getText(source) === 'Response' &&
        !RESPONSE_ALLOWED.has(name)
      ) {
        found.push(`${where(node)} new Response(...)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** The writers of respond.ts, which only the Exchange may call (else a route could skip the count). */
const WRITERS = ['sendJson', 'sendError', 'sendText', 'startSse', 'writeFrame', 'endSseWithError'];

/** `file: name` for every import of a respond.ts writer outside exchange.ts. */
function writersImportedOutsideTheExchange(): string[] {
  const found: string[] = [];
  for (const file of FOLDERS.flatMap(sourceFiles)) {
    const name = relative(ROOT, file);
    if (name === 'src/http/exchange.ts' || name === 'src/http/respond.ts') continue;
    const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? '', ts.ScriptTarget.Latest);
    for (const stmt of source.statements) {
      if (
        !ts.isImportDeclaration(stmt) ||
        !/respond\.js'$/.test(stmt.moduleSpecifier.getText(source))
      )
        continue;
      const bindings = stmt.importClause?.namedBindings;
      if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
      for (const el of bindings.elements)
        if (WRITERS.includes(el.name.text)) found.push(`${name}: ${el.name.text}`);
    }
  }
  return found;
}

describe('one way to answer', () => {
  it('only the Exchange calls the writers of respond.ts', () => {
    expect(writersImportedOutsideTheExchange()).toEqual([]);
  });

  it("no route in src/http or src/app answers with Hono's Context helpers or a web Response", () => {
    expect(answersOutsideTheExchange()).toEqual([]);
  }, 60_000);
});
