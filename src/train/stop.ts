/**
 * Stopping a run cleanly. The first SIGINT or SIGTERM asks the trainer to stop after the epoch in
 * progress (an epoch is synchronous work, so the handler runs when it ends), write its checkpoint
 * and metrics, and exit 130 / 143. The handlers are then removed, so a second signal gets the
 * default action and ends the process at once, even inside a long epoch: the files on disk stay
 * the previous complete ones, as every write is atomic. Tests ask for a stop through request().
 */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'request';

/** Conventional exit codes: 128 + signal number. */
export const STOP_EXIT_CODE: Record<StopReason, number> = { SIGINT: 130, SIGTERM: 143, request: 130 };

export interface StopControl {
  reason(): StopReason | null;
  request(reason?: StopReason): void;
  /** Removes the signal handlers. */
  release(): void;
}

export function stopControl(opts: { signals: boolean; onFirst?: (r: StopReason) => void }): StopControl {
  let reason: StopReason | null = null;
  const release = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  function handler(sig: NodeJS.Signals): void {
    release();
    reason ??= sig as StopReason;
    opts.onFirst?.(reason);
  }
  if (opts.signals) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }
  return {
    reason: () => reason,
    request(r = 'request') {
      reason ??= r;
    },
    release,
  };
}
