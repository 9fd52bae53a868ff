import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, InvalidInput, NotPermitted } from '../../lib/errors.js';
import { authenticatePlatform, parsePlatforms, platformTenants, tenantForContext, type Platform } from '../../service-manager/auth/platforms.js';
import { parseBrokerCatalog, requestedAttributes } from '../../service-manager/broker/catalog.js';
import { busy, operationState } from '../../service-manager/broker/operations.js';
import { actorOf } from '../../service-manager/http/broker-api.js';
import type { ServiceState } from '../../service-manager/model/states.js';
import { buildServiceType } from '../../service-manager/service-type/manifest.js';
import { thrownBy } from '../support/expect.js';
import { ETC } from '../support/sm.js';

const manifest = (): Record<string, any> => JSON.parse(readFileSync(join(ETC, 'service_manifest.json'), 'utf8'));
const typeWith = (broker: unknown) => buildServiceType({ ...manifest(), broker }, () => 'x');
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('Broker operations', () => {
  it("tell a platform's last operation from the lifecycle state", () => {
    const table: Array<['provision' | 'update' | 'deprovision', ServiceState, string]> = [
      ['provision', 'initialise', 'in progress'],
      ['provision', 'provision', 'in progress'],
      ['provision', 'ready', 'succeeded'],
      ['provision', 'degraded', 'succeeded'],
      ['provision', 'failed', 'failed'],
      ['update', 'update', 'in progress'],
      ['update', 'ready', 'succeeded'],
      ['update', 'failed', 'failed'],
      ['deprovision', 'destroy', 'in progress'],
      ['deprovision', 'failed', 'failed'],
    ];
    for (const [operation, state, expected] of table) {
      expect(operationState(operation, { state, stateMessage: 'why' }), `${operation} in ${state}`).to.deep.equal({ state: expected, description: 'why' });
    }
  });

  it('count an instance as busy until it serves or has failed', () => {
    const states: ServiceState[] = ['initialise', 'deploy', 'update', 'destroy', 'ready', 'degraded', 'failed'];
    expect(states.filter((state) => busy({ state, stateMessage: '' }))).to.deep.equal(['initialise', 'deploy', 'update', 'destroy']);
  });
});

describe('Broker catalog', () => {
  it("reads the shipped manifest's plans and maps parameters to attributes, parameters over the plan", () => {
    const catalog = parseBrokerCatalog(buildServiceType(manifest(), () => 'x'))!;
    expect(catalog.plans.map((p) => p.name)).to.deep.equal(['small', 'ha']);
    expect(requestedAttributes(catalog, catalog.plans[1], { agents: 7, zone: 'z1' })).to.deep.equal({
      'mesos.masters': 3,
      'mesos.agents': 7,
      'cloudstack.zone': 'z1',
    });
    expect(thrownBy(() => requestedAttributes(catalog, catalog.plans[0], { colour: 'red' }), InvalidInput).message).to.match(/^Unknown parameter "colour"/);
  });

  it('is absent without a broker section, and refuses a section that names what a client may not set', () => {
    const { broker: _broker, ...plain } = manifest();
    expect(parseBrokerCatalog(buildServiceType(plain, () => 'x'))).to.equal(undefined);
    const shipped = manifest()['broker'];
    const broken = [
      { ...shipped, parameters: { state: 'mcn.service.state' } },
      { ...shipped, parameters: { size: 'no.such.attribute' } },
      { ...shipped, plans: [] },
      { ...shipped, plans: [shipped.plans[0], shipped.plans[0]] },
      { ...shipped, plans: [{ ...shipped.plans[0], attributes: { 'mesos.agents': [1] } }] },
      { ...shipped, service_id: 'has spaces' },
    ];
    for (const section of broken) expect(() => parseBrokerCatalog(typeWith(section)), JSON.stringify(section).slice(0, 80)).to.throw(ConfigError);
  });
});

describe('Broker platforms', () => {
  const tenants = new Set(['demo', 'other']);
  const fail = (why: string): never => {
    throw new ConfigError(why);
  };
  const [single, shared] = parsePlatforms(
    {
      single: { password_sha256: sha('s3cret'), tenant: 'demo' },
      shared: {
        password_sha256: sha('an0ther'),
        contexts: [
          { platform: 'cloudfoundry', organization_guid: 'org-1', tenant: 'demo' },
          { platform: 'kubernetes', namespace: 'team-b', tenant: 'other' },
        ],
      },
    },
    tenants,
    fail,
  ) as [Platform, Platform];

  it('authenticate by name and password', () => {
    expect(authenticatePlatform([single, shared], 'single', 's3cret')).to.equal(single);
    expect(authenticatePlatform([single, shared], 'single', 'an0ther')).to.equal(undefined);
    expect(authenticatePlatform([single, shared], 'nobody', 's3cret')).to.equal(undefined);
  });

  it("act for one tenant, or for the tenant a request's context maps to", () => {
    expect(tenantForContext(single, { platform: 'kubernetes', namespace: 'x' })).to.equal('demo');
    expect(tenantForContext(shared, { platform: 'kubernetes', namespace: 'team-b' })).to.equal('other');
    expect(tenantForContext(shared, { platform: 'cloudfoundry', organization_guid: 'org-1', space_guid: 's' })).to.equal('demo');
    expect(thrownBy(() => tenantForContext(shared, { platform: 'cloudfoundry', organization_guid: 'org-2' }), NotPermitted).message).to.equal(
      'Platform shared acts for no tenant in this context.',
    );
    expect(platformTenants(shared)).to.deep.equal(['demo', 'other']);
  });

  it('refuse entries that name unknown tenants or fields, or neither or both of a tenant and contexts', () => {
    const entries = [
      { password_sha256: sha('x'), tenant: 'ghost' },
      { password_sha256: 'plain', tenant: 'demo' },
      { password_sha256: sha('x') },
      { password_sha256: sha('x'), tenant: 'demo', contexts: [{ namespace: 'a', tenant: 'demo' }] },
      { password_sha256: sha('x'), contexts: [{ colour: 'red', tenant: 'demo' }] },
      { password_sha256: sha('x'), tenant: 'demo', role: 'admin' },
    ];
    for (const entry of entries) expect(() => parsePlatforms({ p: entry }, tenants, fail), JSON.stringify(entry)).to.throw(ConfigError);
  });

  it("record the originating identity's user with the platform's name, and the platform alone without one", () => {
    const encoded = (doc: unknown): string => Buffer.from(JSON.stringify(doc)).toString('base64');
    expect(actorOf(single, `cloudfoundry ${encoded({ user_id: '683e' })}`)).to.equal('single (cloudfoundry user 683e)');
    expect(actorOf(single, `kubernetes ${encoded({ username: 'jane', groups: [] })}`)).to.equal('single (kubernetes user jane)');
    expect(actorOf(single, undefined)).to.equal('single');
    expect(actorOf(single, 'cloudfoundry not-base64-json!')).to.equal('single');
    expect(actorOf(single, `cloudfoundry ${encoded({ user_id: 'a\nb' })}`)).to.equal('single (cloudfoundry user ab)');
  });
});
