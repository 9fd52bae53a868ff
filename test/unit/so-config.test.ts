import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { readSoConfig } from '../../service-orchestrator/config.js';
import { thrownBy } from '../support/expect.js';

const BASE = {
  SO_INSTANCE_ID: 'u-1',
  SO_TENANT: 'demo',
  SO_CLOUDSTACK_ENDPOINT: 'http://127.0.0.1:8080',
  SO_CLOUDSTACK_API_KEY: 'key',
  SO_CLOUDSTACK_SECRET_KEY: 'secret',
};

describe('SO configuration (environment)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'so-config-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the service manager\'s key and id when given; serves anyone otherwise, as hurtle', () => {
    expect(readSoConfig(BASE)).to.not.have.property('authKey');
    expect(readSoConfig({ ...BASE, SO_AUTH_KEY: 'k', SO_MANAGER_ID: 'sm1' })).to.include({ authKey: 'k', managerId: 'sm1' });
  });

  it('reads secrets from files named by <NAME>_FILE, without the trailing newline', () => {
    writeFileSync(join(dir, 'key'), 'from-file\n');
    writeFileSync(join(dir, 'auth-key'), 'key-from-file');
    const { SO_CLOUDSTACK_SECRET_KEY: _secret, ...rest } = BASE;
    const config = readSoConfig({ ...rest, SO_CLOUDSTACK_SECRET_KEY_FILE: join(dir, 'key'), SO_AUTH_KEY_FILE: join(dir, 'auth-key') });
    expect(config.cloudstack.secretKey).to.equal('from-file');
    expect(config.authKey).to.equal('key-from-file');
  });

  it('refuses a secret given twice, an unreadable secret file, and _FILE for what is not a secret', () => {
    expect(thrownBy(() => readSoConfig({ ...BASE, SO_CLOUDSTACK_SECRET_KEY_FILE: join(dir, 'key') }), ConfigError).message).to.equal(
      'set either SO_CLOUDSTACK_SECRET_KEY or SO_CLOUDSTACK_SECRET_KEY_FILE, not both',
    );
    expect(thrownBy(() => readSoConfig({ ...BASE, SO_AUTH_KEY_FILE: join(dir, 'missing') }), ConfigError).message).to.equal(
      `SO_AUTH_KEY_FILE: cannot read ${join(dir, 'missing')}: ENOENT`,
    );
    expect(thrownBy(() => readSoConfig({ ...BASE, SO_TENANT_FILE: 'x' }), ConfigError).message).to.equal('unknown environment variable SO_TENANT_FILE');
  });
});
