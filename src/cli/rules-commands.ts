import type { Command } from 'commander';
import { defaultRulesConfig } from '../authorize/index.js';
import { loadRules } from '../node/rules-source.js';
import { registerRulesPublish } from './rules-publish.js';

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('offline authorization rules: check a rules file, print the defaults, sign and publish rules to a store');

  rules
    .command('check')
    .description('validate a rules file (JSON); every problem is listed with its key path, value and what is allowed')
    .argument('<file>', 'rules file')
    .action((file: string) => {
      const parsed = loadRules(file);
      const currencies = Object.keys(parsed.currencies).join(', ');
      process.stdout.write(
        `ok: rules version ${parsed.version}; currencies ${currencies}; per card ${parsed.perCard.maxCount} in ${parsed.perCard.windowMinutes} min; ` +
          `node cap ${parsed.node.maxStoredCount}; forward deadline ${parsed.node.forwardDeadlineHours} h; ${parsed.hotCards.tokens.size} hot cards (list version ${parsed.hotCards.version})\n`,
      );
    });

  rules
    .command('defaults')
    .description("print the default rules as JSON, a starting point for a store's rules file")
    .action(() => {
      process.stdout.write(`${JSON.stringify(defaultRulesConfig(), null, 2)}\n`);
    });

  registerRulesPublish(rules);
}
