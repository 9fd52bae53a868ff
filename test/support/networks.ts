import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A /16 inside 127.0.0.0/8 that no other simulator on this machine uses
 * while this one runs, so two test runs never answer each other's probes.
 * Zone 1's network is its lower half, zone 2's its upper half. The claim is
 * a lock file holding this process's pid; a lock whose process is gone is
 * taken over.
 */
export interface RunNetwork {
  /** The second octet: the /16 is 127.<octet>.0.0. */
  readonly octet: number;
  readonly cidrs: readonly [zone1: string, zone2: string];
  /** The n-th address of a zone's network, e.g. address(1, 2) is the first VM's. */
  address(zone: 1 | 2, host: number): string;
  release(): void;
}

const LOCKS = join(tmpdir(), 'mesos-sim-networks');
/** 127.0/16 is the service manager's and orchestrators', 127.10 and 127.20 those of `npm start`. */
const OCTETS = Array.from({ length: 221 }, (_, i) => i + 30);
const held = new Set<string>();

process.once('exit', () => {
  for (const file of held) unlinkQuietly(file);
});

export function claimNetwork(): RunNetwork {
  mkdirSync(LOCKS, { recursive: true });
  const offset = Math.floor(Math.random() * OCTETS.length);
  for (let i = 0; i < OCTETS.length; i++) {
    const octet = OCTETS[(offset + i) % OCTETS.length];
    const file = join(LOCKS, String(octet));
    if (!lock(file)) continue;
    held.add(file);
    return {
      octet,
      cidrs: [`127.${octet}.0.0/17`, `127.${octet}.128.0/17`],
      address: (zone, host) => `127.${octet}.${(zone === 1 ? 0 : 128) + Math.floor(host / 256)}.${host % 256}`,
      release: () => {
        if (!held.delete(file)) return;
        unlinkQuietly(file);
      },
    };
  }
  throw new Error(`every simulator network in 127.30-250.0.0/16 is taken (see ${LOCKS})`);
}

/** Rewrites the fixtures' two networks onto a claimed /16. */
export function onNetwork(fixtures: unknown, network: RunNetwork): Record<string, unknown> {
  const doc = fixtures as Record<string, unknown>;
  const networks = (doc['networks'] as Array<Record<string, unknown>>).map((n, i) => ({ ...n, cidr: network.cidrs[i] ?? n['cidr'] }));
  return { ...doc, networks };
}

function lock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // Linked from a complete file, so nobody ever reads a half-written claim.
      const mine = `${file}.${process.pid}`;
      writeFileSync(mine, String(process.pid));
      try {
        linkSync(mine, file);
      } finally {
        unlinkQuietly(mine);
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (alive(file)) return false;
      unlinkQuietly(file);
    }
  }
  return false;
}

function alive(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return true;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
