/**
 * Typed call parameters and their flattening into CloudStack's wire form:
 * lists become one comma-separated value, lists of objects become
 * `name[i].field`, a key/value map (tags) becomes `name[i].key` and
 * `name[i].value`. Empty values are left out, as the server mis-reads some.
 */
export type ParamValue =
  string | number | boolean | readonly string[] | readonly Readonly<Record<string, string>>[] | Readonly<Record<string, string>> | undefined | null;

export type CsParams = Readonly<Record<string, ParamValue>>;

export function flattenParams(params: CsParams): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(params)) {
    const name = rawName.toLowerCase();
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'string') flat[name] = value;
    else if (typeof value === 'number') flat[name] = numberText(name, value);
    else if (typeof value === 'boolean') flat[name] = String(value);
    else if (Array.isArray(value)) flattenList(flat, name, value);
    else flattenMap(flat, name, value as Readonly<Record<string, string>>);
  }
  return flat;
}

function numberText(name: string, value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`parameter ${name} is not a finite number`);
  return String(value);
}

function flattenList(flat: Record<string, string>, name: string, list: readonly unknown[]): void {
  if (list.length === 0) return;
  if (list.every((item) => typeof item === 'string')) {
    flat[name] = (list as string[]).join(',');
    return;
  }
  list.forEach((item, index) => {
    for (const [field, value] of Object.entries(item as Record<string, string>)) {
      flat[`${name}[${index}].${field.toLowerCase()}`] = value;
    }
  });
}

function flattenMap(flat: Record<string, string>, name: string, map: Readonly<Record<string, string>>): void {
  Object.entries(map).forEach(([key, value], index) => {
    flat[`${name}[${index}].key`] = key;
    flat[`${name}[${index}].value`] = value;
  });
}
