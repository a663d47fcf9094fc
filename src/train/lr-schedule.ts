/**
 * Learning-rate schedules with PyTorch's rules, as a pure function of the epoch: resuming a run
 * needs nothing saved beyond its config. Epoch e (1-based) trains with the lr torch's scheduler
 * holds after e - 1 calls of scheduler.step() (one per epoch, after optimizer.step()):
 * - step:   StepLR(step_size, gamma)            lr = base * gamma^floor((e - 1) / step_size)
 * - cosine: CosineAnnealingLR(T_max, eta_min)   lr = eta_min + (base - eta_min) (1 + cos(pi (e - 1) / T_max)) / 2
 *   (T_max 0 means the run's maximum epochs; past T_max the cosine climbs again, as torch's does).
 */
import { InputError } from '../util/errors.js';

export type LrScheduleName = 'none' | 'cosine' | 'step';
export const LR_SCHEDULES: LrScheduleName[] = ['none', 'cosine', 'step'];

export interface LrSchedule {
  name: LrScheduleName;
  /** step: epochs between decays (torch's step_size). */
  stepSize: number;
  /** step: factor per decay (torch's gamma). */
  gamma: number;
  /** cosine: the lowest lr (torch's eta_min). */
  minLr: number;
  /** cosine: epochs of the half period (torch's T_max); 0: the run's --epochs. */
  tMax: number;
}

export const DEFAULT_LR_SCHEDULE: LrSchedule = { name: 'none', stepSize: 100, gamma: 0.1, minLr: 0, tMax: 0 };

export function checkLrSchedule(s: LrSchedule, baseLr: number): void {
  if (!LR_SCHEDULES.includes(s.name)) throw new InputError(`--lr-schedule must be one of ${LR_SCHEDULES.join(', ')}, got "${s.name}"`);
  if (!(Number.isInteger(s.stepSize) && s.stepSize >= 1)) throw new InputError(`--lr-step-size must be a positive integer, got ${s.stepSize}`);
  if (!(s.gamma > 0 && s.gamma <= 1)) throw new InputError(`--lr-gamma must be in (0, 1], got ${s.gamma}`);
  if (!(s.minLr >= 0 && s.minLr <= baseLr)) throw new InputError(`--lr-min must be in [0, --lr] = [0, ${baseLr}], got ${s.minLr}`);
  if (!(Number.isInteger(s.tMax) && s.tMax >= 0)) throw new InputError(`--lr-t-max must be a non-negative integer (0: --epochs), got ${s.tMax}`);
}

/** The learning rate of epoch `epoch` (1-based) of a run of at most `epochs` epochs. */
export function lrAt(baseLr: number, s: LrSchedule | undefined, epoch: number, epochs: number): number {
  const t = epoch - 1;
  if (!s || s.name === 'none') return baseLr;
  if (s.name === 'step') return baseLr * s.gamma ** Math.floor(t / s.stepSize);
  const tMax = s.tMax > 0 ? s.tMax : epochs;
  return s.minLr + ((baseLr - s.minLr) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
}
