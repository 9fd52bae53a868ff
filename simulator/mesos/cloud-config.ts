import { parse } from 'yaml';
import { isObject } from '../../lib/objects.js';

/** The services of the Mesos packages, by their unit names. */
export type Service = 'zookeeper' | 'mesos-master' | 'mesos-slave' | 'marathon';

const UNITS: Record<string, Service> = {
  zookeeper: 'zookeeper',
  'zookeeper.service': 'zookeeper',
  'mesos-master': 'mesos-master',
  'mesos-master.service': 'mesos-master',
  'mesos-slave': 'mesos-slave',
  'mesos-slave.service': 'mesos-slave',
  'mesos-agent': 'mesos-slave',
  marathon: 'marathon',
  'marathon.service': 'marathon',
};

/** What cloud-init leaves behind on first boot: files written, services enabled and started. */
export interface BootPlan {
  readonly files: Map<string, string>;
  readonly enabled: Set<Service>;
  readonly started: Set<Service>;
  /** What was not understood or did not apply, in order, for diagnosis. */
  readonly notes: string[];
}

/**
 * Runs the parts of cloud-init that matter here over a VM's user data:
 * `write_files`, then `runcmd` as systemctl, service and rm commands. Other
 * modules and commands are noted and skipped. User data that is not
 * #cloud-config boots nothing.
 */
export function bootPlan(userData: string): BootPlan {
  const plan: BootPlan = { files: new Map(), enabled: new Set(), started: new Set(), notes: [] };
  if (!userData.startsWith('#cloud-config')) {
    plan.notes.push(userData.trim() === '' ? 'no user data' : 'user data is not #cloud-config');
    return plan;
  }
  let doc: unknown;
  try {
    doc = parse(userData);
  } catch (error) {
    plan.notes.push(`cloud-config does not parse: ${(error as Error).message}`);
    return plan;
  }
  if (!isObject(doc)) return plan;
  for (const entry of Array.isArray(doc['write_files']) ? doc['write_files'] : []) {
    if (isObject(entry) && typeof entry['path'] === 'string') {
      plan.files.set(entry['path'], typeof entry['content'] === 'string' ? entry['content'] : '');
    }
  }
  for (const command of Array.isArray(doc['runcmd']) ? doc['runcmd'] : []) {
    const words = Array.isArray(command) ? command.map(String) : String(command).trim().split(/\s+/);
    run(plan, words);
  }
  return plan;
}

function run(plan: BootPlan, words: string[]): void {
  const [program, ...args] = words;
  if (program === 'systemctl') return systemctl(plan, args);
  if (program === 'service' && args.length === 2) return systemctl(plan, [args[1], args[0]]);
  if (program === 'rm') {
    for (const path of args.filter((a) => !a.startsWith('-'))) {
      for (const file of [...plan.files.keys()]) if (file === path || file.startsWith(`${path}/`)) plan.files.delete(file);
    }
    return;
  }
  plan.notes.push(`skipped: ${words.join(' ')}`);
}

function systemctl(plan: BootPlan, args: string[]): void {
  const [verb, ...rest] = args;
  const now = rest.includes('--now');
  for (const unit of rest.filter((a) => !a.startsWith('-'))) {
    const service = UNITS[unit];
    if (!service) {
      plan.notes.push(`systemctl ${verb} ${unit}: no such unit`);
      continue;
    }
    switch (verb) {
      case 'start':
      case 'restart':
      case 'reload-or-restart':
        plan.started.add(service);
        break;
      case 'stop':
        plan.started.delete(service);
        break;
      case 'enable':
        plan.enabled.add(service);
        if (now) plan.started.add(service);
        break;
      case 'disable':
      case 'mask':
        plan.enabled.delete(service);
        if (now || verb === 'mask') plan.started.delete(service);
        break;
      default:
        plan.notes.push(`systemctl ${verb}: not understood`);
    }
  }
}
