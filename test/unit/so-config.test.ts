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

  it("takes the service manager's key and id when given; serves anyone otherwise, as hurtle", () => {
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

  describe("under hurtle's cloud controller", () => {
    const HURTLE = { DESIGN_URI: 'http://demo-api-key:demo%2Fsecret@127.0.0.1:8096/client/api', DC_NAME: 'somesoa1b2c3d4e5f6a7b8', HOSTNAME: 'f00dcafe' };

    it("comes up with only the container's environment: the instance from DC_NAME, the account from DESIGN_URI, on 8080 of every address, serving the tenant that initialises it", () => {
      const config = readSoConfig(HURTLE);
      expect(config.instanceId).to.equal('somesoa1b2c3d4e5f6a7b8');
      expect(config.cloudstack).to.deep.equal({ endpoint: 'http://127.0.0.1:8096/client/api', apiKey: 'demo-api-key', secretKey: 'demo/secret' });
      expect(config.listen).to.deep.equal({ host: '0.0.0.0', port: 8080 });
      expect(config).to.not.have.property('tenant');
      expect(config).to.not.have.property('authKey');
    });

    it('listens on $PORT, names the instance by its hostname without DC_NAME, and lets SO_* variables win', () => {
      const { DC_NAME: _name, ...noName } = HURTLE;
      expect(readSoConfig({ ...noName, PORT: '8181' })).to.deep.include({ instanceId: 'f00dcafe', listen: { host: '0.0.0.0', port: 8181 } });
      const both = readSoConfig({ ...HURTLE, ...BASE, PORT: '8181', SO_LISTEN: '127.0.0.1:8051' });
      expect(both).to.deep.include({ instanceId: 'u-1', tenant: 'demo', listen: { host: '127.0.0.1', port: 8051 } });
      expect(both.cloudstack).to.deep.equal({ endpoint: 'http://127.0.0.1:8080', apiKey: 'key', secretKey: 'secret' });
    });

    it('says what is missing without echoing the design URI, which holds the secret key', () => {
      const missing = (env: Record<string, string>): string => thrownBy(() => readSoConfig(env), ConfigError).message;
      expect(missing({ DESIGN_URI: HURTLE.DESIGN_URI })).to.equal('SO_INSTANCE_ID is required (under hurtle, DC_NAME or HOSTNAME names the instance)');
      expect(missing({ DC_NAME: 'x', DESIGN_URI: 'http://127.0.0.1:8096/client/api' })).to.equal(
        'SO_CLOUDSTACK_API_KEY is required (under hurtle, give the account as DESIGN_URI=http://<api key>:<secret key>@<management server>/client/api)',
      );
      expect(missing({ DC_NAME: 'x', DESIGN_URI: '//k:s3cr3t@host/client/api' }))
        .to.match(/^DESIGN_URI is not a URL/)
        .and.not.contain('s3cr3t');
      expect(missing({ DC_NAME: 'x', DESIGN_URI: 'ftp://k:s@host/' })).to.match(/^DESIGN_URI must be an http or https URL/);
      expect(missing({ DC_NAME: 'x', DESIGN_URI: 'http://k:%E0%A4%A@host/' })).to.equal(
        'DESIGN_URI: the account in its user information is not valid percent-encoding',
      );
      expect(missing({ ...HURTLE, PORT: '80a' })).to.equal('PORT = "80a" must be a port number from 0 (any free one) to 65535');
    });
  });
});
