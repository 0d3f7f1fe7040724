/**
 * Smaller rooms (issue 15): no function in src/ longer than a screen, no file longer than
 * 400 lines. A function that long does several steps; named steps read better and can be
 * tested, moved and replaced one at a time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');
const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 400;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** What a reader would call the function: its declared name, or the name it is bound to. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText(source);
  }
  return '<anonymous>';
}

/** `file:line name (n lines)` for every function, method or arrow longer than the limit. */
function longFunctions(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > MAX_FUNCTION_LINES) {
        found.push(
          `${relative(SRC, file)}:${first + 1} ${functionName(node, source)} (${lines} lines)`,
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function fileLines(file: string): number {
  return readFileSync(file, 'utf8').trimEnd().split('\n').length;
}

describe('src/ is made of small rooms', () => {
  const files = sourceFiles(SRC);

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap(longFunctions)).toEqual([]);
  });

  it(`has no file longer than ${MAX_FILE_LINES} lines`, () => {
    const offenders = files
      .map((file) => ({ file: relative(SRC, file), lines: fileLines(file) }))
      .filter(({ lines }) => lines > MAX_FILE_LINES);
    expect(offenders).toEqual([]);
  });
});
