import { json, text, type Reply } from './http.js';
import { machineKey, type MachineId, type MaintenanceWindow } from './maintenance.js';
import type { Group } from './records.js';
import type { MesosWorld } from './world.js';

/**
 * The master's maintenance primitives (v0 HTTP): the schedule of
 * unavailability windows that puts machines in DRAINING, /machine/down that
 * takes them DOWN (their agents shut down, their tasks gone), /machine/up
 * that brings them back, and the status of both.
 */

const PATHS = new Set(['/maintenance/schedule', '/maintenance/status', '/machine/down', '/machine/up']);

export function isMaintenancePath(path: string): boolean {
  return PATHS.has(path);
}

export function maintenanceApi(world: MesosWorld, group: Group, method: string, path: string, body: string): Reply {
  if (path === '/maintenance/status') return method === 'GET' ? json(200, maintenanceStatus(group)) : text(405, 'Expecting GET');
  if (path === '/maintenance/schedule' && method === 'GET') return json(200, scheduleJson(group.maintenance.windows));
  if (method !== 'POST') return text(405, path === '/maintenance/schedule' ? 'Expecting GET or POST' : 'Expecting POST');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return text(400, `Failed to parse the request body: ${(error as Error).message}`);
  }
  if (path === '/maintenance/schedule') return schedule(group, value);
  const ids = machineIds(value);
  if (typeof ids === 'string') return text(400, ids);
  return path === '/machine/down' ? down(world, group, ids) : up(group, ids);
}

export function maintenanceStatus(group: Group): Record<string, unknown> {
  const down = [...group.maintenance.down.values()];
  const draining = group.maintenance.windows.flatMap((w) => w.machines).filter((m) => !group.maintenance.down.has(machineKey(m)));
  return { draining_machines: draining.map((id) => ({ id: idJson(id) })), down_machines: down.map(idJson) };
}

function idJson(id: MachineId): Record<string, string> {
  return { ...(id.hostname === undefined ? {} : { hostname: id.hostname }), ...(id.ip === undefined ? {} : { ip: id.ip }) };
}

function scheduleJson(windows: readonly MaintenanceWindow[]): Record<string, unknown> {
  return {
    windows: windows.map((w) => ({
      machine_ids: w.machines.map(idJson),
      unavailability: { start: { nanoseconds: w.startNs }, ...(w.durationNs === undefined ? {} : { duration: { nanoseconds: w.durationNs } }) },
    })),
  };
}

function machineIds(value: unknown): MachineId[] | string {
  if (!Array.isArray(value)) return 'Expecting a JSON array of machine ids';
  const ids: MachineId[] = [];
  for (const item of value) {
    const id = machineId(item);
    if (typeof id === 'string') return id;
    ids.push(id);
  }
  return ids;
}

function machineId(item: unknown): MachineId | string {
  if (item === null || typeof item !== 'object') return 'A machine id must be an object with hostname and/or ip';
  const { hostname, ip } = item as { hostname?: unknown; ip?: unknown };
  if (hostname !== undefined && typeof hostname !== 'string') return "A machine id's hostname must be a string";
  if (ip !== undefined && typeof ip !== 'string') return "A machine id's ip must be a string";
  if (!hostname && !ip) return 'A machine id must have a hostname or an ip';
  return { ...(hostname ? { hostname } : {}), ...(ip ? { ip } : {}) };
}

function nanos(value: unknown): number | undefined {
  const n = (value as { nanoseconds?: unknown } | undefined)?.nanoseconds;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function schedule(group: Group, value: unknown): Reply {
  const windows = (value as { windows?: unknown } | null)?.windows;
  if (!Array.isArray(windows)) return text(400, "Expecting a schedule with a 'windows' array");
  const parsed: MaintenanceWindow[] = [];
  const seen = new Set<string>();
  for (const window of windows as Array<Record<string, unknown>>) {
    const ids = machineIds(window?.['machine_ids']);
    if (typeof ids === 'string') return text(400, ids);
    if (ids.length === 0) return text(400, 'List of machines in the maintenance window is empty');
    const unavailability = window['unavailability'] as Record<string, unknown> | undefined;
    const startNs = nanos(unavailability?.['start']);
    if (startNs === undefined) return text(400, 'Unavailability start must be given in nanoseconds');
    const durationNs = unavailability?.['duration'] === undefined ? undefined : nanos(unavailability['duration']);
    if (unavailability?.['duration'] !== undefined && (durationNs === undefined || durationNs < 0))
      return text(400, 'Unavailability duration must be non-negative nanoseconds');
    for (const id of ids) {
      const key = machineKey(id);
      if (seen.has(key)) return text(400, `Machine '${JSON.stringify(idJson(id))}' appears more than once in the schedule`);
      seen.add(key);
    }
    parsed.push({ machines: ids, startNs, ...(durationNs === undefined ? {} : { durationNs }) });
  }
  for (const key of group.maintenance.down.keys()) {
    if (!seen.has(key))
      return text(400, `Machine '${JSON.stringify(idJson(group.maintenance.down.get(key)!))}' is deactivated and cannot be removed from the schedule`);
  }
  group.maintenance.windows = parsed;
  return text(200, '');
}

function down(world: MesosWorld, group: Group, ids: readonly MachineId[]): Reply {
  for (const id of ids) {
    const scheduled = group.maintenance.windows.some((w) => w.machines.some((m) => machineKey(m) === machineKey(id)));
    if (!scheduled) return text(400, `Machine '${JSON.stringify(idJson(id))}' is not part of a maintenance schedule`);
    if (group.maintenance.down.has(machineKey(id))) return text(400, `Machine '${JSON.stringify(idJson(id))}' is already deactivated`);
  }
  for (const id of ids) group.maintenance.down.set(machineKey(id), id);
  world.work.machinesDown(group, ids);
  return text(200, '');
}

function up(group: Group, ids: readonly MachineId[]): Reply {
  for (const id of ids) {
    if (!group.maintenance.down.has(machineKey(id))) return text(400, `Machine '${JSON.stringify(idJson(id))}' is not in DOWN mode`);
  }
  const keys = new Set(ids.map(machineKey));
  for (const key of keys) group.maintenance.down.delete(key);
  group.maintenance.windows = group.maintenance.windows
    .map((w) => ({ ...w, machines: w.machines.filter((m) => !keys.has(machineKey(m))) }))
    .filter((w) => w.machines.length > 0);
  return text(200, '');
}
