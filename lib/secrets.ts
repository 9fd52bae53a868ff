import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compares a presented secret with a known digest in constant time, so timing reveals nothing of it. */
export function matchesDigest(secret: string, digest: Buffer): boolean {
  const given = sha256(secret);
  return given.length === digest.length && timingSafeEqual(given, digest);
}
