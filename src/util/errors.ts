/**
 * An error in what the user gave us (a file, a flag, a value). The CLI prints its message as one
 * line, without a stack trace, and exits with code 2. The message names the file, the line or
 * field, and what to fix.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * The GPU reported an error (out of memory, a validation error, a lost device): what was computed
 * since cannot be trusted. The CLI prints the GPU's message as one line and exits with code 1.
 */
export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/**
 * A run that cannot go on for a reason the user can act on, not a bug (training diverged: the
 * loss is NaN or infinite). The CLI prints its message as one line and exits with code 1.
 */
export class CheckFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailedError';
  }
}
