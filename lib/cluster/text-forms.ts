import type { AttributeValue } from '../occi/model.js';
import { AGENT_NODES_ATTRIBUTE, EVENTS_ATTRIBUTE, parseHealthEvents } from './health.js';

/**
 * The text renderings' forms of a cluster's structured outputs, which
 * `application/occi+json` carries whole: the agents as their addresses,
 * space-separated; the health events as how many there are and the latest.
 */
export function clusterTextForms(outputs: Readonly<Record<string, AttributeValue>>): Record<string, AttributeValue> {
  const forms: Record<string, AttributeValue> = {};
  const nodes = outputs[AGENT_NODES_ATTRIBUTE];
  if (typeof nodes === 'string') forms[AGENT_NODES_ATTRIBUTE] = addresses(nodes);
  const events = outputs[EVENTS_ATTRIBUTE];
  if (events !== undefined) {
    const parsed = parseHealthEvents(events);
    const latest = parsed.at(-1);
    forms[EVENTS_ATTRIBUTE] = latest ? `${parsed.length} events; the latest: ${latest.message}` : 'no events';
  }
  return forms;
}

function addresses(json: string): string {
  try {
    const list = JSON.parse(json) as Array<{ address?: unknown }>;
    return Array.isArray(list)
      ? list
          .map((n) => (typeof n.address === 'string' ? n.address : ''))
          .filter((a) => a !== '')
          .join(' ')
      : '';
  } catch {
    return '';
  }
}
