#!/usr/bin/env node
import { homedir } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SystemTimers } from '../lib/clock.js';
import { SmApi } from './api.js';
import { Commands } from './commands.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { DEFAULT_URL, resolveSettings } from './settings.js';

/** mesosctl: a tenant's Mesos clusters from the command line. */

interface GlobalOptions {
  readonly url?: string;
  readonly tenant?: string;
  readonly token?: string;
  readonly config?: string;
  readonly json: boolean;
  readonly interval: number;
  readonly timeout: number;
}

function wholeNumber(min: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };
}

function seconds(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected seconds (a number of at least 0)');
  return n;
}

/** `name=value`: numbers and true/false as such, anything else as text. */
function setting(text: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected name=value');
  const raw = text.slice(at + 1);
  const value = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...previous, [text.slice(0, at)]: value };
}

interface CreateOptions {
  readonly agents?: number;
  readonly masters?: number;
  readonly minReady?: number;
  readonly marathon: boolean;
  readonly zone?: string;
  readonly template?: string;
  readonly masterOffering?: string;
  readonly agentOffering?: string;
  readonly title?: string;
  readonly set?: Record<string, unknown>;
  readonly wait?: boolean;
}

function createAttributes(o: CreateOptions): Record<string, unknown> {
  const pairs: Array<[string, unknown]> = [
    ['mesos.agents', o.agents],
    ['mesos.masters', o.masters],
    ['mesos.agents.min_ready', o.minReady],
    ['mesos.marathon', o.marathon ? undefined : false],
    ['cloudstack.zone', o.zone],
    ['cloudstack.template', o.template],
    ['cloudstack.offering.master', o.masterOffering],
    ['cloudstack.offering.agent', o.agentOffering],
    ['occi.core.title', o.title],
  ];
  return { ...Object.fromEntries(pairs.filter(([, v]) => v !== undefined)), ...o.set };
}

function program(run: (work: (commands: Commands) => Promise<void>, options: GlobalOptions) => Promise<void>): Command {
  const cli = new Command('mesosctl')
    .description('Mesos clusters on CloudStack, from the service manager, for one tenant.')
    .addOption(new Option('--url <url>', `the service manager (env MESOSCTL_URL; default ${DEFAULT_URL})`))
    .addOption(new Option('--tenant <name>', 'your tenant (env MESOSCTL_TENANT)'))
    .addOption(new Option('--token <token>', 'your token (env MESOSCTL_TOKEN; a flag shows in the process list, so prefer those)'))
    .addOption(new Option('--config <file>', 'a JSON file with url, tenant and token (env MESOSCTL_CONFIG; default ~/.config/mesosctl/config.json)'))
    .option('--json', 'print JSON for scripts; no progress', false)
    .addOption(new Option('--interval <seconds>', 'how often to look while waiting').argParser(seconds).default(2))
    .addOption(new Option('--timeout <seconds>', 'give up waiting after this long; 0 waits for ever').argParser(seconds).default(1800))
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit status: 0 done, 1 the instance failed (or the wait timed out, or another refusal), 2 usage or invalid input, 3 authentication, 4 not found.',
    );
  const globals = (): GlobalOptions => cli.opts<GlobalOptions>();
  const wait = new Option('--wait', 'wait until it is done, showing progress');

  cli
    .command('create')
    .description('create a cluster')
    .argument('<name>', 'the instance name (1-64 of A-Z a-z 0-9 . _ -)')
    .option('--agents <n>', 'Mesos agents', wholeNumber(1))
    .option('--masters <n>', 'Mesos masters: 1, 3 or 5', wholeNumber(1))
    .option('--min-ready <n>', 'agents that must be active for the cluster to be ready', wholeNumber(1))
    .option('--no-marathon', 'do not run Marathon')
    .option('--zone <zone>', 'CloudStack zone')
    .option('--template <template>', 'CloudStack template')
    .option('--master-offering <offering>', 'service offering of the masters')
    .option('--agent-offering <offering>', 'service offering of the agents')
    .option('--title <title>', 'a display name')
    .option('--set <name=value>', 'any other attribute, e.g. mesos.autoscale=true (repeatable)', setting)
    .addOption(wait)
    .action((name: string, o: CreateOptions) => run((c) => c.create(name, createAttributes(o), o.wait === true), globals()));

  cli
    .command('list')
    .description('list your clusters')
    .action(() => run((c) => c.list(), globals()));

  cli
    .command('get')
    .description("show a cluster's state and outputs")
    .argument('<name>')
    .action((name: string) => run((c) => c.get(name), globals()));

  cli
    .command('scale')
    .description('change the number of agents (a scale-in drains the agents it removes)')
    .argument('<name>')
    .argument('<agents>', 'the number of agents', wholeNumber(1))
    .addOption(wait)
    .action((name: string, agents: number, o: { wait?: boolean }) => run((c) => c.scale(name, agents, o.wait === true), globals()));

  cli
    .command('delete')
    .description('delete a cluster and its VMs')
    .argument('<name>')
    .addOption(wait)
    .action((name: string, o: { wait?: boolean }) => run((c) => c.delete(name, o.wait === true), globals()));

  cli
    .command('events')
    .description("print a cluster's history, oldest first (--json: one event per line)")
    .argument('<name>')
    .option('--follow', 'go on printing new events until the cluster is gone')
    .action((name: string, o: { follow?: boolean }) => run((c) => c.events(name, o.follow === true), globals()));

  cli
    .command('retry')
    .description('retry a failed cluster from the phase that failed')
    .argument('<name>')
    .addOption(wait)
    .action((name: string, o: { wait?: boolean }) => run((c) => c.retry(name, o.wait === true), globals()));

  return cli;
}

async function main(argv: readonly string[]): Promise<number> {
  let status: number = EXIT.done;
  const run = async (work: (commands: Commands) => Promise<void>, options: GlobalOptions): Promise<void> => {
    const settings = resolveSettings({ flags: options, env: process.env, home: homedir() });
    const commands = new Commands({
      api: new SmApi(settings),
      timers: new SystemTimers(),
      out: process.stdout,
      err: process.stderr,
      json: options.json,
      progress: options.json ? 'none' : process.stderr.isTTY ? 'terminal' : 'lines',
      intervalMs: options.interval * 1000,
      timeoutMs: options.timeout * 1000,
    });
    await work(commands);
  };
  try {
    await program(run).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.done : EXIT.usage;
    status = exitCodeOf(error);
    process.stderr.write(`mesosctl: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return status;
}

process.exitCode = await main(process.argv.slice(2));
