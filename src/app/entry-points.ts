/**
 * The program's entry points, each a file of its own in bundle/ (scripts/bundle.mjs): the command
 * line, and every module a node starts a thread on. Shared code goes into common chunks, which a
 * thread loads once, so two modules of one thread still share their imports' state. A worker
 * module missing here exists in dist/ but not in bundle/, and the bundled node refuses to start
 * the actor that needs it (EDGEPAY_ACTOR_MODULE_MISSING); test/bundle.test.ts checks the list
 * against the modules' own constants.
 */
export const BUNDLE_ENTRY_POINTS: readonly string[] = [
  'cli/main',
  'actors/thread-host',
  'app/actors/journal-writer',
  'app/actors/intake',
  'app/actors/replicator',
  'app/actors/uplink',
  'app/actors/reader',
  'card/capture-worker',
];
