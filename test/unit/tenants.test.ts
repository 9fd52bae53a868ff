import { expect } from 'chai';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { parseTenants, TenantsFile } from '../../service-manager/auth/tenants-file.js';
import { ETC } from '../support/sm.js';

describe('Tenants file authentication', () => {
  const tenants = TenantsFile.load(join(ETC, 'tenants.json'));

  it('accepts the local development tenants with their tokens', async () => {
    expect(await tenants.validate('demo', 'demo-token')).to.equal(true);
    expect(await tenants.validate('other', 'other-token')).to.equal(true);
  });

  it('rejects a token of another tenant, a wrong token and an unknown tenant', async () => {
    expect(await tenants.validate('demo', 'other-token')).to.equal(false);
    expect(await tenants.validate('demo', 'demo-token ')).to.equal(false);
    expect(await tenants.validate('nobody', 'demo-token')).to.equal(false);
  });

  it("keeps room for each tenant's CloudStack account", () => {
    expect(tenants.tenant('demo')!.cloudstack).to.deep.equal({ apiKey: 'demo-api-key', secretKey: 'demo-secret-key' });
  });

  it('refuses malformed entries, naming the tenant', () => {
    const bad = (doc: unknown) => () => parseTenants(doc, 'tenants.json');
    expect(bad({ tenants: { x: { token_sha256: ['nothex'] } } })).to.throw(ConfigError, /tenants\["x"\].token_sha256/);
    expect(bad({ tenants: { x: { token_sha256: ['a'.repeat(64)], colour: 1 } } })).to.throw(ConfigError, /unknown field "colour"/);
    expect(bad({ tenants: { 'bad name': { token_sha256: ['a'.repeat(64)] } } })).to.throw(ConfigError, /tenant names/);
    expect(bad({ tenants: { x: { token_sha256: ['a'.repeat(64)], cloudstack: { api_key: '' } } } })).to.throw(ConfigError, /api_key/);
    expect(bad([])).to.throw(ConfigError, /"tenants" object/);
  });

  it("overrides the default quota with what a tenant's entry says, and refuses a bad quota", () => {
    const defaults = { instances: 20, vms: 200, agentsPerInstance: 100, writesPerMinute: 120, writeBurst: 60 };
    const file = new TenantsFile(
      parseTenants({ tenants: { small: { token_sha256: ['a'.repeat(64)], quota: { instances: 2, write_burst: 5 } } } }, 'tenants.json'),
    );
    expect(file.quotaOf('small', defaults)).to.deep.equal({ ...defaults, instances: 2, writeBurst: 5 });
    expect(tenants.quotaOf('demo', defaults)).to.deep.equal(defaults);
    const bad = (quota: unknown) => () => parseTenants({ tenants: { x: { token_sha256: ['a'.repeat(64)], quota } } }, 'tenants.json');
    expect(bad({ vms: 0 })).to.throw(ConfigError, 'tenants.json: tenants["x"].quota.vms must be a whole number of at least 1');
    expect(bad({ cpus: 4 })).to.throw(
      ConfigError,
      /tenants\["x"\].quota: unknown field "cpus"; known: instances, vms, agents_per_instance, writes_per_minute, write_burst/,
    );
    expect(bad([])).to.throw(ConfigError, /must be an object/);
  });
});
