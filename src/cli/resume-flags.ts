/**
 * `train --resume DIR` with other training flags: a resumed run keeps the options saved in its
 * config.json, so a flag is either one that can change on the way (--epochs, --patience: extend a
 * run, finished or not), or one equal to the saved value, or refused with its name: never ignored.
 */
import { resolve } from 'node:path';
import { resolveDataset } from '../store/load.js';
import type { TrainConfig } from '../train/config.js';

/** Flags a resumed run takes: how long it runs and when it stops early. */
export const RESUMABLE_CHANGES = ['epochs', 'patience'] as const;
export type ResumeOverrides = Partial<Pick<TrainConfig, (typeof RESUMABLE_CHANGES)[number]>>;

/** Flags that say how to run, not what to train. */
const RUN_ONLY = new Set(['resume', 'json', 'help', 'h', 'version']);

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The option names (camelCase) given on the command line: --name, --name=value, --no-name. */
export function givenOptions(argv: readonly string[], known: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const word of argv) {
    if (word === '--') break;
    if (!word.startsWith('--')) continue;
    let name = camel(word.slice(2).split('=')[0]);
    if (!(name in known) && name.startsWith('no') && name.length > 2) name = name[2].toLowerCase() + name.slice(3);
    out.add(name);
  }
  return [...out];
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The saved value a flag corresponds to (the flag's own name where TrainConfig names it so). */
function savedValue(c: TrainConfig, key: string): unknown {
  switch (key) {
    case 'optimizer': return c.optimizer.name;
    case 'dropout': return c.model.inputDropout;
    case 'selfLoops': return c.model.addSelfLoops;
    case 'diagnostics': return (c.diagnostics ?? 0) > 0;
    case 'diagnosticsEvery': return c.diagnostics ?? 0;
  }
  if (key in c) return (c as unknown as Record<string, unknown>)[key];
  if (key in c.optimizer) return (c.optimizer as unknown as Record<string, unknown>)[key];
  if (key in c.model) return (c.model as unknown as Record<string, unknown>)[key];
  return undefined;
}

function sameAsSaved(saved: TrainConfig, key: string, asked: unknown): boolean {
  if (key === 'dataset') {
    const where = resolveDataset(String(asked));
    return (where.builtin ? where.name : where.dir) === saved.dataset;
  }
  return JSON.stringify(savedValue(saved, key)) === JSON.stringify(asked);
}

export interface ResumeFlags {
  overrides: ResumeOverrides;
  /** Flags (as typed, --kebab-case) that differ from the saved run and cannot change. */
  refused: string[];
}

/**
 * Sorts the flags given with --resume. `args`: the parsed flags by camelCase name; `resumeDir`:
 * the run (an --out naming it is no change).
 */
export function resumeFlags(saved: TrainConfig, args: Record<string, unknown>, given: readonly string[], resumeDir: string): ResumeFlags {
  const overrides: ResumeOverrides = {};
  const refused: string[] = [];
  for (const key of given) {
    if (RUN_ONLY.has(key)) continue;
    if ((RESUMABLE_CHANGES as readonly string[]).includes(key)) {
      overrides[key as keyof ResumeOverrides] = args[key] as number;
      continue;
    }
    if (key === 'out') {
      if (resolve(String(args.out)) !== resolve(resumeDir)) refused.push('--out');
      continue;
    }
    if (!sameAsSaved(saved, key, args[key])) refused.push(`--${kebab(key)}`);
  }
  return { overrides, refused };
}
