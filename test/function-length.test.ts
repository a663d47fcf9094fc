/**
 * Functions with one job: no function of src/, kernels/ or test/ spans more than 80 lines. Lines
 * of template literals (WGSL shader text) do not count: a shader is one program, not a function
 * to split. A nested function counts toward the function around it, so a 200-line body does not
 * pass by hiding in closures. The TypeScript parser reads the files; nothing is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { PACKAGE_DIR } from './cli-helpers.js';

const MAX_LINES = 80;
const SCANNED = ['src', 'kernels', 'test'];

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

type FunctionNode = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ArrowFunction | ts.FunctionExpression | ts.ConstructorDeclaration;

function isFunction(n: ts.Node): n is FunctionNode {
  return ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isConstructorDeclaration(n);
}

function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line;
}

/** Lines of a function, less the lines inside its template literals. */
function countedLines(sf: ts.SourceFile, fn: ts.Node): number {
  let template = 0;
  const visit = (n: ts.Node): void => {
    if (ts.isTemplateExpression(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
      template += lineOf(sf, n.getEnd()) - lineOf(sf, n.getStart(sf));
      return;
    }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(fn, visit);
  return lineOf(sf, fn.getEnd()) - lineOf(sf, fn.getStart(sf)) + 1 - template;
}

function nameOf(fn: FunctionNode): string {
  if (fn.name) return fn.name.getText();
  if (ts.isVariableDeclaration(fn.parent) || ts.isPropertyAssignment(fn.parent)) return fn.parent.name.getText();
  return '(anonymous)';
}

/** "file:line name (N lines)" of every function over `max` lines in `source`. */
export function longFunctions(file: string, source: string, max = MAX_LINES): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (isFunction(n)) {
      const lines = countedLines(sf, n);
      if (lines > max) out.push(`${file}:${lineOf(sf, n.getStart(sf)) + 1} ${nameOf(n)} (${lines} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

test(`no function is longer than ${MAX_LINES} lines (shader text aside)`, () => {
  const files = SCANNED.flatMap((d) => tsFiles(join(PACKAGE_DIR, d)));
  assert.ok(files.length > 100, `found only ${files.length} source files`);
  const long = files.flatMap((f) => longFunctions(relative(PACKAGE_DIR, f), readFileSync(f, 'utf8')));
  assert.deepEqual(long, [], 'split these along the steps they comment');
});

test('the measure counts nested functions and skips template text', () => {
  const body = (n: number) => Array.from({ length: n }, (_, k) => `  const v${k} = ${k};`).join('\n');
  assert.deepEqual(longFunctions('a.ts', `function short() {\n${body(70)}\n}\n`), []);
  assert.deepEqual(longFunctions('a.ts', `function long() {\n${body(85)}\n}\n`), ['a.ts:1 long (87 lines)']);
  const nested = `function outer() {\n${body(50)}\n  const inner = () => {\n${body(40)}\n  };\n}\n`;
  assert.deepEqual(longFunctions('a.ts', nested), ['a.ts:1 outer (94 lines)']);
  const shader = `function kernel() {\n  const wgsl = \`\n${'    x = x + 1;\n'.repeat(200)}\`;\n${body(10)}\n}\n`;
  assert.deepEqual(longFunctions('a.ts', shader), []);
});
