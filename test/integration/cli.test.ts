import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from '../support/http.js';
import { baseConfig, DEMO, ETC, removeDir } from '../support/sm.js';

const MAIN = fileURLToPath(new URL('../../service-manager/main.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env['PATH'], ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function config(dir: string, extra = ''): string {
  const file = join(dir, 'sm.cfg');
  writeFileSync(file, [...baseConfig('registry.db'), '[simulator]', `fixtures = ${join(ETC, 'simulator.json')}`, 'listen = 127.0.0.1:0', extra].join('\n'));
  return file;
}

describe('SM command line', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sm-cli-'));
  });

  afterEach(() => removeDir(dir));

  it('refuses to start on an unknown key, naming it, with exit code 2', async () => {
    const result = await run(['-c', config(dir, '[general]\nlog_levl = info')]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/unknown key "log_levl" in \[general\]/);
  });

  it('refuses to start on a bad value from the environment, naming the variable', async () => {
    const result = await run(['--config-file', config(dir)], { SM_SERVICE_MANAGER_MAX_BODY_BYTES: 'big' });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/max_body_bytes = "big" \(from SM_SERVICE_MANAGER_MAX_BODY_BYTES\)/);
  });

  it('prefers SM_CONFIG_PATH over --config-file, as hurtle does', async () => {
    const result = await run(['-c', config(dir)], { SM_CONFIG_PATH: join(dir, 'missing.cfg') });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('missing.cfg');
  });

  it('refuses unknown options with the usage', async () => {
    const result = await run(['--colour']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('usage: service-manager');
  });

  it('serves with its embedded CloudStack simulator, logs JSON lines when not on a terminal, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, '-c', config(dir)], { env: { PATH: process.env['PATH'] } });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const ready = stdout
          .split('\n')
          .slice(0, -1)
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { message: string; url?: string })
          .find((entry) => entry.message === 'service manager listening');
        if (ready?.url) resolve(ready.url);
      });
      child.on('exit', () => reject(new Error(`exited early: ${stdout}`)));
    });
    expect((await call('GET', `${url}/mesos/`, { headers: DEMO })).status).to.equal(200);
    const simulator = /"api":"(http:[^"]+)\/client\/api"/.exec(stdout)![1];
    expect((await call('GET', `${simulator}/sim/vms`)).body).to.equal('[]');
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).to.equal(0);
    for (const line of stdout.trim().split('\n')) expect(() => JSON.parse(line), line).to.not.throw();
  });
});
