/**
 * Request parameters as the servlet reads them: query string and form body
 * merged, the first value of a repeated name winning, names kept as sent
 * (the signature is checked over them), `+` read as a space.
 */
export function readParams(query: string, form: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  for (const source of [query, form ?? '']) {
    for (const pair of source.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decode(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
      if (name !== undefined && value !== undefined && !params.has(name)) params.set(name, value);
    }
  }
  return params;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** A parameter looked up the way the server looks up apikey, signature and friends: ignoring case. */
export function paramIgnoringCase(params: ReadonlyMap<string, string>, name: string): string | undefined {
  for (const [key, value] of params) if (key.toLowerCase() === name) return value;
  return undefined;
}
