import { createHash } from 'node:crypto';
import type { AttributeValue } from '../../lib/occi/model.js';
import { effectiveInputs, type Attributes, type Changes } from '../service-type/attributes.js';
import type { ServiceType } from '../service-type/manifest.js';

/**
 * Which of an instance's attributes the orchestrator is given: everything but
 * the OCCI core attributes and the service manager's own settings (`mcn.*`,
 * and the autoscaler's, which acts through `mesos.agents`).
 */
function isOrchestratorParameter(name: string): boolean {
  return !name.startsWith('occi.') && !name.startsWith('mcn.') && name !== AUTOSCALE && !name.startsWith(`${AUTOSCALE}.`);
}

const AUTOSCALE = 'mesos.autoscale';

/** The instance's parameters as the orchestrator gets them, derived defaults included. */
export function orchestratorParameters(type: ServiceType, attributes: Attributes): Record<string, AttributeValue> {
  const inputs = effectiveInputs(type, attributes);
  return Object.fromEntries(
    Object.entries(inputs)
      .filter(([name]) => isOrchestratorParameter(name))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** Identifies a set of parameters, so the pipeline knows whether the orchestrator has the current ones. */
export function parametersFingerprint(parameters: Readonly<Record<string, AttributeValue>>): string {
  return createHash('sha256')
    .update(JSON.stringify(Object.entries(parameters)))
    .digest('hex')
    .slice(0, 32);
}

export function touchesOrchestrator(changes: Changes): boolean {
  return Object.keys(changes).some(isOrchestratorParameter);
}
