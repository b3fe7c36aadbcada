import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EdgepayError } from '../errors.js';
import { RUNS_BUNDLED } from '../platform/modules.js';

/*
 * The development rigs (benchmarks, the demos, the simulation, chaos) come with a source checkout
 * only: not with the npm package (package.json's files leave them out of dist/), nor the bundled
 * program (bundle/, which the store package ships), because a store box has no use for a fault
 * injector or a kill -9 harness. Their command modules are therefore loaded only when present, and
 * an installed command line still names each rig and says where it is, instead of failing to
 * start on a missing import.
 */

export type Registrar = (program: Command) => void;

interface Rig {
  /** The command module beside this one, without extension. */
  readonly module: string;
  /** Its registration function's export name. */
  readonly register: string;
  /** The top-level commands it adds, and the npm script that runs each from a source checkout. */
  readonly commands: readonly { readonly name: string; readonly script: string }[];
}

export const RIGS: readonly Rig[] = [
  { module: 'bench-commands', register: 'registerBenchCommands', commands: [{ name: 'bench', script: 'npm run bench' }] },
  {
    module: 'demo-command',
    register: 'registerDemoCommand',
    commands: [
      { name: 'demo-store', script: 'npm run demo' },
      { name: 'demo', script: 'npm run demo:node' },
    ],
  },
  { module: 'chaos-command', register: 'registerChaosCommand', commands: [{ name: 'chaos', script: 'npm run chaos' }] },
  { module: 'sim-command', register: 'registerSimCommand', commands: [{ name: 'sim', script: 'npm run sim' }] },
];

/** One registrar per rig, in RIGS order: the rig's own, or a stand-in for a rig left out of this install. */
export async function loadRigRegistrars(): Promise<Registrar[]> {
  const registrars: Registrar[] = [];
  for (const rig of RIGS) {
    // .ts too: run from source (tsx), the module beside this one is TypeScript, imported by its .js name.
    const present = !RUNS_BUNDLED && ['.js', '.ts'].some((ext) => existsSync(fileURLToPath(new URL(`./${rig.module}${ext}`, import.meta.url))));
    if (!present) {
      registrars.push(absentRig(rig));
      continue;
    }
    // Imported by a URL the bundler cannot follow: the bundled program (the store's) has no rigs.
    const loaded = (await import(new URL(`./${rig.module}.js`, import.meta.url).href)) as Record<string, unknown>;
    const register = loaded[rig.register];
    // A renamed export is a programmer error in this table, not something to paper over.
    if (typeof register !== 'function') throw new Error(`src/cli/${rig.module} does not export ${rig.register} (src/cli/rig-commands.ts)`);
    registrars.push(register as Registrar);
  }
  return registrars;
}

function absentRig(rig: Rig): Registrar {
  return (program) => {
    for (const { name, script } of rig.commands) {
      program
        .command(name)
        .description(`not in the installed package: run it from a source checkout (${script})`)
        .allowUnknownOption()
        .allowExcessArguments()
        .helpOption(false)
        .action(() => {
          throw new EdgepayError(
            'EDGEPAY_BAD_INPUT',
            `\`edgepay ${name}\` is not in the installed package (the store package and the npm package carry no benchmarks, demos, simulation or fault injection); run it from a source checkout: npm ci && ${script}`,
            { command: name },
          );
        });
    }
  };
}
