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

  it('keeps room for each tenant\'s CloudStack account', () => {
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
});
