/** Milliseconds since the epoch with sub-millisecond resolution, comparable across threads of one process. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
