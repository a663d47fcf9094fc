/**
 * What loading a dataset shows while it runs, on stderr (never stdout, which may carry --json): a
 * line per file read (nodes, edges, features) with the count, the time and the rate, and on a
 * terminal a bar of the bytes read. A small dataset loads in well under a second and shows
 * nothing; once a load has taken `afterMs`, the lines of the files already read are printed and
 * every later one as it ends, so a large dataset is never silent for long. Off a terminal (a log
 * file, CI) a line with the bytes read so far is also written every `everyMs` within a file, since
 * one file of a large graph can take minutes.
 */
import cliProgress from 'cli-progress';

export type LoadPhase = 'nodes' | 'edges' | 'features';

export interface LoadProgress {
  /** Reading `file` (as messages name it), `bytes` long as stored (compressed for .gz), begins. */
  start(phase: LoadPhase, file: string, bytes: number): void;
  /** More bytes of the current file were read. */
  advance(bytes: number): void;
  /** The current file is read: `count` items of the kind `what` ("nodes", "edges", "feature values"). */
  end(count: number, what: string): void;
}

export interface LoadProgressOptions {
  stream?: NodeJS.WritableStream;
  /** Draw a bar (the stream is a terminal). */
  tty?: boolean;
  /** Stay quiet until the load has taken this long (default 1000 ms). */
  afterMs?: number;
  /** Off a terminal, a line on the current file this often (default 10000 ms). */
  everyMs?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

export function createLoadProgress(o: LoadProgressOptions = {}): LoadProgress {
  const stream = o.stream ?? process.stderr;
  const afterMs = o.afterMs ?? 1000;
  const everyMs = o.everyMs ?? 10_000;
  let lastLine = 0;
  const now = o.now ?? (() => performance.now());
  let loadStart = -1;
  let phaseStart = 0;
  let file = '';
  let total = 0;
  let read = 0;
  let loud = false;
  const pending: string[] = [];
  let bar: cliProgress.SingleBar | null = null;

  const becomeLoud = (): void => {
    if (loud || now() - loadStart < afterMs) return;
    loud = true;
    for (const l of pending) stream.write(l + '\n');
    pending.length = 0;
  };

  return {
    start(_phase, name, bytes) {
      if (loadStart < 0) loadStart = now();
      phaseStart = now();
      lastLine = phaseStart;
      file = name;
      total = bytes;
      read = 0;
    },
    advance(bytes) {
      read += bytes;
      becomeLoud();
      if (loud && !o.tty && now() - lastLine >= everyMs) {
        lastLine = now();
        const s = (lastLine - phaseStart) / 1000;
        stream.write(
          `reading ${file}: ${(read / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB (${Math.floor((100 * read) / Math.max(total, 1))}%), ${(read / 1e6 / Math.max(s, 1e-9)).toFixed(1)} MB/s\n`,
        );
      }
      if (!loud || !o.tty) return;
      if (bar === null) {
        bar = new cliProgress.SingleBar(
          { format: `reading ${file} {bar} {percentage}% | {mb} of {totalMb} MB`, stream, hideCursor: true, barsize: 24 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), 0, { mb: '0', totalMb: (total / 1e6).toFixed(1) });
      }
      bar.update(Math.min(read, total), { mb: (read / 1e6).toFixed(1) });
    },
    end(count, what) {
      if (bar !== null) {
        bar.stop();
        bar = null;
      }
      const s = (now() - phaseStart) / 1000;
      const rate = s > 0 ? `, ${Math.round(count / s)} ${what}/s, ${(read / 1e6 / s).toFixed(1)} MB/s` : '';
      const line = `read ${file}: ${count} ${what} in ${s.toFixed(2)} s${rate}`;
      becomeLoud();
      if (loud) stream.write(line + '\n');
      else pending.push(line);
    },
  };
}
