import type { Command, Option } from 'commander';
import { EXIT_CODES_HELP } from './exit-codes.js';

/*
 * The manual page and the shell completion, generated from the commander tree itself so neither
 * can drift from what the program accepts: `edgepay man-page` prints roff (man/edgepay.1 is its
 * output, and a test holds the two together), `edgepay completion bash` a completion script.
 */

export function registerDocsCommands(program: Command): void {
  program
    .command('man-page')
    .description('print the manual page (roff) generated from the commands and options of this program; man/edgepay.1 is its output')
    .action((_opts: unknown, command: Command) => {
      process.stdout.write(manPage(rootOf(command)));
    });
  // For the test that holds the manual page to the help: every command's --help text in one process.
  program.command('help-all', { hidden: true }).action((_opts: unknown, command: Command) => {
    for (const { path, command: each } of commandPaths(rootOf(command))) process.stdout.write(`\u0000${path.join(' ')}\n${each.helpInformation()}`);
  });
  program
    .command('completion')
    .description('print a shell completion script for the commands and options of this program (eval "$(edgepay completion bash)", or save it in /etc/bash_completion.d/edgepay)')
    .argument('<shell>', 'the shell: bash')
    .action((shell: string, _opts: unknown, command: Command) => {
      if (shell !== 'bash') {
        process.stderr.write(`edgepay: only bash completion is generated, not ${JSON.stringify(shell)}\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(bashCompletion(rootOf(command)));
    });
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent !== null) root = root.parent;
  return root;
}

/** Every command below the root, depth first, with its path of names. */
export function commandPaths(root: Command): { readonly path: readonly string[]; readonly command: Command }[] {
  const out: { path: readonly string[]; command: Command }[] = [];
  const walk = (command: Command, path: readonly string[]): void => {
    for (const child of command.commands) {
      // Commander keeps `hidden` private; a hidden command is no more in the manual than in --help.
      if ((child as unknown as { _hidden?: boolean })._hidden === true) continue;
      const childPath = [...path, child.name()];
      out.push({ path: childPath, command: child });
      walk(child, childPath);
    }
  };
  walk(root, []);
  return out;
}

/** Roff needs a backslash doubled, and a line starting with '.' or "'" taken as text. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function visibleOptions(command: Command): readonly Option[] {
  return command.options.filter((option) => !option.hidden);
}

export function manPage(root: Command): string {
  const name = root.name();
  const lines: string[] = [
    `.TH ${name.toUpperCase()} 1 "" "${name} ${root.version() ?? ''}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(root.description())}`,
    '.SH SYNOPSIS',
    `.B ${name}`,
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    roff(root.description()),
    '.PP',
    `Every command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR. The commands follow.`,
    '.SH COMMANDS',
  ];
  for (const { path, command } of commandPaths(root)) {
    lines.push(`.SS "${roff([name, ...path].join(' '))} ${roff(command.usage())}"`, roff(command.description()));
    for (const argument of command.registeredArguments) {
      if (argument.description === '') continue;
      lines.push('.TP', `\\fI${roff(argument.name())}\\fR`, roff(argument.description));
    }
    for (const option of visibleOptions(command)) {
      const defaultText = option.defaultValue === undefined || typeof option.defaultValue === 'boolean' ? '' : ` (default: ${JSON.stringify(option.defaultValue)})`;
      lines.push('.TP', `\\fB${roff(option.flags)}\\fR`, roff(`${option.description}${defaultText}`));
    }
  }
  lines.push('.SH EXIT STATUS', roff(EXIT_CODES_HELP.trim()), '');
  return `${lines.join('\n')}`;
}

/**
 * Bash completion from the same tree: the word being completed is matched against the commands
 * under the words typed so far, or against that command's options once it starts with '-'.
 * Option values (files, numbers) fall back to bash's file names.
 */
export function bashCompletion(root: Command): string {
  const name = root.name();
  const cases: string[] = [];
  const entry = (path: readonly string[], command: Command): void => {
    const subcommands = command.commands.filter((c) => (c as unknown as { _hidden?: boolean })._hidden !== true).map((c) => c.name());
    const options = visibleOptions(command).flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
    cases.push(`    "${path.join(' ')}") commands="${subcommands.join(' ')}"; options="${[...options, '--help'].join(' ')}" ;;`);
  };
  entry([], root);
  for (const { path, command } of commandPaths(root)) entry(path, command);
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  return `# bash completion for ${name}, generated by \`${name} completion bash\` from the program's own commands
${fn}() {
  local cur path word commands options i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  # The command path: the words before the cursor that name a command under the path so far.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    ${fn}_at "$path"
    if [[ " $commands " == *" $word "* ]]; then path="\${path:+$path }$word"; fi
  done
  ${fn}_at "$path"
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ -n "$commands" ]]; then
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
${fn}_at() {
  commands=""; options=""
  case "$1" in
${cases.join('\n')}
  esac
}
complete -F ${fn} ${name}
`;
}
