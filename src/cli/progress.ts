import { SingleBar } from 'cli-progress';

/*
 * Progress of a long command on stderr (stdout stays the command's result, for pipes and --json).
 * On a terminal, a bar (cli-progress). Otherwise (journald, a CI log, a redirect) a bar's carriage
 * returns would make one endless line: a plain line each time another tenth is done, or every
 * PROGRESS_LINE_EVERY_MS, whichever comes first, and one at the end.
 */

/** Below this many units a command finishes before anyone wonders: it stays silent, as it always was. */
export const PROGRESS_MIN_UNITS = 10_000;
/** Without a terminal: at most this long between two lines while work goes on. */
export const PROGRESS_LINE_EVERY_MS = 5_000;
const LINE_STEPS = 10;

export interface Progress {
  /** `done` units of the total so far (monotonic). */
  update(done: number): void;
  /** The end: the final count is printed (without a terminal) and the bar closed. */
  stop(): void;
}

/** Where progress goes: stderr, or a command's error output; a bar only on a terminal (isTTY). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** What is being done, e.g. "verifying journal.db". */
  readonly label: string;
  readonly total: number;
  /** Plural noun of the unit: "entries", "pages". */
  readonly unit: string;
  readonly stream?: ProgressStream;
  readonly now?: () => number;
}

const silent: Progress = { update: () => undefined, stop: () => undefined };

export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.total < PROGRESS_MIN_UNITS) return silent;
  if (stream.isTTY === true) {
    // Only a terminal's stream says isTTY: a tty.WriteStream, which the bar draws on.
    const bar = new SingleBar({ format: `${options.label} [{bar}] {percentage}% {value}/{total} ${options.unit} | {eta_formatted} left`, stream: stream as NodeJS.WriteStream, hideCursor: true });
    bar.start(options.total, 0);
    return { update: (done) => bar.update(Math.min(done, options.total)), stop: () => bar.stop() };
  }
  const now = options.now ?? Date.now;
  const started = now();
  let lastLineMs = started;
  let lastStep = 0;
  let last = 0;
  const line = (done: number): void => {
    const percent = Math.floor((done * 100) / options.total);
    stream.write(`${options.label}: ${done}/${options.total} ${options.unit} (${percent}%), ${((now() - started) / 1000).toFixed(1)} s\n`);
    lastLineMs = now();
  };
  return {
    update: (done) => {
      last = Math.min(done, options.total);
      const step = Math.floor((last * LINE_STEPS) / options.total);
      if (step > lastStep || now() - lastLineMs >= PROGRESS_LINE_EVERY_MS) {
        lastStep = Math.max(step, lastStep);
        if (last < options.total) line(last);
      }
    },
    stop: () => line(last),
  };
}

/**
 * Progress of work whose total is not known: no bar and no percentage (on a terminal neither), a
 * line with the count so far every PROGRESS_LINE_EVERY_MS while it goes on, and the final count at
 * the end if any was printed. Work that ends sooner stays silent.
 */
export function startCount(options: Omit<ProgressOptions, 'total'>): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const started = now();
  let lastLineMs = started;
  let printed: number | undefined;
  let last = 0;
  const line = (): void => {
    stream.write(`${options.label}: ${last} ${options.unit}, ${((now() - started) / 1000).toFixed(1)} s\n`);
    lastLineMs = now();
    printed = last;
  };
  return {
    update: (done) => {
      last = done;
      if (now() - lastLineMs >= PROGRESS_LINE_EVERY_MS) line();
    },
    stop: () => {
      if (printed !== undefined && printed !== last) line();
    },
  };
}
