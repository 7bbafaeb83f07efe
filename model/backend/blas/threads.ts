/**
 * How many OpenBLAS threads each product gets.
 *
 * OpenMP splits a product statically across its team and waits for the slowest member. When another
 * process holds one of the cores, that member runs only in scheduler slices and a 2-thread sgemm falls
 * from ~180 GFLOP/s to 5–25 here, far below the ~90 of one thread. So multi-threaded calls are timed
 * against the single-thread rate measured at start; a call that runs slower than
 * {@link CONTENDED_FRACTION} of it sends the following calls to one thread for a back-off period that
 * doubles while the contention lasts (a single slow probe per period is the whole cost).
 */

/** Products below this many flops run on one thread: waking the team costs more than it saves. */
export const MULTITHREAD_MIN_FLOPS = 8e6;
/** Only products of at least this many flops are timed (≥ ~0.1 ms, well above the timer's resolution). */
const TIMED_MIN_FLOPS = 2e7;
/** A multi-threaded call slower than this share of the single-thread rate means a contended core. */
const CONTENDED_FRACTION = 0.6;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8000;

/** Per-call thread choice with contention back-off. */
export class ThreadGovernor {
  /** Flops per millisecond of one thread on a mid-sized product (0: unknown, never back off). */
  readonly singleThreadRate: number;
  /** Calls that triggered a back-off, for reports. */
  backoffs = 0;
  private backoffMs = FIRST_BACKOFF_MS;
  private singleUntil = 0;
  private readonly now: () => number;

  constructor(singleThreadRate: number, now: () => number = () => performance.now()) {
    this.singleThreadRate = singleThreadRate;
    this.now = now;
  }

  /** Threads for a product of `work` flops when `configured` are allowed. */
  choose(work: number, configured: number): number {
    if (configured <= 1 || work < MULTITHREAD_MIN_FLOPS) return 1;
    if (this.singleUntil > 0 && this.now() < this.singleUntil) return 1;
    return configured;
  }

  /** Whether a call of `work` flops on `threads` threads should be timed and reported to {@link record}. */
  wantsTiming(work: number, threads: number): boolean {
    return threads > 1 && work >= TIMED_MIN_FLOPS && this.singleThreadRate > 0;
  }

  /** Report how long a multi-threaded call took. */
  record(work: number, milliseconds: number): void {
    const rate = work / Math.max(milliseconds, 1e-6);
    if (rate >= CONTENDED_FRACTION * this.singleThreadRate) {
      this.backoffMs = FIRST_BACKOFF_MS;
      this.singleUntil = 0;
      return;
    }
    this.backoffs++;
    this.singleUntil = this.now() + this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  /** Whether calls currently run on one thread because of contention. */
  get backingOff(): boolean {
    return this.singleUntil > 0 && this.now() < this.singleUntil;
  }
}
