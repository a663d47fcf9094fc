/**
 * Rules every command's options follow, applied in one place (main.ts wraps each command with
 * withValueChecks) rather than option by option:
 * - an option that takes a value (string, number, array, choices) must be given one: `--lr` as the
 *   last word, or followed by another flag, is an error naming the flag instead of the default;
 * - a number option must be given a number: `--lr abc` says what was typed instead of "NaN";
 * - examples are shown one per line, so a long command is not wrapped inside itself.
 */
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../util/errors.js';

/** yargs' message for a flag without its value, reworded (updateStrings in main.ts). */
export const MISSING_VALUE_STRINGS = { 'Not enough arguments following: %s': '--%s needs a value' };

/** The part of yargs' getOptions() used here (not in @types/yargs). */
interface OptionLists {
  string: string[];
  number: string[];
  array: string[];
  choices: Record<string, unknown>;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const flagNames = (key: string) => new Set([`--${key}`, `--${kebab(key)}`]);

/** A word that starts another option, not a value (negative numbers are values). */
const isFlag = (word: string) => word.startsWith('-') && Number.isNaN(Number(word));

/**
 * The words the user typed as the value of --key (--key=v, or the words after --key up to the next
 * flag: one for a scalar, all for an array); the last occurrence wins, as in yargs.
 */
export function typedValues(argv: readonly string[], key: string): string[] | undefined {
  const names = flagNames(key);
  let typed: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    if (eq > 0 && names.has(a.slice(0, eq))) typed = [a.slice(eq + 1)];
    else if (names.has(a)) {
      typed = [];
      for (let j = i + 1; j < argv.length && !isFlag(argv[j]); j++) typed.push(argv[j]);
    }
  }
  return typed;
}

/** Throws an InputError for the first number option whose value (or one of whose values) is not a number. */
export function checkNumbers(args: Record<string, unknown>, numberKeys: readonly string[], argv: readonly string[]): void {
  for (const key of numberKeys) {
    const v = args[key];
    const values = Array.isArray(v) ? v : [v];
    const k = values.findIndex((x) => typeof x === 'number' && Number.isNaN(x));
    if (k >= 0) {
      const typed = typedValues(argv, key)?.[k] ?? String(values[k]);
      throw new InputError(`--${kebab(key)}: expected a number, got '${typed}'`);
    }
  }
}

/**
 * yargs' requiresArg does not catch an array option without values when it has a default (it
 * takes the default): the same message here.
 */
export function checkArrays(arrayKeys: readonly string[], argv: readonly string[]): void {
  for (const key of arrayKeys) {
    if (typedValues(argv, key)?.length === 0) throw new InputError(`--${kebab(key)} needs a value`);
  }
}

/**
 * yargs sets examples in two columns, the command in at most half the width, so a long command
 * wraps inside itself (and pastes badly): each example goes on one line instead, its description
 * as a shell comment after it.
 */
function examplesOnOneLine<T>(y: Argv<T>): Argv<T> {
  const example = y.example.bind(y) as (command: string, description: string) => Argv<T>;
  (y as unknown as { example: (command: string, description?: string) => Argv<T> }).example = (command, description) =>
    example(description ? `${command}   # ${description}` : command, '');
  return y;
}

/** The command with its builder's value-taking options made to require a value and its number options checked. */
export function withValueChecks<T, U>(cmd: CommandModule<T, U>, argv: readonly string[]): CommandModule<T, U> {
  const build = cmd.builder;
  return {
    ...cmd,
    builder: (y: Argv<T>) => {
      const built = (typeof build === 'function' ? build(examplesOnOneLine(y)) : y.options(build ?? {})) as Argv<U>;
      const o = (built as unknown as { getOptions(): OptionLists }).getOptions();
      const valued = [...new Set([...o.string, ...o.number, ...o.array, ...Object.keys(o.choices)])];
      const numbers = [...o.number];
      const arrays = [...o.array];
      return built.requiresArg(valued).check((args) => {
        checkArrays(arrays, argv);
        checkNumbers(args as Record<string, unknown>, numbers, argv);
        return true;
      }, false);
    },
  };
}

/** A flag's value must be an integer of at least `min` (a count, a size, a period). */
export function checkInteger(flag: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min)) throw new InputError(`${flag} must be an integer >= ${min}, got ${value}`);
}

/** A flag's value must be a number greater than 0. */
export function checkPositive(flag: string, value: number): void {
  if (!(value > 0 && Number.isFinite(value))) throw new InputError(`${flag} must be a number > 0, got ${value}`);
}
