import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDir } from '../support/sm.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/folder-cycles.mjs', import.meta.url));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'folders-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(root: string): { code: number | null; out: string } {
  const run = spawnSync(process.execPath, [SCRIPT, 'src'], { cwd: root, encoding: 'utf8' });
  return { code: run.status, out: run.stdout + run.stderr };
}

describe('Folder cycle check (npm run lint)', () => {
  it('fails when two sibling folders import each other, naming the imports', () => {
    const root = tree({
      'src/a/x.ts': "import { y } from '../b/y.js';\nexport const x = (): number => y + 1;\n",
      'src/b/y.ts': "import type { x } from '../a/x.js';\nexport const y = 1;\nexport type X = typeof x;\n",
    });
    try {
      const { code, out } = check(root);
      expect(code).to.equal(1);
      expect(out).to.include('folder cycle: src/a <-> src/b');
      expect(out).to.include('src/a/x.ts -> src/b/y.ts');
    } finally {
      removeDir(root);
    }
  });

  it('passes layered folders, and a folder whose own files compose its subfolders', () => {
    const root = tree({
      'src/main.ts': "import { x } from './a/x.js';\nexport const main = x;\n",
      'src/a/x.ts': "import { y } from '../b/y.js';\nimport { shared } from '../shared.js';\nexport const x = y + shared;\n",
      'src/b/y.ts': "import { shared } from '../shared.js';\nexport const y = shared;\n",
      'src/shared.ts': 'export const shared = 1;\n',
    });
    try {
      const { code, out } = check(root);
      expect(code, out).to.equal(0);
      expect(out).to.include('No folder cycles.');
    } finally {
      removeDir(root);
    }
  });
});
