import { expect } from 'chai';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modeOf } from '../support/expect.js';
import { ProcessRuntime } from '../../service-manager/runtime/process.js';
import { ETC, removeDir, startTestSm } from '../support/sm.js';
import { until } from '../support/wait.js';

describe('SM private state on disk', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sm-private-'));
  });

  afterEach(() => removeDir(dir));

  it('refuses to start while the tenants file is readable by others, unless told to warn, and keeps its key private', async () => {
    const tenants = join(dir, 'tenants.json');
    copyFileSync(join(ETC, 'tenants.json'), tenants);
    chmodSync(tenants, 0o644);
    const config = (policy: string): string => `[service_manager]\nsecret_files = ${policy}\n[authentication]\ntenants_file = ${tenants}`;
    const refused = await startTestSm({ dir, extraConfig: config('refuse') }).catch((error: Error) => error);
    expect(refused).to.be.instanceOf(Error);
    expect((refused as Error).message).to.equal(
      `${tenants} is 0644: readable by every local user; it holds secrets; chmod 600 ${tenants}, or set [service_manager] secret_files = warn`,
    );
    const warned = await startTestSm({ dir, extraConfig: config('warn') });
    try {
      expect(
        warned.logLines.some((line) => line.includes(`${tenants} is 0644: readable by every local user; it holds secrets; chmod 600 ${tenants}`)),
      ).to.equal(true);
      expect([modeOf(join(dir, 'manager.key')), modeOf(join(dir, 'registry.db'))]).to.deep.equal(['600', '600']);
    } finally {
      await warned.stop();
    }
    chmodSync(tenants, 0o600);
    const quiet = await startTestSm({ dir, extraConfig: config('refuse') });
    expect(quiet.logLines.some((line) => line.includes('holds secrets'))).to.equal(false);
    await quiet.stop();
  });

  it("keeps the process runtime's folder and the orchestrators' logs to the service manager's user", async () => {
    const folder = join(dir, 'so');
    const runtime = new ProcessRuntime(folder);
    expect(modeOf(folder)).to.equal('700');
    await runtime.start({ uid: 'u-1', instanceId: 'i', tenant: 'demo', port: 1, env: {}, secrets: {} });
    await until(async () => (await runtime.status('u-1')).state === 'stopped');
    expect(modeOf(join(folder, 'mesos-so-u-1.log'))).to.equal('600');
    expect(modeOf(join(folder, 'mesos-so-u-1.pid'))).to.equal('600');
    await runtime.remove('u-1');
  });
});
