import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-cli-docs-');

/*
 * The manual page and the bash completion come from the commander tree: man/edgepay.1 must be
 * exactly what `edgepay man-page` prints now, and every option each command's --help lists must
 * be in it. The completion script is sourced in a real bash and asked as bash asks it.
 */

const MAN = fileURLToPath(new URL('../man/edgepay.1', import.meta.url));

function help(path: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...path, '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', () => resolve(out));
  });
}

/** The flags of each option --help lists ("--db <path>", "-V, --version"). */
function helpOptions(text: string): string[] {
  const section = text.split('\nOptions:\n')[1]?.split(/\n\n|\nCommands:\n/)[0] ?? '';
  return section
    .split('\n')
    .filter((line) => /^ {2}-/.test(line))
    .map((line) => line.trim().split(/\s{2,}/)[0]!)
    .filter((flags) => flags !== '-h, --help');
}

/** What man(1) shows of a roff text: escapes undone. */
function unroff(text: string): string {
  return text
    .replace(/\\-/g, '-')
    .replace(/\\e/g, '\\')
    .replace(/\\f[BIR]/g, '')
    .replace(/\\&/g, '');
}

describe('the manual page and shell completion', () => {
  it('man/edgepay.1 is what the program generates now: regenerate it with `edgepay man-page > man/edgepay.1`', () => {
    const generated = runCli(['man-page']);
    expect(generated.status).toBe(0);
    expect(readFileSync(MAN, 'utf8')).toBe(generated.stdout);
  });

  it('every command of the program has its section, with every option its --help lists', async () => {
    const page = readFileSync(MAN, 'utf8');
    const sections = [...page.matchAll(/^\.SS "edgepay ([^"]*?) (?:\\-|\[|<|$)/gm)].map((m) => unroff(m[1]!).trim());
    expect(sections).toEqual(expect.arrayContaining(['node run', 'journal verify', 'reconcile status', 'completion', 'man-page']));
    const shown = unroff(page);
    // Every command's help, from one process; a few checked against the real --help of their own process.
    const helps = new Map(
      runCli(['help-all'])
        .stdout.split('\u0000')
        .filter((part) => part !== '')
        .map((part) => [part.slice(0, part.indexOf('\n')), part.slice(part.indexOf('\n') + 1)] as const),
    );
    expect([...helps.keys()].sort()).toEqual([...sections].sort());
    for (const path of ['journal verify', 'reconcile status', 'node rebuild']) expect(await help(path.split(' ')), path).toContain(helps.get(path)!.trim());
    for (const section of sections) {
      const text = helps.get(section)!;
      expect(text, section).toContain(`Usage: edgepay ${section}`);
      const start = shown.indexOf(`.SS "edgepay ${section} `);
      const end = shown.indexOf('.SS "', start + 1);
      const body = shown.slice(start, end === -1 ? undefined : end);
      for (const flags of helpOptions(text)) expect(body, `${section}: ${flags}`).toContain(`\n${flags}\n`);
    }
    // And man(1) renders it without a warning.
    const rendered = spawnSync('man', ['--warnings', '-l', MAN], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '100' } });
    expect(rendered.stderr).toBe('');
    expect(rendered.stdout).toContain('edgepay reconcile status');
  }, 120_000);

  it("bash completion: commands, subcommands and options complete from the program's tree", () => {
    const script = runCli(['completion', 'bash']);
    expect(script.status).toBe(0);
    const scriptFile = join(tempDir(), 'edgepay.bash');
    writeFileSync(scriptFile, script.stdout);
    const complete = (words: readonly string[]): string[] => {
      const bash = spawnSync('bash', ['-c', `source ${scriptFile}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _edgepay_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        encoding: 'utf8',
      });
      expect(bash.stderr).toBe('');
      return bash.stdout.split('\n').filter((w) => w !== '');
    };
    expect(complete(['edgepay', 'jo'])).toEqual(['journal']);
    expect(complete(['edgepay', 're']).sort()).toEqual(['reader', 'reconcile']);
    expect(complete(['edgepay', 'journal', 'ba'])).toEqual(['backup']);
    expect(complete(['edgepay', 'reconcile', 'status', '--j'])).toEqual(['--json']);
    expect(complete(['edgepay', 'journal', 'backup', '--db', 'x', '--k'])).toEqual(['--keep']);
    expect(runCli(['completion', 'zsh']).status).toBe(2);
  });
});
