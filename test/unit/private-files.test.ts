import { expect } from 'chai';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { checkSecretFiles, exposure, ownedPrivateDir } from '../../lib/private-files.js';
import { loadManagerKey, orchestratorKeys } from '../../service-manager/auth/manager-key.js';
import { modeOf, thrownBy } from '../support/expect.js';
import { removeDir } from '../support/sm.js';

describe('SM private files', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'private-'));
  });

  afterEach(() => removeDir(dir));

  it('makes the manager key once, readable by its owner only, in a private folder', () => {
    const path = join(dir, 'state', 'manager.key');
    const key = loadManagerKey(path);
    expect(key).to.have.length(32);
    expect([modeOf(join(dir, 'state')), modeOf(path)]).to.deep.equal(['700', '600']);
    expect(loadManagerKey(path).equals(key), 'kept across starts').to.equal(true);
    writeFileSync(path, 'short\n');
    expect(thrownBy(() => loadManagerKey(path), ConfigError).message).to.equal(
      `${path} does not hold a manager key (32 bytes, base64); remove it to have a new one made`,
    );
  });

  it('derives one key per orchestrator: per instance and per generation, from the manager key alone', () => {
    const keys = orchestratorKeys(Buffer.alloc(32, 7));
    expect(keys('u-1', 1)).to.equal(orchestratorKeys(Buffer.alloc(32, 7))('u-1', 1));
    expect(new Set([keys('u-1', 1), keys('u-1', 2), keys('u-2', 1), orchestratorKeys(Buffer.alloc(32, 8))('u-1', 1)]).size).to.equal(4);
    expect(keys('u-1', 1)).to.match(/^[\w-]{43}$/);
  });

  it('refuses, or warns about, secret files group or others can read, naming the fix', () => {
    const tenants = join(dir, 'tenants.json');
    writeFileSync(tenants, '{}', { mode: 0o644 });
    const key = join(dir, 'manager.key');
    writeFileSync(key, 'k', { mode: 0o600 });
    expect(thrownBy(() => checkSecretFiles([tenants, key], 'refuse', () => undefined), ConfigError).message).to.equal(
      `${tenants} is 0644: readable by every local user; it holds secrets; chmod 600 ${tenants}, or set [service_manager] secret_files = warn`,
    );
    const warnings: string[] = [];
    chmodSync(key, 0o640);
    checkSecretFiles([tenants, key], 'warn', (message) => warnings.push(message));
    expect(warnings).to.deep.equal([
      `${tenants} is 0644: readable by every local user; it holds secrets; chmod 600 ${tenants}`,
      `${key} is 0640: readable by its group; it holds secrets; chmod 600 ${key}`,
    ]);
    chmodSync(tenants, 0o600);
    chmodSync(key, 0o600);
    checkSecretFiles([tenants, key], 'refuse', () => expect.fail('no warning for private files'));
  });

  it('narrows a folder the service manager owns outright to its user', () => {
    const folder = join(dir, 'so');
    ownedPrivateDir(folder);
    expect(modeOf(folder)).to.equal('700');
    chmodSync(folder, 0o755);
    expect(exposure(folder)).to.equal(`${folder} is 0755: readable by every local user`);
    ownedPrivateDir(folder);
    expect(exposure(folder)).to.equal(undefined);
  });
});
