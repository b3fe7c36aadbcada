import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../src/chaos/faults.js';
import { parseFaultKinds } from '../src/cli/chaos-command.js';
import { runCli } from './support/cli.js';

/*
 * `chaos --kinds`: a round of chosen faults only (a drill of one kind, such as a dead disk and
 * its runbook). Every name is checked before anything starts.
 */
describe('chaos --kinds', () => {
  it('takes a comma-separated list of known kinds, once each, in the order given', () => {
    expect(parseFaultKinds('disk-death')).toEqual(['disk-death']);
    expect(parseFaultKinds('disk-death, node-kill,disk-death')).toEqual(['disk-death', 'node-kill']);
    expect(parseFaultKinds(FAULT_KINDS.join(','))).toEqual([...FAULT_KINDS]);
  });

  it('refuses an unknown or empty kind, naming it and listing the kinds there are', () => {
    for (const [value, bad] of [
      ['node-kill,meteor', 'meteor'],
      ['', ''],
      ['node-kill,', ''],
      ['Node-Kill', 'Node-Kill'],
    ] as const) {
      expect(() => parseFaultKinds(value), value).toThrow(`--kinds: ${JSON.stringify(bad)} is not a kind of fault; use a comma-separated list of ${FAULT_KINDS.join(', ')}`);
    }
  });

  it('on the command line: exit 2 with the error, before any store is started', () => {
    const result = runCli(['chaos', '--kinds', 'node-kill,meteor']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`edgepay: EDGEPAY_BAD_INPUT: --kinds: "meteor" is not a kind of fault; use a comma-separated list of ${FAULT_KINDS.join(', ')}\n`);
  });
});
