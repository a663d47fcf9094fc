/** Installed package versions, read from their package.json (no package is loaded to find them). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The version of an installed package, or null when it is not installed. */
export function packageVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** "name version" for each installed package, joined. */
export function versionsOf(...names: string[]): string | null {
  const parts = names.flatMap((n) => {
    const v = packageVersion(n);
    return v ? [`${n} ${v}`] : [];
  });
  return parts.length > 0 ? parts.join(', ') : null;
}
