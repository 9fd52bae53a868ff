/**
 * Mesos serialises its numbers as doubles (`1.0`, `2930.0`) while ports and
 * a few counters stay integers. A Double marks a number to be written the
 * double way; everything else is plain JSON.
 */
export class Double {
  constructor(readonly value: number) {}
}

export function double(value: number): Double {
  return new Double(value);
}

export function stringify(value: unknown): string {
  if (value instanceof Double) {
    return Number.isInteger(value.value) ? value.value.toFixed(1) : String(value.value);
  }
  if (Array.isArray(value)) return `[${value.map(stringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
