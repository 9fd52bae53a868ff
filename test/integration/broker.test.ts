import draft04 from 'ajv-draft-04';
import { expect } from 'chai';
import { startEmbeddedSm, type EmbeddedSm } from '../support/embedded-sm.js';
import { call, type Reply } from '../support/http.js';
import { DEMO } from '../support/sm.js';
import { until } from '../support/wait.js';

const SERVICE = '8c5b1f0e-3d2a-4e7b-9a61-2f4d5c7e9b10';
const SMALL = '2f7a9c41-6b0d-4c8e-a3f5-71d2e9b4c6a0';
const HA = '9d3e6b72-1a5c-4f09-8e2b-c4a7f1d05e93';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const DEMO_PLATFORM = { Authorization: basic('demo-platform', 'demo-platform-secret'), 'X-Broker-API-Version': '2.17' };
const OTHER_PLATFORM = { Authorization: basic('other-platform', 'other-platform-secret'), 'X-Broker-API-Version': '2.17' };
const IDENTITY = `cloudfoundry ${Buffer.from(JSON.stringify({ user_id: '683ea748-3092-4ff4-b656-39cacc4d5360' })).toString('base64')}`;

describe('Open Service Broker API', function () {
  this.timeout(120_000);
  let embedded: EmbeddedSm;

  before(async () => {
    embedded = await startEmbeddedSm();
  });
  after(async () => embedded.close());

  const broker = (method: string, path: string, body?: unknown, headers: Record<string, string> = DEMO_PLATFORM): Promise<Reply> =>
    call(method, `${embedded.sm.url}/v2${path}`, {
      headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const provision = (id: string, parameters: Record<string, unknown> = {}, plan = SMALL, headers: Record<string, string> = DEMO_PLATFORM): Promise<Reply> =>
    broker(
      'PUT',
      `/service_instances/${id}?accepts_incomplete=true`,
      { service_id: SERVICE, plan_id: plan, parameters, context: { platform: 'cloudfoundry' } },
      headers,
    );
  const lastOperation = async (id: string): Promise<{ status: number; state?: string; description?: string }> => {
    const reply = await broker('GET', `/service_instances/${id}/last_operation`);
    return { status: reply.status, ...(reply.status === 200 ? reply.json<{ state: string; description: string }>() : {}) };
  };
  const settled = async (id: string): Promise<{ status: number; state?: string; description?: string }> => {
    let last = await lastOperation(id);
    await until(async () => (last = await lastOperation(id)).state !== 'in progress', 60_000);
    return last;
  };
  const deprovision = (id: string, headers: Record<string, string> = DEMO_PLATFORM): Promise<Reply> =>
    broker('DELETE', `/service_instances/${id}?service_id=${SERVICE}&plan_id=${SMALL}&accepts_incomplete=true`, undefined, headers);
  const liveVms = async (): Promise<unknown[]> =>
    (await call('GET', `${embedded.sm.cloudstackUrl}/sim/vms`)).json<Array<{ state: string }>>().filter((vm) => vm.state !== 'Expunged');

  it('wants platform credentials and API version 2.x, and echoes the request identity', async () => {
    const anonymous = await call('GET', `${embedded.sm.url}/v2/catalog`, { headers: { 'X-Broker-API-Version': '2.17' } });
    expect([anonymous.status, anonymous.header('www-authenticate')]).to.deep.equal([401, 'Basic realm="service-broker"']);
    const wrong = await broker('GET', '/catalog', undefined, { ...DEMO_PLATFORM, Authorization: basic('demo-platform', 'guess') });
    expect(wrong.status).to.equal(401);
    const old = await broker('GET', '/catalog', undefined, { ...DEMO_PLATFORM, 'X-Broker-API-Version': '1.0' });
    expect([old.status, old.json<{ description: string }>().description]).to.deep.equal([
      412,
      'This broker speaks Open Service Broker API 2.x: send X-Broker-API-Version: 2.17.',
    ]);
    const traced = await broker('GET', '/catalog', undefined, { ...DEMO_PLATFORM, 'X-Broker-API-Request-Identity': 'e26cea3c-2a8b-4f8c-8d5b-a0a5d4b5a1c1' });
    expect(traced.header('x-broker-api-request-identity')).to.equal('e26cea3c-2a8b-4f8c-8d5b-a0a5d4b5a1c1');
  });

  it("offers the manifest's service and plans, each with draft-04 schemas of its parameters from the attributes' properties", async () => {
    const catalog = (await broker('GET', '/catalog')).json<{ services: Array<Record<string, any>> }>();
    expect(catalog.services).to.have.length(1);
    const [service] = catalog.services;
    for (const field of ['id', 'name', 'description', 'bindable', 'plans']) expect(service, field).to.have.property(field);
    expect(service).to.include({ id: SERVICE, name: 'mesos', bindable: true, instances_retrievable: true, bindings_retrievable: true, plan_updateable: true });
    expect(service['plans'].map((p: any) => [p.id, p.name])).to.deep.equal([
      [SMALL, 'small'],
      [HA, 'ha'],
    ]);
    const create = service['plans'][1].schemas.service_instance.create.parameters;
    expect(create.$schema).to.equal('http://json-schema.org/draft-04/schema#');
    expect(create.additionalProperties).to.equal(false);
    expect(create.properties.agents).to.include({ type: 'integer', minimum: 1, maximum: 100, default: 5 });
    expect(create.properties.masters).to.deep.include({ type: 'integer', enum: [1, 3, 5], default: 3 });
    expect(create.properties.zone).to.include({ type: 'string', default: 'sim-zone-1' });
    const update = service['plans'][0].schemas.service_instance.update.parameters;
    expect(update.properties).to.have.property('agents');
    expect(update.properties, 'fixed at creation').to.not.have.property('masters');

    // A platform validates parameters with these schemas before it asks: they must be valid draft-04 and agree with the SM.
    const ajv = new draft04.default({ strict: false });
    for (const plan of service['plans']) {
      const validCreate = ajv.compile(plan.schemas.service_instance.create.parameters);
      expect(validCreate({ agents: 3, masters: 3, zone: 'sim-zone-1', autoscale: true })).to.equal(true);
      expect(validCreate({ agents: 1000 })).to.equal(false);
      expect(validCreate({ masters: 2 })).to.equal(false);
      expect(validCreate({ flavour: 'large' })).to.equal(false);
      const validUpdate = ajv.compile(plan.schemas.service_instance.update.parameters);
      expect([validUpdate({ agents: 4 }), validUpdate({ masters: 3 })]).to.deep.equal([true, false]);
      expect(ajv.compile(plan.schemas.service_binding.create.parameters)({})).to.equal(true);
    }
  });

  it('provisions asynchronously, is the same instance over OCCI, binds with credentials that reach the live master, scales, unbinds and deprovisions to nothing', async () => {
    const id = 'c9a2f6e0-8d7b-4b1e-9f3a-5e6d7c8b9a01';
    const sync = await broker('PUT', `/service_instances/${id}`, { service_id: SERVICE, plan_id: SMALL });
    expect([sync.status, sync.json<{ error: string }>().error]).to.deep.equal([422, 'AsyncRequired']);

    const accepted = await provision(id, { agents: 1 }, SMALL, { ...DEMO_PLATFORM, 'X-Broker-API-Originating-Identity': IDENTITY });
    expect(accepted.status).to.equal(202);
    expect(accepted.json()).to.deep.equal({ dashboard_url: `${embedded.sm.url}/dashboard/`, operation: 'provision' });
    expect((await provision(id, { agents: 1 })).status, 'a repeat while provisioning').to.be.oneOf([202, 200]);
    expect((await settled(id)).state).to.equal('succeeded');
    expect((await provision(id, { agents: 1 })).status, 'an identical repeat').to.equal(200);
    expect((await provision(id, { agents: 2 })).status, 'the same id with other parameters').to.equal(409);

    const occi = await call('GET', `${embedded.sm.url}/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
    expect(occi.json<{ attributes: Record<string, unknown> }>().attributes).to.include({ 'mcn.service.state': 'ready', 'mesos.agents': 1, 'mesos.masters': 1 });
    const history = (await call('GET', `${embedded.sm.url}/mesos/${id}/events`, { headers: DEMO })).json<Array<{ actor: string; type: string }>>();
    expect(history[0]).to.include({ type: 'created', actor: 'demo-platform (cloudfoundry user 683ea748-3092-4ff4-b656-39cacc4d5360)' });

    expect((await broker('GET', `/service_instances/${id}`)).json()).to.deep.equal({
      service_id: SERVICE,
      plan_id: SMALL,
      parameters: { agents: 1 },
      dashboard_url: `${embedded.sm.url}/dashboard/`,
    });

    const bound = await broker('PUT', `/service_instances/${id}/service_bindings/app-1`, { service_id: SERVICE, plan_id: SMALL });
    expect(bound.status).to.equal(201);
    const { credentials } = bound.json<{ credentials: Record<string, string> }>();
    expect(Object.keys(credentials).sort()).to.deep.equal(['marathon_password', 'marathon_url', 'marathon_user', 'mesos_master_url', 'zookeeper']);
    const slaves = (await call('GET', `${credentials['mesos_master_url']}/master/slaves`)).json<{ slaves: Array<{ active: boolean }> }>().slaves;
    expect(slaves.filter((s) => s.active)).to.have.length(1);
    const marathon = await call('GET', `${credentials['marathon_url']}/v2/apps`, {
      headers: { Authorization: basic(credentials['marathon_user'], credentials['marathon_password']) },
    });
    expect(marathon.status, 'the credentials open Marathon').to.equal(200);
    expect((await broker('PUT', `/service_instances/${id}/service_bindings/app-1`, { service_id: SERVICE, plan_id: SMALL })).status).to.equal(200);
    expect((await broker('GET', `/service_instances/${id}/service_bindings/app-1`)).json<{ credentials: unknown }>().credentials).to.deep.equal(credentials);

    const scaled = await broker('PATCH', `/service_instances/${id}?accepts_incomplete=true`, { service_id: SERVICE, parameters: { agents: 2 } });
    expect([scaled.status, scaled.json()]).to.deep.equal([202, { operation: 'update' }]);
    const again = await broker('PATCH', `/service_instances/${id}?accepts_incomplete=true`, { service_id: SERVICE, parameters: { agents: 3 } });
    expect([again.status, again.json<{ error: string }>().error]).to.deep.equal([422, 'ConcurrencyError']);
    expect((await settled(id)).state).to.equal('succeeded');
    const afterScale = (await call('GET', `${embedded.sm.url}/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } })).json<{
      attributes: Record<string, unknown>;
    }>();
    expect(afterScale.attributes).to.include({ 'mesos.agents': 2, 'mesos.agents.active': 2 });
    const planChange = await broker('PATCH', `/service_instances/${id}?accepts_incomplete=true`, { service_id: SERVICE, plan_id: HA });
    expect(planChange.status, 'masters are fixed at creation').to.equal(400);

    expect((await broker('DELETE', `/service_instances/${id}/service_bindings/app-1?service_id=${SERVICE}&plan_id=${SMALL}`)).status).to.equal(200);
    expect((await broker('DELETE', `/service_instances/${id}/service_bindings/app-1?service_id=${SERVICE}&plan_id=${SMALL}`)).status).to.equal(410);

    expect((await broker('DELETE', `/service_instances/${id}?accepts_incomplete=true`)).status, 'without service_id and plan_id').to.equal(400);
    const gone = await deprovision(id);
    expect([gone.status, gone.json()]).to.deep.equal([202, { operation: 'deprovision' }]);
    const late = await provision(id, { agents: 1 });
    expect([late.status, late.json<{ error: string }>().error], 'a provision while it is deprovisioned').to.deep.equal([422, 'ConcurrencyError']);
    expect((await settled(id)).status).to.equal(410);
    expect(await liveVms()).to.deep.equal([]);
    expect((await deprovision(id)).status).to.equal(410);
    expect((await call('GET', `${embedded.sm.url}/mesos/${id}`, { headers: DEMO })).status).to.equal(404);
  });

  it('refuses bad input with a description, leaving nothing behind', async () => {
    const id = 'bad-1';
    const tooMany = await provision(id, { agents: 1000 });
    expect([tooMany.status, tooMany.json<{ description: string }>().description]).to.deep.equal([
      400,
      'Attribute mesos.agents = 1000 is above the maximum 100.',
    ]);
    const unknown = await provision(id, { flavour: 'large' });
    expect(unknown.status).to.equal(400);
    expect(unknown.json<{ description: string }>().description).to.match(/^Unknown parameter "flavour"; this service takes agents, masters, /);
    expect((await broker('PUT', `/service_instances/${id}?accepts_incomplete=true`, { service_id: SERVICE, plan_id: 'nope' })).status).to.equal(400);
    expect((await broker('PUT', `/service_instances/${id}?accepts_incomplete=true`, { service_id: 'nope', plan_id: SMALL })).status).to.equal(400);
    const malformed = await call('PUT', `${embedded.sm.url}/v2/service_instances/${id}?accepts_incomplete=true`, {
      headers: { ...DEMO_PLATFORM, 'Content-Type': 'application/json' },
      body: '{"service_id": ',
    });
    expect(malformed.status).to.equal(400);
    expect((await lastOperation(id)).status).to.equal(404);
    expect((await broker('GET', '/service_instances')).status).to.equal(404);
  });

  it('cleans up fully when a platform deletes a provision that failed (orphan mitigation)', async () => {
    const id = 'orphan-1';
    expect((await provision(id, { agents: 1, zone: 'no-such-zone' })).status).to.equal(202);
    const failed = await settled(id);
    expect(failed.state).to.equal('failed');
    expect(failed.description).to.include('no-such-zone');
    expect((await deprovision(id)).status).to.equal(202);
    expect((await settled(id)).status).to.equal(410);
    expect(await liveVms()).to.deep.equal([]);
  });

  it("keeps platforms apart: one neither sees nor deletes another's instances", async () => {
    const id = 'shared-name';
    expect((await provision(id, { agents: 1 })).status).to.equal(202);
    expect((await broker('GET', `/service_instances/${id}/last_operation`, undefined, OTHER_PLATFORM)).status).to.equal(404);
    expect((await deprovision(id, OTHER_PLATFORM)).status).to.equal(410);
    expect((await provision(id, { agents: 1 }, SMALL, OTHER_PLATFORM)).status, 'its own instance of that id').to.equal(202);
    expect((await settled(id)).state).to.equal('succeeded');
    expect((await call('GET', `${embedded.sm.url}/mesos/${id}`, { headers: { 'X-Auth-Token': 'other-token', 'X-Tenant-Name': 'other' } })).status).to.equal(
      200,
    );
    for (const platform of [DEMO_PLATFORM, OTHER_PLATFORM]) expect((await deprovision(id, platform)).status).to.equal(202);
    await until(async () => (await liveVms()).length === 0, 60_000);
  });

  it("counts a platform's writes against its tenant's write rate, as OCCI writes are", async () => {
    const statuses: number[] = [];
    let refused: Reply | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const reply = await broker('PUT', '/service_instances/rate-1?accepts_incomplete=true', { service_id: SERVICE, plan_id: 'nope' }, OTHER_PLATFORM);
      statuses.push(reply.status);
      if (reply.status === 429) refused = reply;
    }
    expect(refused, `statuses: ${statuses.join(' ')}`).to.not.equal(undefined);
    expect(new Set(statuses.slice(0, -1))).to.deep.equal(new Set([400]));
    expect(refused!.header('retry-after')).to.match(/^\d+$/);
    expect(refused!.json<{ description: string }>().description).to.match(/^Too many writes: tenant other may make 120 a minute, 60 at once/);
  });
});
