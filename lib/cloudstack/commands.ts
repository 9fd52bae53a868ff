/** Reads are safe to repeat and go by GET; every other command changes state and goes by POST. */
export function isRead(command: string): boolean {
  return /^(list|query|get)/.test(command);
}
