import type { AttributeInfo, Kind } from './api.js';
import { h } from './dom.js';

/** The attributes shown first; every other writable one is under "More settings". */
const FIRST = ['mesos.agents', 'mesos.masters', 'occi.core.title'];
const HIDDEN = new Set(['occi.core.id']);

/** One input of the create form, made from the query interface's description of an attribute. */
interface Field {
  readonly name: string;
  readonly info: AttributeInfo;
  readonly input: HTMLInputElement | HTMLSelectElement;
}

function inputId(name: string): string {
  return `attr-${name.replace(/[^A-Za-z0-9]/g, '-')}`;
}

function inputFor(name: string, info: AttributeInfo): HTMLInputElement | HTMLSelectElement {
  const id = inputId(name);
  const described = info.description ? `${id}-hint` : undefined;
  const choices = info.pattern?.enum;
  if (choices) {
    const select = h('select', { id, name, 'aria-describedby': described });
    if (info.default === undefined) select.append(h('option', { value: '' }, '(service default)'));
    for (const choice of choices) select.append(h('option', { value: String(choice), selected: choice === info.default }, String(choice)));
    return select;
  }
  if (info.type === 'boolean') return h('input', { id, name, type: 'checkbox', checked: info.default === true, 'aria-describedby': described });
  if (info.type === 'number') {
    const { minimum, maximum } = info.pattern ?? {};
    return h('input', {
      id,
      name,
      type: 'number',
      step: info.pattern?.type === 'integer' ? '1' : 'any',
      min: minimum === undefined ? undefined : String(minimum),
      max: maximum === undefined ? undefined : String(maximum),
      value: info.default === undefined ? undefined : String(info.default),
      'aria-describedby': described,
    });
  }
  const maxLength = info.pattern?.maxLength;
  return h('input', {
    id,
    name,
    value: info.default === undefined ? undefined : String(info.default),
    maxlength: maxLength === undefined ? undefined : String(maxLength),
    'aria-describedby': described,
  });
}

/** Fills the two containers with a labelled input per writable attribute; returns the fields to read back. */
export function buildFields(kind: Kind, first: HTMLElement, more: HTMLElement): Field[] {
  const names = Object.keys(kind.attributes).filter((n) => kind.attributes[n].mutable && !HIDDEN.has(n));
  names.sort((a, b) => rank(a) - rank(b));
  return names.map((name) => {
    const info = kind.attributes[name];
    const input = inputFor(name, info);
    const into = FIRST.includes(name) ? first : more;
    into.append(h('label', { for: input.id }, name), input);
    if (info.description) into.append(h('p', { id: `${input.id}-hint`, class: 'hint' }, info.description));
    return { name, info, input };
  });
}

function rank(name: string): number {
  const at = FIRST.indexOf(name);
  return at === -1 ? FIRST.length : at;
}

/** What the tenant set: only values that differ from the service's default, typed as the attribute is. */
export function chosenAttributes(fields: readonly Field[]): Record<string, string | number | boolean> {
  const chosen: Record<string, string | number | boolean> = {};
  for (const { name, info, input } of fields) {
    const value = valueOf(info, input);
    if (value !== undefined && value !== info.default) chosen[name] = value;
  }
  return chosen;
}

function valueOf(info: AttributeInfo, input: HTMLInputElement | HTMLSelectElement): string | number | boolean | undefined {
  if (input instanceof HTMLInputElement && input.type === 'checkbox') return input.checked;
  if (input.value === '') return undefined;
  if (info.type === 'number') return Number(input.value);
  return input.value;
}
