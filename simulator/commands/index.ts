import { ACCOUNT_COMMANDS, apisCommand } from './account.js';
import { CATALOG_COMMANDS } from './catalog.js';
import type { Command } from './command.js';
import { JOB_COMMANDS } from './jobs.js';
import { KEYPAIR_COMMANDS } from './keypairs.js';
import { SECURITY_GROUP_COMMANDS } from './security-groups.js';
import { TAG_COMMANDS } from './tags.js';
import { VM_COMMANDS } from './vms.js';

/** Every command the simulator serves, by name (names are case-sensitive, as on the real server). */
export function commandTable(): ReadonlyMap<string, Command> {
  const commands: Command[] = [
    ...VM_COMMANDS,
    ...JOB_COMMANDS,
    ...TAG_COMMANDS,
    ...CATALOG_COMMANDS,
    ...KEYPAIR_COMMANDS,
    ...SECURITY_GROUP_COMMANDS,
    ...ACCOUNT_COMMANDS,
  ];
  commands.push(apisCommand(() => commands));
  return new Map(commands.map((c) => [c.name, c]));
}
