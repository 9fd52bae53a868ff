import { hash, timingSafeEqual } from 'node:crypto';

export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** Compares a presented secret with a known digest in constant time, so timing reveals nothing of it. */
export function matchesDigest(secret: string, digest: Buffer): boolean {
  const given = sha256(secret);
  return given.length === digest.length && timingSafeEqual(given, digest);
}
