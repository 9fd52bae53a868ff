import { parseAttributes } from '../../lib/occi/parse.js';

/**
 * How hurtle's service manager reads the X-OCCI-Attribute header of a
 * `text/occi` answer (icclab/hurtle_sm, sm/managers/so_manager.py): split on
 * ", ", each piece split on "=" and its second part taken, one pair of
 * surrounding quotes scrubbed. A piece without "=" is hurtle's IndexError.
 */
export function hurtleReads(header: string): Map<string, string> {
  const read = new Map<string, string>();
  for (const piece of header.split(', ')) {
    const kv = piece.split('=');
    if (kv[1] === undefined) throw new Error(`hurtle cannot read the attribute piece ${JSON.stringify(piece)}: it has no "="`);
    let value = kv[1];
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    read.set(kv[0], value);
  }
  return read;
}

/**
 * Checks that hurtle's naive reading of a `text/occi` answer's attributes
 * gets exactly what a proper OCCI parser gets from the same header: no value
 * split at a comma, none cut at an "=", and no backslash that pyssf would
 * leave in. Throws, naming the attribute, when not.
 */
export function expectHurtleReads(header: string | undefined): void {
  if (header === undefined) throw new Error('the text/occi answer has no X-OCCI-Attribute header');
  const decoded = Buffer.from(header, 'latin1').toString('utf8');
  const naive = hurtleReads(decoded);
  for (const { name, value } of parseAttributes(decoded)) {
    const proper = String(value.value);
    const got = naive.get(name);
    if (got !== proper) throw new Error(`hurtle reads ${name} as ${JSON.stringify(got)}, not ${JSON.stringify(proper)}`);
    if (got.includes('\\')) throw new Error(`hurtle reads ${name} with a backslash pyssf never removes: ${JSON.stringify(got)}`);
  }
}
