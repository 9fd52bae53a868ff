/**
 * hurtle's service manager reads a `text/occi` rendering by splitting the
 * X-OCCI-Attribute header on ", ", each piece on "=" (taking what lies
 * between the first and the second), and scrubbing one pair of surrounding
 * quotes; pyssf's clients never unescape. A string value reads back whole
 * only without ", ", "=", quotes and backslashes, so the text renderings
 * write those as "; ", ":", "'" and "/" (the JSON rendering keeps every
 * value exact).
 */
export function readableByHurtle(text: string): string {
  return text.replace(/, /g, '; ').replace(/=/g, ':').replace(/"/g, "'").replace(/\\/g, '/');
}
