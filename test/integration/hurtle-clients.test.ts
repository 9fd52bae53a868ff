import { expect } from 'chai';
import { RecordingOrchestration } from '../support/recording-orchestration.js';
import { DEMO, SCHEME, useTestSm } from '../support/sm.js';

const JSON_ACCEPT = { ...DEMO, Accept: 'application/occi+json' };

describe("SM for hurtle's code (json_dialect = pyssf)", () => {
  const sm = useTestSm(() => ({ orchestration: () => new RecordingOrchestration(), extraConfig: '[service_manager]\njson_dialect = pyssf' }));

  it("gives hurtle's dependency lookup the mesos kind: the last category of the query interface list that has related", async () => {
    const registry = (await sm().call('GET', '/-/', { headers: JSON_ACCEPT })).json<Array<Record<string, any>>>();
    expect(registry).to.be.an('array');
    const category = registry.filter((c) => 'related' in c).pop()!;
    expect(category).to.deep.include({ term: 'mesos', scheme: SCHEME, related: ['http://schemas.ogf.org/occi/core#resource'], location: '/mesos/' });
    expect(category, 'hurtle builds its Kind from all of these').to.include.all.keys('scheme', 'term', 'related', 'title', 'attributes', 'location');
    expect(category['attributes']).to.deep.include({ 'mesos.agents': 'muttable', 'mesos.zk': 'immutable' });
    expect(category['actions']).to.deep.equal([`${SCHEME.replace('#', '/mesos/action#')}retry`]);
    expect(registry.map((c) => c['term'])).to.deep.equal(['entity', 'resource', 'link', 'mesos', 'retry']);
  });

  it('renders an instance with every attribute, its id included, in attributes, and a listing as a plain list', async () => {
    const id = await sm().create(DEMO, 'mesos.agents=2');
    const entity = (await sm().call('GET', `/mesos/${id}`, { headers: JSON_ACCEPT })).json<Record<string, any>>();
    expect(entity['attributes']).to.deep.include({ 'occi.core.id': id, 'mcn.service.state': 'initialise', 'mesos.agents': 2 });
    expect(entity['kind']).to.deep.include({ term: 'mesos', location: '/mesos/' });
    expect(entity).to.include.all.keys('mixins', 'actions', 'links');
    const listing = (await sm().call('GET', '/mesos/', { headers: JSON_ACCEPT })).json<Array<Record<string, any>>>();
    expect(listing.map((e) => e['attributes']['occi.core.id'])).to.deep.equal([id]);
  });

  it('keeps text/occi and the error rendering as they are', async () => {
    const text = await sm().call('GET', '/-/', { headers: { ...DEMO, Accept: 'text/occi' } });
    expect(text.header('category')).to.contain(`mesos; scheme="${SCHEME}"; class="kind"`);
    const missing = await sm().call('GET', '/mesos/none', { headers: JSON_ACCEPT });
    expect([missing.status, missing.json<Record<string, unknown>>()]).to.deep.equal([404, { status: 404, message: 'No instance none.' }]);
  });
});
