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

  it('takes the token and the service manager id when given; any token otherwise, as hurtle', () => {
    expect(readSoConfig(BASE)).to.not.have.property('authToken');
    expect(readSoConfig({ ...BASE, SO_AUTH_TOKEN: 't', SO_MANAGER_ID: 'sm1' })).to.include({ authToken: 't', managerId: 'sm1' });
  });

  it('reads secrets from files named by <NAME>_FILE, without the trailing newline', () => {
    writeFileSync(join(dir, 'key'), 'from-file\n');
    writeFileSync(join(dir, 'token'), 'token-from-file');
    const { SO_CLOUDSTACK_SECRET_KEY: _secret, ...rest } = BASE;
    const config = readSoConfig({ ...rest, SO_CLOUDSTACK_SECRET_KEY_FILE: join(dir, 'key'), SO_AUTH_TOKEN_FILE: join(dir, 'token') });
    expect(config.cloudstack.secretKey).to.equal('from-file');
    expect(config.authToken).to.equal('token-from-file');
  });

  it('refuses a secret given twice, an unreadable secret file, and _FILE for what is not a secret', () => {
    expect(thrownBy(() => readSoConfig({ ...BASE, SO_CLOUDSTACK_SECRET_KEY_FILE: join(dir, 'key') }), ConfigError).message).to.equal(
      'set either SO_CLOUDSTACK_SECRET_KEY or SO_CLOUDSTACK_SECRET_KEY_FILE, not both',
    );
    expect(thrownBy(() => readSoConfig({ ...BASE, SO_AUTH_TOKEN_FILE: join(dir, 'missing') }), ConfigError).message).to.equal(
      `SO_AUTH_TOKEN_FILE: cannot read ${join(dir, 'missing')}: ENOENT`,
    );
    expect(thrownBy(() => readSoConfig({ ...BASE, SO_TENANT_FILE: 'x' }), ConfigError).message).to.equal('unknown environment variable SO_TENANT_FILE');
  });
});
