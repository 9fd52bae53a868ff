import { expect } from 'chai';
import { connect } from 'node:net';
import { parseAttributes, parseCategories } from '../../lib/occi/parse.js';
import { SERVICE_MANAGER_ACTOR } from '../../service-manager/registry/registry.js';
import { RecordingOrchestration } from '../support/recording-orchestration.js';
import { DEMO, KIND, RETRY_TYPE, SCHEME, useTestSm } from '../support/sm.js';

const OCCI = { 'Content-Type': 'text/occi' };

function attributesOf(body: string): Record<string, unknown> {
  const lines = body.split('\n').filter((l) => l.startsWith('X-OCCI-Attribute: '));
  return Object.fromEntries(lines.flatMap((l) => parseAttributes(l.slice(18))).map((a) => [a.name, a.value.value]));
}

describe('SM OCCI API', () => {
  let orchestration: RecordingOrchestration;
  const sm = useTestSm(() => {
    orchestration = new RecordingOrchestration();
    return { orchestration: () => orchestration };
  });

  describe('authentication', () => {
    it('answers 400 without X-Auth-Token, and without X-Tenant-Name', async () => {
      const noToken = await sm().call('GET', '/mesos/', { headers: { 'X-Tenant-Name': 'demo' } });
      expect([noToken.status, noToken.body]).to.deep.equal([400, 'No X-Auth-Token header supplied.\n']);
      const noTenant = await sm().call('GET', '/mesos/', { headers: { 'X-Auth-Token': 'demo-token' } });
      expect([noTenant.status, noTenant.body]).to.deep.equal([400, 'No X-Tenant-Name header supplied.\n']);
    });

    it('answers 401 to a token that is not valid for the tenant, query interface included', async () => {
      for (const path of ['/-/', '/mesos/', '/mesos/x']) {
        const reply = await sm().call('GET', path, { headers: { 'X-Auth-Token': 'other-token', 'X-Tenant-Name': 'demo' } });
        expect(reply.status, path).to.equal(401);
        expect(reply.body).to.equal('Token is not valid for tenant demo.\n');
        expect(reply.header('www-authenticate')).to.be.a('string');
      }
    });

    it('takes the header names in any case', async () => {
      const reply = await sm().call('GET', '/mesos/', { headers: { 'x-auth-token': 'demo-token', 'x-tenant-name': 'demo' } });
      expect(reply.status).to.equal(200);
    });
  });

  describe('protocol', () => {
    it('announces OCCI/1.2 in Server and echoes a request id', async () => {
      const reply = await sm().call('GET', '/-/', { headers: { ...DEMO, 'X-Request-Id': 'trace-42' } });
      expect(reply.header('server')).to.match(/OCCI\/1\.2$/);
      expect(reply.header('x-request-id')).to.equal('trace-42');
    });

    it('answers 501 to a client announcing a newer OCCI version', async () => {
      const reply = await sm().call('GET', '/mesos/', { headers: { ...DEMO, 'User-Agent': 'occi-client OCCI/1.3' } });
      expect(reply.status).to.equal(501);
    });

    it("renders errors in the client's rendering: the message as text/plain, text/occi, or a JSON object", async () => {
      const as = async (accept: string) => {
        const reply = await sm().call('GET', '/mesos/none', { headers: { ...DEMO, Accept: accept } });
        return [reply.status, reply.header('content-type'), reply.body];
      };
      expect(await as('text/plain')).to.deep.equal([404, 'text/plain; charset=utf-8', 'No instance none.\n']);
      expect(await as('text/occi')).to.deep.equal([404, 'text/occi; charset=utf-8', 'No instance none.\n']);
      expect(await as('application/occi+json')).to.deep.equal([404, 'application/json', '{"status":404,"message":"No instance none."}\n']);
      expect(await as('image/png'), 'nothing it accepts fits: plain text').to.deep.equal([406, 'text/plain; charset=utf-8', (await as('image/png'))[2]]);
    });

    it('answers CONNECT, which no route serves, with 405 and the methods it allows', async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(sm().url).port), '127.0.0.1', () =>
          socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString('utf8')));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer.split('\r\n')[0]).to.equal('HTTP/1.1 405 Method Not Allowed');
      expect(answer).to.contain('Allow: GET, HEAD, PUT, POST, DELETE');
    });

    it('answers 406 to an Accept it cannot render, and 404 for unknown paths', async () => {
      expect((await sm().call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'application/xml' } })).status).to.equal(406);
      expect((await sm().call('GET', '/nothing/here', { headers: DEMO })).status).to.equal(404);
    });

    it('answers 405 with Allow to methods a path does not take', async () => {
      const reply = await sm().call('PATCH', '/mesos/', { headers: DEMO });
      expect(reply.status).to.equal(405);
      expect(reply.header('allow')).to.equal('GET, POST, DELETE, HEAD');
      expect((await sm().call('PUT', '/mesos/', { headers: DEMO })).status).to.equal(405);
      expect((await sm().call('POST', '/-/', { headers: DEMO })).status).to.equal(405);
    });
  });

  describe('link collection', () => {
    it('is advertised by the query interface and lists no links', async () => {
      const reply = await sm().call('GET', '/link/', { headers: { ...DEMO, Accept: 'application/occi+json' } });
      expect(reply.status).to.equal(200);
      expect(reply.json<any>()).to.deep.equal({ resources: [] });
      expect((await sm().call('POST', '/link/', { headers: DEMO })).status).to.equal(405);
    });
  });

  describe('query interface', () => {
    it('lists the service kind with its attributes and flags, the core kinds (entity, resource, link) and the actions', async () => {
      const reply = await sm().call('GET', '/-/', { headers: DEMO });
      expect(reply.status).to.equal(200);
      expect(reply.header('content-type')).to.equal('text/plain');
      const lines = reply.body.trim().split('\n');
      expect(lines.map((l) => l.split(';')[0])).to.deep.equal([
        'Category: mesos',
        'Category: entity',
        'Category: resource',
        'Category: link',
        'Category: retry',
      ]);
      expect(lines[0], 'GFD.223: the location is a path').to.contain('location="/mesos/"');
      expect(lines[1]).to.contain('attributes="occi.core.id{immutable} occi.core.title"');
      expect(lines[2]).to.contain('rel="http://schemas.ogf.org/occi/core#entity"');
      expect(lines[3]).to.contain('attributes="occi.core.source{required} occi.core.target{required}"');
      expect(lines[0]).to.contain('mesos.agents mesos.agents.min_ready');
      expect(lines[0]).to.contain('mcn.service.state{immutable}');
      expect(lines[0]).to.contain(`actions="${RETRY_TYPE}"`);
    });

    it('serves the same categories at the well-known path', async () => {
      const a = await sm().call('GET', '/-/', { headers: { ...DEMO, Accept: 'text/occi' } });
      const b = await sm().call('GET', '/.well-known/org/ogf/occi/-/', { headers: { ...DEMO, Accept: 'text/occi' } });
      expect(b.header('category')).to.equal(a.header('category'));
      expect(parseCategories(a.header('category')!)).to.have.length(5);
      expect(a.body).to.equal('OK');
    });

    it('renders GFD.225 JSON with typed attribute properties', async () => {
      const doc = (await sm().call('GET', '/-/', { headers: { ...DEMO, Accept: 'application/occi+json' } })).json<any>();
      const mesos = doc.kinds.find((k: any) => k.term === 'mesos');
      expect(mesos.attributes['mesos.masters']).to.deep.include({ type: 'number', default: 1, mutable: true });
      expect(mesos.attributes['mesos.masters'].pattern).to.deep.equal({ type: 'integer', enum: [1, 3, 5] });
      expect(mesos.attributes['cloudstack.zone'].default).to.equal('sim-zone-1');
      expect(mesos.attributes['mesos.zk'].mutable).to.equal(false);
      expect(doc.actions.map((a: any) => a.term)).to.deep.equal(['retry']);
    });

    it('filters by a Category header', async () => {
      const filtered = async (category: string) =>
        parseCategories((await sm().call('GET', '/-/', { headers: { ...DEMO, Accept: 'text/occi', Category: category } })).header('category') ?? '').map(
          (c) => c.term,
        );
      expect(await filtered(KIND)).to.deep.equal(['mesos']);
      expect(await filtered(`retry; scheme="${RETRY_TYPE.split('#')[0]}#"`)).to.deep.equal(['retry']);
      expect(await filtered('resource; scheme="http://schemas.ogf.org/occi/core#"')).to.deep.equal(['mesos', 'resource']);
      expect(await filtered('entity; scheme="http://schemas.ogf.org/occi/core#"')).to.deep.equal(['entity', 'resource', 'link']);
      expect(await filtered('nothing; scheme="http://x#"')).to.deep.equal([]);
      const bad = await sm().call('GET', '/-/', { headers: { ...DEMO, Category: 'no scheme here' } });
      expect(bad.status).to.equal(400);
    });
  });

  describe('create', () => {
    it('answers 201 with an absolute Location and body OK, as hurtle clients expect', async () => {
      const reply = await sm().call('POST', '/mesos/', {
        headers: { ...DEMO, ...OCCI, Category: `${KIND};`, 'X-OCCI-Attribute': 'mesos.agents=3' },
      });
      expect(reply.status).to.equal(201);
      expect(reply.body).to.equal('OK');
      expect(reply.header('location')).to.match(new RegExp(`^${sm().url}/mesos/[0-9a-f-]{36}$`));
      expect(orchestration.calls.map((c) => c.call)).to.deep.equal(['created']);
    });

    it('builds the Location from the Host header the client used', async () => {
      const reply = await sm().call('POST', '/mesos/', { headers: { ...DEMO, ...OCCI, Category: KIND, Host: 'sm.example:8888' } });
      expect(reply.header('location')).to.match(/^http:\/\/sm\.example:8888\/mesos\//);
    });

    it('adds X-OCCI-Location for text/occi and renders the resource for JSON', async () => {
      const occi = await sm().call('POST', '/mesos/', { headers: { ...DEMO, ...OCCI, Category: KIND, Accept: 'text/occi' } });
      expect(occi.header('x-occi-location')).to.equal(occi.header('location'));
      const json = await sm().call('POST', '/mesos/', {
        headers: { ...DEMO, ...OCCI, Category: KIND, Accept: 'application/occi+json' },
      });
      expect(json.status).to.equal(201);
      expect(json.json<any>().attributes['mcn.service.state']).to.equal('initialise');
    });

    it('creates from a text/plain body and from application/occi+json', async () => {
      const plain = await sm().call('POST', '/mesos/', {
        headers: { ...DEMO, 'Content-Type': 'text/plain' },
        body: `Category: ${KIND}\nX-OCCI-Attribute: mesos.agents=4\n`,
      });
      expect(plain.status).to.equal(201);
      const json = await sm().call('POST', '/mesos/', {
        headers: { ...DEMO, 'Content-Type': 'application/occi+json' },
        body: JSON.stringify({ kind: `${SCHEME}mesos`, attributes: { 'mesos.agents': 5, 'mesos.marathon': false } }),
      });
      expect(json.status).to.equal(201);
      const id = json.header('location')!.split('/').pop();
      const got = await sm().call('GET', `/mesos/${id}`, { headers: DEMO });
      expect(attributesOf(got.body)).to.include({ 'mesos.agents': 5, 'mesos.marathon': false });
    });

    it('also creates at the root, where the Category decides the kind', async () => {
      const reply = await sm().call('POST', '/', { headers: { ...DEMO, ...OCCI, Category: KIND } });
      expect(reply.status).to.equal(201);
      expect(reply.header('location')).to.contain('/mesos/');
    });

    it('answers 400 naming the problem for a missing or foreign kind, mixins and bad attributes', async () => {
      const post = (headers: Record<string, string>) => sm().call('POST', '/mesos/', { headers: { ...DEMO, ...OCCI, ...headers } });
      expect((await post({})).body).to.match(/^No kind given; send Category: mesos; scheme=/);
      expect((await post({ Category: 'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"' })).body).to.match(
        /infrastructure#compute is not registered/,
      );
      expect((await post({ Category: `${KIND}, big; scheme="http://x#"; class="mixin"` })).status).to.equal(400);
      expect((await post({ Category: `retry; scheme="${RETRY_TYPE.split('#')[0]}#"; class="action"` })).status).to.equal(400);
      expect((await post({ Category: KIND, 'X-OCCI-Attribute': 'mesos.masters=2' })).body).to.match(/one of 1, 3, 5/);
      expect((await post({ Category: KIND, 'X-OCCI-Attribute': 'mcn.service.state="ready"' })).body).to.match(/set by the service/);
      expect((await post({ Category: KIND, 'X-OCCI-Attribute': 'occi.core.id="mine"' })).body).to.match(/PUT the instance/);
      expect((await post({ Category: KIND, 'X-OCCI-Attribute': 'mesos.agents="two"' })).status).to.equal(400);
      expect((await post({ Category: KIND, Link: '</x>; rel="y"' })).status).to.equal(400);
      expect(orchestration.calls).to.deep.equal([]);
    });

    it('answers 415 to form-encoded bodies', async () => {
      const reply = await sm().call('POST', '/mesos/', {
        headers: { ...DEMO, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'mesos.agents=3',
      });
      expect(reply.status).to.equal(415);
    });

    it('creates nothing when the answer cannot be rendered', async () => {
      const reply = await sm().call('POST', '/mesos/', { headers: { ...DEMO, ...OCCI, Category: KIND, Accept: 'image/png' } });
      expect(reply.status).to.equal(406);
      expect(sm().sm.registry.list('demo')).to.deep.equal([]);
    });
  });

  describe('create with a client-chosen id (PUT)', () => {
    const put = (id: string, attributes?: string, extra: Record<string, string> = {}) =>
      sm().call('PUT', `/mesos/${id}`, {
        headers: { ...DEMO, ...OCCI, Category: KIND, ...(attributes ? { 'X-OCCI-Attribute': attributes } : {}), ...extra },
      });

    it('creates once, answers a repeat with 200 and the rendering, and never creates twice', async () => {
      const first = await put('cluster-1', 'mesos.agents=3');
      expect(first.status).to.equal(201);
      expect(first.header('location')).to.equal(`${sm().url}/mesos/cluster-1`);
      const again = await put('cluster-1', 'mesos.agents=3');
      expect(again.status).to.equal(200);
      expect(attributesOf(again.body)).to.include({ 'occi.core.id': 'cluster-1', 'mesos.agents': 3 });
      expect(sm().sm.registry.list('demo')).to.have.length(1);
      expect(orchestration.calls).to.have.length(1);
    });

    it('treats spelled-out defaults as the same request', async () => {
      expect((await put('c', '')).status).to.equal(201);
      expect((await put('c', 'mesos.agents=2, mesos.masters=1, cloudstack.zone="sim-zone-1"')).status).to.equal(200);
    });

    it('takes a PUT of an existing instance as a full replace: changed updatable attributes are an update, changed fixed ones 400', async () => {
      await put('cluster-1', 'mesos.agents=3');
      const grown = await put('cluster-1', 'mesos.agents=4');
      expect(grown.status).to.equal(200);
      expect(attributesOf(grown.body)).to.include({ 'mesos.agents': 4 });
      expect(orchestration.calls.map((c) => c.call)).to.deep.equal(['created', 'reconfigured']);
      const fixed = await put('cluster-1', 'mesos.agents=4, mesos.masters=3');
      expect([fixed.status, fixed.body]).to.deep.equal([400, 'Attribute mesos.masters is fixed when the instance is created and cannot be updated (1 → 3).\n']);
      expect(sm().sm.registry.find('demo', 'cluster-1')!.attributes['mesos.masters']).to.equal(1);
    });

    it('round-trips GET, edit, PUT: outputs and unchanged attributes in the body are ignored, the edited title is applied', async () => {
      await put('round', 'mesos.agents=2, occi.core.title="a \\"quoted\\", title"');
      const got = await sm().call('GET', '/mesos/round', { headers: { ...DEMO, Accept: 'text/plain' } });
      const edited = got.body.replace(/occi\.core\.title="[^"]*"/, 'occi.core.title="renamed"');
      const replaced = await sm().call('PUT', '/mesos/round', { headers: { ...DEMO, 'Content-Type': 'text/plain' }, body: edited });
      expect([replaced.status, replaced.body.split('\n')[0]], replaced.body).to.deep.equal([200, got.body.split('\n')[0]]);
      expect(sm().sm.registry.find('demo', 'round')!.attributes['occi.core.title']).to.equal('renamed');
      const unchanged = await sm().call('PUT', '/mesos/round', {
        headers: { ...DEMO, 'Content-Type': 'text/plain' },
        body: got.body.replace(/occi\.core\.title="[^"]*"/, 'occi.core.title="renamed"'),
      });
      expect(unchanged.status).to.equal(200);
      const json = (await sm().call('GET', '/mesos/round', { headers: { ...DEMO, Accept: 'application/occi+json' } })).json<any>();
      json.title = 'in JSON';
      const jsonPut = await sm().call('PUT', '/mesos/round', { headers: { ...DEMO, 'Content-Type': 'application/occi+json' }, body: JSON.stringify(json) });
      expect(jsonPut.status, jsonPut.body).to.equal(200);
      expect(sm().sm.registry.find('demo', 'round')!.attributes['occi.core.title']).to.equal('in JSON');
    });

    it('accepts occi.core.id only when it repeats the id', async () => {
      expect((await put('same', 'occi.core.id="same"')).status).to.equal(201);
      expect((await put('diff', 'occi.core.id="other"')).status).to.equal(400);
    });

    it('refuses ids that are not URL-safe', async () => {
      expect((await put('-x')).status).to.equal(400);
      expect((await put('a%20b')).status).to.equal(400);
      expect((await put('x'.repeat(65))).status).to.equal(400);
    });
  });

  describe('list and get', () => {
    it("lists the caller's instances in every collection rendering", async () => {
      const a = await sm().create();
      const b = await sm().create();
      const urls = [`${sm().url}/mesos/${a}`, `${sm().url}/mesos/${b}`];
      const occi = await sm().call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'text/occi' } });
      expect(occi.header('x-occi-location')!.split(', ').sort()).to.deep.equal([...urls].sort());
      const plain = await sm().call('GET', '/mesos/', { headers: DEMO });
      expect(plain.body.trim().split('\n').sort()).to.deep.equal(urls.map((u) => `X-OCCI-Location: ${u}`).sort());
      const uris = await sm().call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'text/uri-list' } });
      expect(uris.header('content-type')).to.equal('text/uri-list');
      expect(uris.body.trim().split('\r\n').sort()).to.deep.equal([...urls].sort());
      const json = await sm().call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'application/occi+json' } });
      expect(
        json
          .json<any>()
          .resources.map((r: any) => r.id)
          .sort(),
      ).to.deep.equal([a, b].sort());
      const root = await sm().call('GET', '/', { headers: { ...DEMO, Accept: 'text/occi' } });
      expect(root.header('x-occi-location')).to.equal(occi.header('x-occi-location'));
    });

    it('pages a listing on request, following Link rel=next to the end, in text and JSON alike', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await sm().create());
      const walk = async (accept: string, read: (body: string, header: (name: string) => string | undefined) => string[]): Promise<string[]> => {
        const seen: string[] = [];
        let path: string | undefined = '/mesos/?limit=2';
        while (path) {
          const page = await sm().call('GET', path, { headers: { ...DEMO, Accept: accept } });
          expect(page.status, page.body).to.equal(200);
          seen.push(...read(page.body, (name) => page.header(name)));
          const next = /^<([^>]+)>; rel="next"$/.exec(page.header('link') ?? '')?.[1];
          path = next?.slice(sm().url.length);
        }
        return seen;
      };
      const uris = await walk('text/uri-list', (body) =>
        body
          .trim()
          .split('\r\n')
          .map((u) => u.split('/').pop()!),
      );
      // Oldest first; these were made in one instant of the test's clock, so by id.
      const order = [...ids].sort();
      expect(uris, 'five instances in pages of two').to.deep.equal(order);
      const json = await walk('application/occi+json', (body) => JSON.parse(body).resources.map((r: { id: string }) => r.id));
      expect(json).to.deep.equal(order);
      const whole = await sm().call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'text/uri-list' } });
      expect([whole.header('link'), whole.body.trim().split('\r\n').length], 'no limit: everything, as before').to.deep.equal([undefined, 5]);
      for (const bad of ['?limit=0', '?limit=1001', '?limit=x', '?after=nothing', '?sort=id']) {
        const reply = await sm().call('GET', `/mesos/${bad}`, { headers: DEMO });
        expect(reply.status, bad).to.equal(400);
      }
    });

    it('lists in JSON what each instance is now, an instance updated since the last listing included', async () => {
      const a = await sm().create(DEMO, 'mesos.agents=2');
      const b = await sm().create(DEMO, 'mesos.agents=2');
      const agents = async (): Promise<Record<string, unknown>> => {
        const doc = (await sm().call('GET', '/mesos/', { headers: { ...DEMO, Accept: 'application/occi+json' } })).json<{
          resources: Array<{ id: string; attributes: Record<string, unknown> }>;
        }>();
        return Object.fromEntries(doc.resources.map((r) => [r.id, r.attributes['mesos.agents']]));
      };
      expect(await agents()).to.deep.equal({ [a]: 2, [b]: 2 });
      expect((await sm().call('POST', `/mesos/${b}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=4' } })).status).to.equal(200);
      expect(await agents()).to.deep.equal({ [a]: 2, [b]: 4 });
    });

    it('renders an instance with its kind, state, message and every input', async () => {
      const id = await sm().create(DEMO, 'mesos.agents=3, occi.core.title="a \\"quoted\\", title"');
      const reply = await sm().call('GET', `/mesos/${id}`, { headers: DEMO });
      expect(reply.status).to.equal(200);
      expect(reply.body.split('\n')[0]).to.equal(`Category: mesos; scheme="${SCHEME}"; class="kind"; title="Apache Mesos cluster on Apache CloudStack"`);
      expect(attributesOf(reply.body)).to.deep.equal({
        'occi.core.id': id,
        // Text renderings write quotes and ", " so that hurtle's parsers read the value whole; JSON keeps it exact.
        'occi.core.title': "a 'quoted'; title",
        'mesos.masters': 1,
        'mesos.agents': 3,
        'mesos.agents.min_ready': 3,
        'mesos.marathon': true,
        'mesos.readiness.smoke': true,
        'mesos.autoscale': false,
        'mesos.autoscale.min': 1,
        'mesos.autoscale.max': 10,
        'mesos.autoscale.cpu_high': 0.8,
        'mesos.autoscale.cpu_low': 0.3,
        'mesos.autoscale.cooldown_s': 300,
        'cloudstack.zone': 'sim-zone-1',
        'cloudstack.template': 'ubuntu-22.04-mesos',
        'cloudstack.offering.master': 'medium',
        'cloudstack.offering.agent': 'large',
        'mcn.service.on_failure': 'delete',
        'mcn.service.state': 'initialise',
        'mcn.service.state.message': 'Accepted; waiting for the service orchestrator to start.',
      });
      const json = await sm().call('GET', `/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
      expect(json.json<any>().title).to.equal('a "quoted", title');
    });

    it('renders text/occi headers with body OK, and JSON', async () => {
      const id = await sm().create();
      const occi = await sm().call('GET', `/mesos/${id}`, { headers: { ...DEMO, Accept: 'text/occi' } });
      expect(occi.body).to.equal('OK');
      expect(parseAttributes(occi.header('x-occi-attribute')!).find((a) => a.name === 'mcn.service.state')!.value.value).to.equal('initialise');
      const json = (await sm().call('GET', `/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } })).json<any>();
      expect(json).to.deep.include({ id, kind: `${SCHEME}mesos`, actions: [] });
    });

    it('answers 400 to text/uri-list on an instance and 404 to an unknown id', async () => {
      const id = await sm().create();
      expect((await sm().call('GET', `/mesos/${id}`, { headers: { ...DEMO, Accept: 'text/uri-list' } })).status).to.equal(400);
      const missing = await sm().call('GET', '/mesos/0000', { headers: DEMO });
      expect([missing.status, missing.body]).to.deep.equal([404, 'No instance 0000.\n']);
    });
  });

  describe('update', () => {
    it('applies a partial update, answers with the rendering and tells the orchestration', async () => {
      const id = await sm().create();
      const reply = await sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=4' } });
      expect(reply.status).to.equal(200);
      expect(attributesOf(reply.body)).to.include({ 'mesos.agents': 4, 'mesos.agents.min_ready': 4 });
      expect(orchestration.calls[1]).to.deep.equal({
        call: 'reconfigured',
        id,
        changes: { 'mesos.agents': { from: 2, to: 4 } },
      });
    });

    it('puts a ready cluster into update when the orchestrator has something to apply, and only then', async () => {
      const id = await sm().create();
      const registry = sm().sm.registry;
      for (const state of ['activate', 'deploy', 'provision', 'ready'] as const) {
        const current = registry.find('demo', id)!;
        registry.change(current.uid, current.version, { state }, { actor: 'service-manager', type: 'state_changed', state });
      }
      const title = await sm().call('POST', `/mesos/${id}`, {
        headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'occi.core.title="renamed", mcn.service.on_failure="keep"' },
      });
      expect(attributesOf(title.body)).to.include({ 'mcn.service.state': 'ready', 'occi.core.title': 'renamed', 'mcn.service.on_failure': 'keep' });
      const scale = await sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=5' } });
      expect(attributesOf(scale.body)).to.include({ 'mcn.service.state': 'update', 'mcn.service.state.message': 'Updating: mesos.agents 2 → 5.' });
    });

    it('keeps an update to an instance still being built for the pipeline to apply, without changing its state', async () => {
      const id = await sm().create();
      const reply = await sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=3' } });
      expect(attributesOf(reply.body)).to.include({ 'mcn.service.state': 'initialise', 'mesos.agents': 3 });
    });

    it('answers 400 to immutable, fixed and unknown attributes and keeps the instance', async () => {
      const id = await sm().create();
      for (const attribute of ['mcn.service.state="ready"', 'mesos.masters=3', 'mesos.nodes=3', 'mesos.agents=0']) {
        const reply = await sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': attribute } });
        expect(reply.status, attribute).to.equal(400);
      }
      expect(sm().sm.registry.find('demo', id)!.version).to.equal(1);
    });

    it('answers 409 to a resize of an autoscaled cluster, unless the same update turns autoscaling off', async () => {
      const id = await sm().create(DEMO, 'mesos.autoscale=true, mesos.agents=1');
      const update = (attributes: string) => sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': attributes } });
      const refused = await update('mesos.agents=3');
      expect(refused.status).to.equal(409);
      expect(refused.body).to.match(/autoscaler sets mesos.agents; send mesos.autoscale=false/);
      expect((await update('mesos.autoscale.max=6, mesos.autoscale.cpu_high=0.9')).status, "the autoscaler's own settings").to.equal(200);
      expect(attributesOf((await update('mesos.autoscale=false, mesos.agents=3')).body)).to.include({ 'mesos.autoscale': false, 'mesos.agents': 3 });
      expect((await update('mesos.autoscale=true, mesos.agents=2')).status, 'turned on with a starting size').to.equal(200);
    });

    it('answers 400 to autoscaling bounds out of order', async () => {
      const id = await sm().create(DEMO, 'mesos.autoscale=true');
      const reply = await sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.autoscale.min=12' } });
      expect(reply.status).to.equal(400);
      expect(reply.body).to.match(/mesos.autoscale.min/);
    });

    it('takes the update as an application/occi+json resource too', async () => {
      const id = await sm().create();
      const reply = await sm().call('POST', `/mesos/${id}`, {
        headers: { ...DEMO, 'Content-Type': 'application/occi+json', Accept: 'application/occi+json' },
        body: JSON.stringify({ attributes: { 'mesos.agents': 6 }, summary: 'six agents' }),
      });
      expect(reply.status).to.equal(200);
      expect(reply.json<any>()).to.deep.include({ summary: 'six agents' });
      expect(reply.json<any>().attributes['mesos.agents']).to.equal(6);
    });

    it('answers 404 for an unknown id and 400 for unknown query parameters', async () => {
      expect((await sm().call('POST', '/mesos/none', { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=3' } })).status).to.equal(404);
      const id = await sm().create();
      expect((await sm().call('POST', `/mesos/${id}?force=1`, { headers: DEMO })).status).to.equal(400);
    });
  });

  describe('actions', () => {
    it('answers 400 to an unknown action and to one that does not apply now', async () => {
      const id = await sm().create();
      const unknown = await sm().call('POST', `/mesos/${id}?action=explode`, { headers: DEMO });
      expect([unknown.status, unknown.body]).to.deep.equal([400, 'Unknown action "explode"; the mesos kind offers: retry.\n']);
      const early = await sm().call('POST', `/mesos/${id}?action=retry`, { headers: DEMO });
      expect(early.status).to.equal(400);
      expect(early.body).to.match(/does not apply to an instance in state initialise/);
      expect((await sm().call('POST', '/mesos/?action=retry', { headers: DEMO })).status).to.equal(400);
    });

    it('retries a failed instance from the phase that failed, offering the action link only then', async () => {
      const id = await sm().create();
      const record = sm().sm.registry.find('demo', id)!;
      sm().sm.registry.change(
        record.uid,
        record.version,
        { state: 'failed', stateMessage: 'deploy timed out', failedPhase: 'initialise' },
        { actor: SERVICE_MANAGER_ACTOR, type: 'state_changed', state: 'failed' },
      );
      const failed = await sm().call('GET', `/mesos/${id}`, { headers: { ...DEMO, Accept: 'text/occi' } });
      expect(failed.header('link')).to.equal(`</mesos/${id}?action=retry>; rel="${RETRY_TYPE}"`);
      const reply = await sm().call('POST', `/mesos/${id}?action=retry`, {
        headers: { ...DEMO, ...OCCI, Category: `retry; scheme="${RETRY_TYPE.split('#')[0]}#"; class="action"` },
      });
      expect(reply.status).to.equal(200);
      expect(attributesOf(reply.body)['mcn.service.state']).to.equal('initialise');
      expect(orchestration.calls.map((c) => c.call)).to.deep.equal(['created', 'retried']);
    });

    it('answers 400 when the Category names another action', async () => {
      const id = await sm().create();
      const reply = await sm().call('POST', `/mesos/${id}?action=retry`, { headers: { ...DEMO, ...OCCI, Category: KIND } });
      expect(reply.status).to.equal(400);
    });
  });

  describe('delete', () => {
    it('keeps the instance visible in destroy until the teardown is confirmed, then 404', async () => {
      const id = await sm().create();
      const reply = await sm().call('DELETE', `/mesos/${id}`, { headers: DEMO });
      expect([reply.status, reply.body]).to.deep.equal([200, 'OK']);
      const during = await sm().call('GET', `/mesos/${id}`, { headers: DEMO });
      expect(attributesOf(during.body)['mcn.service.state']).to.equal('destroy');
      expect((await sm().call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
      expect(orchestration.calls.filter((c) => c.call === 'deleteRequested')).to.have.length(1);
      const record = sm().sm.registry.find('demo', id)!;
      sm().sm.registry.remove(record.uid, record.version, { actor: SERVICE_MANAGER_ACTOR, type: 'removed' });
      expect((await sm().call('GET', `/mesos/${id}`, { headers: DEMO })).status).to.equal(404);
      expect((await sm().call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(404);
    });

    it('refuses updates and repeated PUTs while the instance is being deleted', async () => {
      await sm().call('PUT', '/mesos/going', { headers: { ...DEMO, ...OCCI, Category: KIND } });
      await sm().call('DELETE', '/mesos/going', { headers: DEMO });
      const update = await sm().call('POST', '/mesos/going', { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=3' } });
      expect(update.status).to.equal(409);
      expect((await sm().call('PUT', '/mesos/going', { headers: { ...DEMO, ...OCCI, Category: KIND } })).status).to.equal(409);
    });

    it("deletes all of the caller's instances on DELETE of the collection", async () => {
      await sm().create();
      await sm().create();
      const mistaken = await sm().call('DELETE', '/mesos/?id=one', { headers: DEMO });
      expect([mistaken.status, mistaken.body], 'a query it does not understand deletes nothing').to.deep.equal([
        400,
        'Unknown query parameter "id"; only ?action=<term> is understood.\n',
      ]);
      expect(
        sm()
          .sm.registry.list('demo')
          .map((r) => r.state),
      ).to.deep.equal(['initialise', 'initialise']);
      const reply = await sm().call('DELETE', '/mesos/', { headers: { ...DEMO, Accept: 'text/uri-list' } });
      expect(reply.status).to.equal(200);
      expect(reply.body.trim().split('\r\n')).to.have.length(2);
      expect(
        sm()
          .sm.registry.list('demo')
          .map((r) => r.state),
      ).to.deep.equal(['destroy', 'destroy']);
    });

    it('renders the instance in destroy for JSON clients', async () => {
      const id = await sm().create();
      const reply = await sm().call('DELETE', `/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
      expect(reply.json<any>().attributes['mcn.service.state']).to.equal('destroy');
    });
  });

  describe('event history', () => {
    it('returns every change as JSON, oldest first, with time, actor and what changed', async () => {
      const id = await sm().create(DEMO, 'mesos.agents=3');
      sm().clock.advance(5000);
      await sm().call('POST', `/mesos/${id}`, { headers: { ...DEMO, ...OCCI, 'X-OCCI-Attribute': 'mesos.agents=5' } });
      await sm().call('DELETE', `/mesos/${id}`, { headers: DEMO });
      const reply = await sm().call('GET', `/mesos/${id}/events`, { headers: DEMO });
      expect(reply.status).to.equal(200);
      expect(reply.header('content-type')).to.equal('application/json');
      const events = reply.json<any[]>();
      expect(events.map((e) => e.type)).to.deep.equal(['created', 'updated', 'delete_requested']);
      expect(events.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
      expect(events[0]).to.include({ actor: 'demo', state: 'initialise', time: '2026-01-01T00:00:00.000Z' });
      expect(events[0].changes['mesos.agents']).to.deep.equal({ to: 3 });
      expect(events[1]).to.deep.include({ time: '2026-01-01T00:00:05.000Z', changes: { 'mesos.agents': { from: 3, to: 5 } } });
      expect(events[2]).to.include({ state: 'destroy' });
    });

    it('pages the history: ?limit (default 100, at most 1000) and ?after an event number, with a Link to the next page', async () => {
      const id = await sm().create(DEMO, 'mesos.agents=1');
      const registry = sm().sm.registry;
      const uid = registry.find('demo', id)!.uid;
      for (let i = 0; i < 149; i++) registry.addEvent(uid, { actor: 'service-manager', type: 'progress', message: `step ${i}` });
      const first = await sm().call('GET', `/mesos/${id}/events`, { headers: DEMO });
      expect(first.json<any[]>().map((e) => e.seq)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(first.header('link')).to.equal(`<${sm().url}/mesos/${id}/events?after=100&limit=100>; rel="next"`);
      const next = await sm().call('GET', new URL(/<([^>]+)>/.exec(first.header('link')!)![1]).pathname + '?after=100&limit=100', { headers: DEMO });
      expect(next.json<any[]>().map((e) => e.seq)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 101));
      expect(next.header('link'), 'no page after the last').to.equal(undefined);
      const small = await sm().call('GET', `/mesos/${id}/events?after=147&limit=2`, { headers: DEMO });
      expect(small.json<any[]>().map((e) => e.message)).to.deep.equal(['step 146', 'step 147']);
      expect(small.header('link')).to.equal(`<${sm().url}/mesos/${id}/events?after=149&limit=2>; rel="next"`);
      for (const [query, message] of [
        ['limit=0', '?limit must be a whole number from 1 to 1000.'],
        ['limit=1001', '?limit must be a whole number from 1 to 1000.'],
        ['after=-1', '?after must be a whole number from 0 to 9007199254740991.'],
        ['page=2', 'Unknown query parameter "page"; the history takes ?after=<event number> and ?limit=<1-1000>.'],
      ]) {
        const bad = await sm().call('GET', `/mesos/${id}/events?${query}`, { headers: DEMO });
        expect([bad.status, bad.body], query).to.deep.equal([400, `${message}\n`]);
      }
    });

    it('answers 406 to non-JSON Accept and 404 for unknown ids', async () => {
      const id = await sm().create();
      expect((await sm().call('GET', `/mesos/${id}/events`, { headers: { ...DEMO, Accept: 'text/occi' } })).status).to.equal(406);
      expect((await sm().call('GET', '/mesos/none/events', { headers: DEMO })).status).to.equal(404);
    });
  });
});
