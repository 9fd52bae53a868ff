import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { isObject } from '../lib/objects.js';
import { DEFAULT_MESOS_TIMING, type MesosTiming } from './mesos/timing.js';

/** What the simulated cloud holds when it starts, read from etc/simulator.json. */
export interface Fixtures {
  readonly accounts: readonly AccountFixture[];
  readonly zones: readonly ZoneFixture[];
  readonly networks: readonly NetworkFixture[];
  readonly templates: readonly TemplateFixture[];
  readonly serviceofferings: readonly OfferingFixture[];
  readonly timing: Timing;
  readonly settings: SimSettings;
  /** How long the emulated Mesos daemons take. */
  readonly mesos: MesosTiming;
}

/** Resource limits; absent means unlimited. Memory is in MB. */
export interface Limits {
  readonly user_vm?: number;
  readonly cpu?: number;
  readonly memory?: number;
}

export interface AccountFixture {
  readonly name: string;
  readonly apikey: string;
  readonly secretkey: string;
  readonly admin: boolean;
  readonly limits: Limits;
}

export interface ZoneFixture {
  readonly id: string;
  readonly name: string;
  readonly securitygroupsenabled: boolean;
}

export interface NetworkFixture {
  readonly id: string;
  readonly name: string;
  readonly zone: string;
  /** Inside 127.0.0.0/8, so every VM address is a loopback address. */
  readonly cidr: string;
  readonly default: boolean;
}

export interface TemplateFixture {
  readonly id: string;
  readonly name: string;
  readonly displaytext: string;
  readonly ostypename: string;
  readonly zones: readonly string[];
  /** Which guest runs in VMs of this template. */
  readonly guest: string;
}

export interface OfferingFixture {
  readonly id: string;
  readonly name: string;
  readonly cpunumber: number;
  readonly cpuspeed: number;
  readonly memory: number;
}

/** How long operations take, in simulated milliseconds. */
export interface Timing {
  readonly deployMs: number;
  readonly startMs: number;
  readonly stopMs: number;
  readonly rebootMs: number;
  readonly destroyMs: number;
  readonly expungeMs: number;
  readonly tagMs: number;
  readonly securityGroupMs: number;
}

/** The management server's global settings that change what clients see. */
export interface SimSettings {
  readonly allowUserExpungeRecoverVm: boolean;
  readonly allowUserViewDestroyedVm: boolean;
  readonly expungeDelayMs: number;
  readonly jobExpireMinutes: number;
  readonly jobCancelThresholdMinutes: number;
  readonly pageSize: number;
  readonly userDataMaxLength: number;
  readonly enforcePostAndTimestamps: boolean;
  readonly throttling: { readonly enabled: boolean; readonly intervalMs: number; readonly max: number };
}

export const DEFAULT_TIMING: Timing = {
  deployMs: 3000,
  startMs: 1500,
  stopMs: 1000,
  rebootMs: 1500,
  destroyMs: 1000,
  expungeMs: 500,
  tagMs: 100,
  securityGroupMs: 200,
};

