import { MESSAGE_ATTRIBUTE, STATE_ATTRIBUTE } from '../service-manager/model/states.js';
import { textOf, type Instance, type InstanceEvent } from './api.js';

/** Text for people; --json prints the service manager's documents instead. */

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ')).join('\n') + '\n';
}

export function instanceTable(instances: readonly Instance[]): string {
  if (instances.length === 0) return 'No instances.\n';
  const rows = instances.map((i) => {
    const agents = `${textOf(i.attributes['mesos.agents.active'] ?? '-')}/${textOf(i.attributes['mesos.agents'])}`;
    return [i.id, textOf(i.attributes[STATE_ATTRIBUTE]), agents, textOf(i.attributes[MESSAGE_ATTRIBUTE])];
  });
  return table([['NAME', 'STATE', 'AGENTS', 'MESSAGE'], ...rows]);
}

/** Every attribute, one per line, the state first. */
export function instanceDetails(instance: Instance): string {
  const names = Object.keys(instance.attributes).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const rows = [['name', instance.id], ...(instance.title ? [['title', instance.title]] : []), ...names.map((n) => [n, textOf(instance.attributes[n])])];
  return table(rows.map(([name, value]) => [`${name}:`, value]));
}

function rank(name: string): number {
  return name === STATE_ATTRIBUTE ? 0 : name === MESSAGE_ATTRIBUTE ? 1 : 2;
}

export function eventLine(event: InstanceEvent): string {
  const what = [event.type, event.state ?? ''].filter((part) => part !== '').join(' ');
  return `${event.time}  ${what.padEnd(18)}  ${event.actor}  ${event.message ?? ''}`.trimEnd() + '\n';
}
