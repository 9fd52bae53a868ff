// Fails when sibling folders import each other, directly or round a loop.
// madge --circular only sees cycles between files; this sees the layering:
// under any folder, its subfolders must form a graph without cycles (the
// folder's own files may use and be used by all of them, as the place that
// composes them).
import { existsSync } from 'node:fs';
import madge from 'madge';

const roots = process.argv.slice(2);
const result = await madge(roots, { baseDir: process.cwd(), fileExtensions: ['ts'], ...(existsSync('tsconfig.json') ? { tsConfig: 'tsconfig.json' } : {}) });
const graph = result.obj();

/** The two subfolders of the folder both files share, or undefined when either file lies in it directly. */
function siblings(from, to) {
  const a = from.split('/');
  const b = to.split('/');
  let i = 0;
  while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
  if (i === a.length - 1 || i === b.length - 1 || a[i] === b[i]) return undefined;
  const parent = a.slice(0, i).join('/');
  return [`${parent}/${a[i]}`.replace(/^\//, ''), `${parent}/${b[i]}`.replace(/^\//, '')];
}

const edges = new Map();
for (const [from, targets] of Object.entries(graph)) {
  for (const to of targets) {
    const pair = siblings(from, to);
    if (!pair) continue;
    const [a, b] = pair;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a).has(b)) edges.get(a).set(b, `${from} -> ${to}`);
  }
}

// Tarjan's strongly connected components: every component of two or more folders is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function connect(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!index.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) !== index.get(v)) return;
  const component = [];
  let w;
  do {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  } while (w !== v);
  if (component.length > 1) cycles.push(component);
}
for (const v of edges.keys()) if (!index.has(v)) connect(v);

for (const component of cycles) {
  console.log(`folder cycle: ${component.sort().join(' <-> ')}`);
  for (const a of component) {
    for (const [b, why] of edges.get(a) ?? []) if (component.includes(b)) console.log(`  ${why}`);
  }
}
console.log(cycles.length === 0 ? 'No folder cycles.' : `${cycles.length} folder cycle(s).`);
process.exit(cycles.length === 0 ? 0 : 1);
