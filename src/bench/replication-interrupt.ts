/**
 * A bench interrupted with Ctrl-C or SIGTERM would otherwise leave its broker child running and its
 * temporary directory behind: `finally` blocks do not run when a signal ends the process. The
 * cleanup here must be synchronous for the same reason. Returns the function that uninstalls it.
 */
export function onInterrupt(cleanup: () => void): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const handler = (): void => {
      try {
        cleanup();
      } finally {
        process.exit(code);
      }
    };
    handlers.set(signal, handler);
    process.once(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
}
