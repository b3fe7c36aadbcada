import { moduleUrl } from '../actors/modules.js';
import { SpareThreads } from '../actors/spare-threads.js';
import { JOURNAL_WRITER_MODULE } from '../node/journal-writer-protocol.js';

/*
 * A node's first actor thread, booted as soon as the command line knows it runs a node. Booting a
 * thread and loading the journal writer's module is ~150 ms of CPU; begun here, on the other
 * core, it overlaps the main thread loading the rest of the program and checking the
 * configuration instead of following them. The node's runtime then takes these threads over.
 */
let early: SpareThreads | undefined;

export function bootJournalWriterThread(): void {
  early ??= new SpareThreads();
  early.prewarm(moduleUrl(JOURNAL_WRITER_MODULE), undefined);
}

/** The threads booted early, handed over once; undefined when none were (a node started in-process). */
export function takeEarlyThreads(): SpareThreads | undefined {
  const taken = early;
  early = undefined;
  return taken;
}
