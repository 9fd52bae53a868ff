import { expect } from 'chai';
import { DEMO, KIND, OTHER, useTestSm } from '../support/sm.js';

type Headers = Record<string, string>;

/** Every route that names an instance, as one tenant would call it on another's id. */
const ROUTES: ReadonlyArray<{ name: string; method: string; path: (id: string) => string; headers?: Headers }> = [
  { name: 'get', method: 'GET', path: (id) => `/mesos/${id}` },
  { name: 'get as JSON', method: 'GET', path: (id) => `/mesos/${id}`, headers: { Accept: 'application/occi+json' } },
  { name: 'events', method: 'GET', path: (id) => `/mesos/${id}/events` },
  {
    name: 'update',
    method: 'POST',
    path: (id) => `/mesos/${id}`,
    headers: { 'Content-Type': 'text/occi', 'X-OCCI-Attribute': 'mesos.agents=7' },
  },
  { name: 'action', method: 'POST', path: (id) => `/mesos/${id}?action=retry` },
  { name: 'unknown action', method: 'POST', path: (id) => `/mesos/${id}?action=nope` },
  { name: 'delete', method: 'DELETE', path: (id) => `/mesos/${id}` },
];

const TENANTS: ReadonlyArray<[string, Headers, string, Headers]> = [
  ['demo', DEMO, 'other', OTHER],
  ['other', OTHER, 'demo', DEMO],
];

describe('SM tenant isolation', () => {
  const sm = useTestSm();

  for (const [ownerName, owner, strangerName, stranger] of TENANTS) {
    describe(`${strangerName} calling on ${ownerName}'s instance`, () => {
      for (const route of ROUTES) {
        it(`${route.name}: answers exactly as for an unknown id and changes nothing`, async () => {
          const id = await sm().create(owner);
          const before = sm().sm.registry.find(ownerName, id)!;
          const foreign = await sm().call(route.method, route.path(id), { headers: { ...stranger, ...route.headers } });
          const unknown = await sm().call(route.method, route.path('00000000-0000-0000-0000-000000000000'), {
            headers: { ...stranger, ...route.headers },
          });
          expect(foreign.status).to.equal(unknown.status === 400 ? 400 : 404);
          expect(foreign.body.replace(id, '<id>')).to.equal(unknown.body.replace('00000000-0000-0000-0000-000000000000', '<id>'));
          expect(sm().sm.registry.find(ownerName, id)).to.deep.equal(before);
        });
      }

      it('list, root list and collection delete never show or touch the instance', async () => {
        const id = await sm().create(owner);
        const list = await sm().call('GET', '/mesos/', { headers: { ...stranger, Accept: 'text/uri-list' } });
        expect(list.body).to.equal('');
        const root = await sm().call('GET', '/', { headers: { ...stranger, Accept: 'application/occi+json' } });
        expect(root.json<any>().resources).to.deep.equal([]);
        await sm().call('DELETE', '/mesos/', { headers: stranger });
        expect(sm().sm.registry.find(ownerName, id)!.state).to.equal('initialise');
      });

      it("PUT with the same id makes the caller's own instance and leaves the other untouched", async () => {
        await sm().call('PUT', '/mesos/shared-name', { headers: { ...owner, 'Content-Type': 'text/occi', Category: KIND } });
        const before = sm().sm.registry.find(ownerName, 'shared-name')!;
        const reply = await sm().call('PUT', '/mesos/shared-name', {
          headers: { ...stranger, 'Content-Type': 'text/occi', Category: KIND, 'X-OCCI-Attribute': 'mesos.agents=9' },
        });
        expect(reply.status).to.equal(201);
        expect(sm().sm.registry.find(ownerName, 'shared-name')).to.deep.equal(before);
        expect(sm().sm.registry.find(strangerName, 'shared-name')!.attributes['mesos.agents']).to.equal(9);
      });
    });
  }
});
