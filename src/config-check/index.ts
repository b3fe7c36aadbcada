/*
 * Checking a node's or the centre's configuration and every file it names, for `config check`,
 * `check-config` and the start of `node run` and `centre run`: every problem listed at once, with
 * its key path, the value and what is allowed; nothing created, written or connected to.
 */
export { type CentreConfigCheck, checkCentreConfigData, checkCentreConfigFile } from './centre-check.js';
export { Findings, warningLine } from './findings.js';
export { type NodeConfigCheck, checkNodeConfigData, checkNodeConfigFile, plainTokenKeyWarning } from './node-check.js';
export { requireUsable, withCredentialsDir } from './usable.js';
