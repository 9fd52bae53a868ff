/** Just enough XML for the AWS Query protocol's answers: elements, text, escaping. */
export type XmlNode = string | number | boolean | undefined | readonly XmlNode[] | { readonly [name: string]: XmlNode };

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `{Name: value}` becomes `<Name>value</Name>`; lists repeat; undefined leaves the element out. */
export function xml(node: XmlNode): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return escape(node);
  if (typeof node === 'number' || typeof node === 'boolean') return String(node);
  if (Array.isArray(node)) return (node as readonly XmlNode[]).map(xml).join('');
  return Object.entries(node as Record<string, XmlNode>)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<${name}>${xml(value)}</${name}>`)
    .join('');
}

/** A list as the Query protocol writes it: each item a `<member>`. */
export function members(items: readonly XmlNode[]): XmlNode {
  return items.map((item) => ({ member: item }));
}