export const DEFAULT_SETTINGS: SimSettings = {
  allowUserExpungeRecoverVm: false,
  allowUserViewDestroyedVm: false,
  expungeDelayMs: 86_400_000,
  jobExpireMinutes: 1440,
  jobCancelThresholdMinutes: 60,
  pageSize: 500,
  userDataMaxLength: 32_768,
  enforcePostAndTimestamps: false,
  throttling: { enabled: false, intervalMs: 1000, max: 25 },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Fail = (path: string, why: string) => never;

export function loadFixtures(file: string): Fixtures {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read simulator fixtures ${file}: ${(error as Error).message}`);
  }
  return parseFixtures(doc, file);
}

/**
 * Copies a fixtures file into `dir` with no VM limits on its accounts, for
 * loads one account could never hold (benchmarks, thousands of creates);
 * returns the copy's path.
 */
export function writeUnlimitedCopy(file: string, dir: string): string {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { accounts?: Array<{ limits?: unknown }> };
  for (const account of doc.accounts ?? []) delete account.limits;
  const copy = join(dir, 'simulator-unlimited.json');
  writeFileSync(copy, JSON.stringify(doc));
  return copy;
}

export function parseFixtures(doc: unknown, source = 'simulator fixtures'): Fixtures {
  const fail: Fail = (path, why) => {
    throw new ConfigError(`${source}: ${path}: ${why}`);
  };
  if (!isObject(doc)) return fail('(top)', 'must be an object');
  known(doc, ['accounts', 'zones', 'networks', 'templates', 'serviceofferings', 'timing', 'settings', 'mesos'], '(top)', fail);
  const zones = list(doc, 'zones', fail).map((z, i) => zone(z, `zones[${i}]`, fail));
  const zoneNames = new Set(zones.map((z) => z.name));
  const fixtures: Fixtures = {
    accounts: list(doc, 'accounts', fail).map((a, i) => account(a, `accounts[${i}]`, fail)),
    zones,
    networks: list(doc, 'networks', fail).map((n, i) => network(n, `networks[${i}]`, zoneNames, fail)),
    templates: list(doc, 'templates', fail).map((t, i) => template(t, `templates[${i}]`, zoneNames, fail)),
    serviceofferings: list(doc, 'serviceofferings', fail).map((o, i) => offering(o, `serviceofferings[${i}]`, fail)),
    timing: numbers(doc['timing'], DEFAULT_TIMING, 'timing', fail),
    settings: settings(doc['settings'], fail),
    mesos: numbers(doc['mesos'], DEFAULT_MESOS_TIMING, 'mesos', fail),
  };
  unique(
    fixtures.accounts.map((a) => a.name),
    'accounts',
    'name',
    fail,
  );
  unique(
    fixtures.accounts.map((a) => a.apikey),
    'accounts',
    'apikey',
    fail,
  );
  for (const [what, items] of [
    ['zones', fixtures.zones],
    ['networks', fixtures.networks],
    ['templates', fixtures.templates],
    ['serviceofferings', fixtures.serviceofferings],
  ] as const) {
    unique(
      items.map((i) => i.id),
      what,
      'id',
      fail,
    );
    unique(
      items.map((i) => i.name),
      what,
      'name',
      fail,
    );
  }
  return fixtures;
}

function known(obj: Record<string, unknown>, keys: readonly string[], path: string, fail: Fail): void {
  for (const key of Object.keys(obj)) if (!keys.includes(key)) fail(path, `unknown field "${key}"`);
}

function list(doc: Record<string, unknown>, key: string, fail: Fail): Record<string, unknown>[] {
  const value = doc[key] ?? [];
  if (!Array.isArray(value) || !value.every(isObject)) return fail(key, 'must be a list of objects');
  return value;
}

function text(obj: Record<string, unknown>, key: string, path: string, fail: Fail, fallback?: string): string {
  const value = obj[key] ?? fallback;
  if (typeof value !== 'string' || value === '') return fail(`${path}.${key}`, 'must be a non-empty string');
  return value;
}

function id(obj: Record<string, unknown>, path: string, fail: Fail): string {
  const value = text(obj, 'id', path, fail);
  return UUID.test(value) ? value : fail(`${path}.id`, 'must be a lower-case uuid');
}

function flag(obj: Record<string, unknown>, key: string, path: string, fail: Fail): boolean {
  const value = obj[key] ?? false;
  return typeof value === 'boolean' ? value : fail(`${path}.${key}`, 'must be true or false');
}

function count(value: unknown, path: string, fail: Fail): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : fail(path, 'must be a whole number ≥ 0');
}

function account(a: Record<string, unknown>, path: string, fail: Fail): AccountFixture {
  known(a, ['name', 'apikey', 'secretkey', 'admin', 'limits'], path, fail);
  const limits = a['limits'] ?? {};
  if (!isObject(limits)) return fail(`${path}.limits`, 'must be an object');
  known(limits, ['user_vm', 'cpu', 'memory'], `${path}.limits`, fail);
  return {
    name: text(a, 'name', path, fail),
    apikey: text(a, 'apikey', path, fail),
    secretkey: text(a, 'secretkey', path, fail),
    admin: flag(a, 'admin', path, fail),
    limits: Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, count(v, `${path}.limits.${k}`, fail)])),
  };
}

function zone(z: Record<string, unknown>, path: string, fail: Fail): ZoneFixture {
  known(z, ['id', 'name', 'securitygroupsenabled'], path, fail);
  return { id: id(z, path, fail), name: text(z, 'name', path, fail), securitygroupsenabled: flag(z, 'securitygroupsenabled', path, fail) };
}

function network(n: Record<string, unknown>, path: string, zones: Set<string>, fail: Fail): NetworkFixture {
  known(n, ['id', 'name', 'zone', 'cidr', 'default'], path, fail);
  const zoneName = text(n, 'zone', path, fail);
  if (!zones.has(zoneName)) fail(`${path}.zone`, `no zone named ${zoneName}`);
  const cidr = text(n, 'cidr', path, fail);
  const match = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const bits = match ? Number(match[4]) : 0;
  if (!match || bits < 16 || bits > 29 || match.slice(1, 4).some((o) => Number(o) > 255) || Number(match[1]) === 0) {
    fail(`${path}.cidr`, 'must be a /16 to /29 network inside 127.0.0.0/8, away from 127.0.0.0/16');
  }
  return { id: id(n, path, fail), name: text(n, 'name', path, fail), zone: zoneName, cidr, default: flag(n, 'default', path, fail) };
}

function template(t: Record<string, unknown>, path: string, zones: Set<string>, fail: Fail): TemplateFixture {
  known(t, ['id', 'name', 'displaytext', 'ostypename', 'zones', 'guest'], path, fail);
  const inZones = t['zones'];
  if (!Array.isArray(inZones) || inZones.length === 0 || !inZones.every((z) => typeof z === 'string' && zones.has(z))) {
    return fail(`${path}.zones`, 'must list zone names from "zones"');
  }
  const name = text(t, 'name', path, fail);
  return {
    id: id(t, path, fail),
    name,
    displaytext: text(t, 'displaytext', path, fail, name),
    ostypename: text(t, 'ostypename', path, fail, 'Other Linux (64-bit)'),
    zones: inZones as string[],
    guest: text(t, 'guest', path, fail, 'none'),
  };
}

function offering(o: Record<string, unknown>, path: string, fail: Fail): OfferingFixture {
  known(o, ['id', 'name', 'cpunumber', 'cpuspeed', 'memory'], path, fail);
  const positive = (key: string): number => {
    const value = count(o[key], `${path}.${key}`, fail);
    return value > 0 ? value : fail(`${path}.${key}`, 'must be positive');
  };
  return {
    id: id(o, path, fail),
    name: text(o, 'name', path, fail),
    cpunumber: positive('cpunumber'),
    cpuspeed: positive('cpuspeed'),
    memory: positive('memory'),
  };
}

function numbers<T extends object>(raw: unknown, defaults: T, path: string, fail: Fail): T {
  if (raw === undefined) return defaults;
  if (!isObject(raw)) return fail(path, 'must be an object');
  known(raw, Object.keys(defaults), path, fail);
  return { ...defaults, ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, count(v, `${path}.${k}`, fail)])) };
}

function settings(raw: unknown, fail: Fail): SimSettings {
  if (raw === undefined) return DEFAULT_SETTINGS;
  if (!isObject(raw)) return fail('settings', 'must be an object');
  return mergeSettings(DEFAULT_SETTINGS, raw, fail);
}

/** Applies a partial settings object (from fixtures or the control API), checking every value. */
export function mergeSettings(base: SimSettings, raw: Record<string, unknown>, fail: Fail): SimSettings {
  known(raw, Object.keys(base), 'settings', fail);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(raw)) {
    const current = (base as unknown as Record<string, unknown>)[key];
    if (typeof current === 'boolean') out[key] = typeof value === 'boolean' ? value : fail(`settings.${key}`, 'must be true or false');
    else if (typeof current === 'number') out[key] = count(value, `settings.${key}`, fail);
    else out[key] = throttling(value, base.throttling, fail);
  }
  if ((out['pageSize'] as number) < 1) fail('settings.pageSize', 'must be at least 1');
  return out as unknown as SimSettings;
}

function throttling(raw: unknown, base: SimSettings['throttling'], fail: Fail): SimSettings['throttling'] {
  if (!isObject(raw)) return fail('settings.throttling', 'must be an object');
  known(raw, ['enabled', 'intervalMs', 'max'], 'settings.throttling', fail);
  const enabled = raw['enabled'] ?? base.enabled;
  if (typeof enabled !== 'boolean') return fail('settings.throttling.enabled', 'must be true or false');
  return {
    enabled,
    intervalMs: count(raw['intervalMs'] ?? base.intervalMs, 'settings.throttling.intervalMs', fail),
    max: count(raw['max'] ?? base.max, 'settings.throttling.max', fail),
  };
}

function unique(values: readonly string[], what: string, field: string, fail: Fail): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) fail(what, `${field} "${value}" appears twice`);
    seen.add(value);
  }
}
