import { expect } from 'chai';
import { HttpError } from '../../lib/http-errors.js';
import { CORE_KINDS, RESOURCE_TYPE, type Entity, type Kind } from '../../lib/occi/model.js';
import { checkClientVersion, negotiate } from '../../lib/occi/negotiate.js';
import { parseAttributes, parseCategories } from '../../lib/occi/parse.js';
import { collectionRepresentation, createdRepresentation, entityRepresentation, queryInterfaceRepresentation } from '../../lib/occi/representation.js';
import { renderKind } from '../../lib/occi/render-text.js';
import { clusterTextForms } from '../../lib/cluster/text-forms.js';
import { readableByHurtle } from '../../lib/occi/text-values.js';
import { expectHurtleReads, hurtleReads } from '../support/hurtle-rules.js';

const retry = { scheme: 'http://x/sm/demo/action#', term: 'retry', title: 'Retry', attributes: [] };
const kind: Kind = {
  scheme: 'http://x/sm#',
  term: 'demo',
  title: 'Demo service',
  parent: RESOURCE_TYPE,
  location: '/demo/',
  attributes: [
    { name: 'demo.size', type: 'integer', required: true, mutable: true, default: 2, pattern: { type: 'integer', minimum: 1 } },
    { name: 'demo.state', type: 'string', required: false, mutable: false, description: 'state' },
  ],
  actions: [retry],
};
const entity: Entity = {
  id: 'abc',
  location: '/demo/abc',
  kind,
  attributes: [
    ['occi.core.id', 'abc'],
    ['occi.core.title', 'say "hi", twice'],
    ['demo.size', 3],
    ['demo.flag', true],
  ],
  actions: [retry],
};
const plain = { rendering: 'text/plain', contentType: 'text/plain' } as const;
const occi = { rendering: 'text/occi', contentType: 'text/occi' } as const;
const json = { rendering: 'application/occi+json', contentType: 'application/occi+json' } as const;
const uris = { rendering: 'text/uri-list', contentType: 'text/uri-list' } as const;

describe('OCCI text rendering', () => {
  it("renders a kind as GFD.223 names it: the collection's path as location, flagged attributes, actions", () => {
    expect(renderKind(kind)).to.equal(
      'demo; scheme="http://x/sm#"; class="kind"; title="Demo service"; rel="http://schemas.ogf.org/occi/core#resource"; ' +
        'location="/demo/"; attributes="demo.size{required} demo.state{immutable}"; ' +
        'actions="http://x/sm/demo/action#retry"',
    );
  });

  it('renders an entity in text/occi headers with body OK and typed values every hurtle parser reads whole', () => {
    const rep = entityRepresentation(occi, entity);
    expect(rep.body).to.equal('OK');
    expect(rep.headers['Content-Type']).to.equal('text/occi');
    expect(rep.headers['Category']).to.equal('demo; scheme="http://x/sm#"; class="kind"; title="Demo service"');
    expect(rep.headers['Link']).to.equal('</demo/abc?action=retry>; rel="http://x/sm/demo/action#retry"');
    expect(rep.headers['X-OCCI-Attribute']).to.equal('occi.core.id="abc", occi.core.title="say \'hi\'; twice", demo.size=3, demo.flag=true');
    expect([...hurtleReads(rep.headers['X-OCCI-Attribute'])]).to.deep.equal([
      ['occi.core.id', 'abc'],
      ['occi.core.title', "say 'hi'; twice"],
      ['demo.size', '3'],
      ['demo.flag', 'true'],
    ]);
  });

  it('writes what would break hurtle\'s split on ", " and "=" or show pyssf a backslash as "; ", ":", an apostrophe and "/"', () => {
    const nasty = 'ready: leader 127.10.0.2, 3 of 3 agents active, a=b; "quoted" C:\\dir';
    expect(readableByHurtle(nasty)).to.equal("ready: leader 127.10.0.2; 3 of 3 agents active; a:b; 'quoted' C:/dir");
    const rep = entityRepresentation(occi, { ...entity, attributes: [['demo.message', nasty]] });
    expect(() => expectHurtleReads(rep.headers['X-OCCI-Attribute'])).to.not.throw();
    expect(hurtleReads(rep.headers['X-OCCI-Attribute']).get('demo.message')).to.equal(readableByHurtle(nasty));
    expect(entityRepresentation(json, { ...entity, attributes: [['demo.message', nasty]] }).body, 'JSON keeps it exact').to.contain(JSON.stringify(nasty));
  });

  it("renders a cluster's structured outputs in their text forms: agents as addresses, health events as a count and the latest", () => {
    const nodes = JSON.stringify([
      { slot: 'a1', address: '127.10.0.3', active: true },
      { slot: 'a2', address: '127.10.0.4', active: false },
    ]);
    const events = JSON.stringify([
      { seq: 1, time: 1, kind: 'degraded', message: 'agent 2 of 2 (127.10.0.4), lost' },
      { seq: 2, time: 2, kind: 'healed', message: 'whole again' },
    ]);
    const outputs = { 'mesos.agents.nodes': nodes, 'mesos.cluster.events': events };
    const withForms: Entity = { ...entity, attributes: Object.entries(outputs), textForms: clusterTextForms(outputs) };
    const read = hurtleReads(entityRepresentation(occi, withForms).headers['X-OCCI-Attribute']);
    expect(read.get('mesos.agents.nodes')).to.equal('127.10.0.3 127.10.0.4');
    expect(read.get('mesos.cluster.events')).to.equal('2 events; the latest: whole again');
    expect(JSON.parse(entityRepresentation(json, withForms).body).attributes['mesos.agents.nodes']).to.equal(nodes);
  });

  it('round-trips its own attribute rendering through the parser, as the text renderings show the values', () => {
    const header = entityRepresentation(occi, entity).headers['X-OCCI-Attribute'];
    expect(parseAttributes(header).map((a) => [a.name, a.value.value])).to.deep.equal(
      entity.attributes.map(([n, v]) => [n, typeof v === 'string' ? readableByHurtle(v) : v]),
    );
  });

  it('renders text/plain as one line per item', () => {
    const body = entityRepresentation(plain, entity).body;
    expect(body.split('\n')).to.deep.equal([
      'Category: demo; scheme="http://x/sm#"; class="kind"; title="Demo service"',
      'Link: </demo/abc?action=retry>; rel="http://x/sm/demo/action#retry"',
      'X-OCCI-Attribute: occi.core.id="abc"',
      'X-OCCI-Attribute: occi.core.title="say \'hi\'; twice"',
      'X-OCCI-Attribute: demo.size=3',
      'X-OCCI-Attribute: demo.flag=true',
      '',
    ]);
  });

  it('writes non-ASCII header values as UTF-8 bytes', () => {
    const rep = entityRepresentation(occi, { ...entity, attributes: [['occi.core.title', 'Zürich']] });
    expect(Buffer.from(rep.headers['X-OCCI-Attribute'], 'latin1').toString('utf8')).to.equal('occi.core.title="Zürich"');
  });

  it('renders collections as X-OCCI-Location, text lines or a URI list', () => {
    const two = [entity, { ...entity, id: 'def', location: '/demo/def' }];
    expect(collectionRepresentation(occi, two, 'http://h').headers['X-OCCI-Location']).to.equal('http://h/demo/abc, http://h/demo/def');
    expect(collectionRepresentation(plain, two, 'http://h').body).to.equal('X-OCCI-Location: http://h/demo/abc\nX-OCCI-Location: http://h/demo/def\n');
    expect(collectionRepresentation(uris, two, 'http://h').body).to.equal('http://h/demo/abc\r\nhttp://h/demo/def\r\n');
  });

  it('renders an empty collection without location lines', () => {
    expect(collectionRepresentation(occi, [], 'http://h').headers).to.not.have.property('X-OCCI-Location');
    expect(collectionRepresentation(plain, [], 'http://h').body).to.equal('');
  });

  it('answers a create with OK, Location and, for text/occi, X-OCCI-Location', () => {
    const rep = createdRepresentation(occi, entity, 'http://h/demo/abc');
    expect(rep.body).to.equal('OK');
    expect(rep.headers['Location']).to.equal('http://h/demo/abc');
    expect(rep.headers['X-OCCI-Location']).to.equal('http://h/demo/abc');
  });

  it('renders the query interface as categories that parse back', () => {
    const rep = queryInterfaceRepresentation(occi, [kind, ...CORE_KINDS], [retry]);
    expect(parseCategories(rep.headers['Category']).map((c) => `${c.class}:${c.term}`)).to.deep.equal([
      'kind:demo',
      'kind:entity',
      'kind:resource',
      'kind:link',
      'action:retry',
    ]);
  });
});

describe('OCCI JSON rendering (GFD.225)', () => {
  it('renders a resource with kind, typed attributes, action ids and core members', () => {
    expect(JSON.parse(entityRepresentation(json, entity).body)).to.deep.equal({
      kind: 'http://x/sm#demo',
      mixins: [],
      attributes: { 'demo.size': 3, 'demo.flag': true },
      actions: ['http://x/sm/demo/action#retry'],
      id: 'abc',
      title: 'say "hi", twice',
    });
  });

  it('renders the query interface with attribute properties', () => {
    const doc = JSON.parse(queryInterfaceRepresentation(json, [kind], [retry]).body);
    expect(doc.kinds[0]).to.deep.equal({
      term: 'demo',
      scheme: 'http://x/sm#',
      title: 'Demo service',
      attributes: {
        'demo.size': { mutable: true, required: true, type: 'number', default: 2, pattern: { type: 'integer', minimum: 1 } },
        'demo.state': { mutable: false, required: false, type: 'string', description: 'state' },
      },
      actions: ['http://x/sm/demo/action#retry'],
      parent: 'http://schemas.ogf.org/occi/core#resource',
      location: '/demo/',
    });
    expect(doc.actions).to.deep.equal([{ term: 'retry', scheme: 'http://x/sm/demo/action#', title: 'Retry', attributes: {} }]);
    expect(doc.mixins).to.deep.equal([]);
  });

  it('renders a collection under "resources"', () => {
    expect(JSON.parse(collectionRepresentation(json, [entity], 'http://h').body).resources).to.have.length(1);
  });
});

describe('OCCI content negotiation', () => {
  const status = (fn: () => unknown): number => {
    try {
      fn();
    } catch (error) {
      return (error as HttpError).status;
    }
    return 0;
  };

  it('defaults to text/plain for a missing Accept or */*', () => {
    expect(negotiate(undefined, false).rendering).to.equal('text/plain');
    expect(negotiate('*/*', false).rendering).to.equal('text/plain');
  });

  it('honours quality values and skips q=0', () => {
    expect(negotiate('text/plain;q=0.5, application/occi+json', false).rendering).to.equal('application/occi+json');
    expect(negotiate('text/occi;q=0, text/plain', false).rendering).to.equal('text/plain');
  });

  it('maps application/json to the JSON rendering but answers with the type asked for', () => {
    expect(negotiate('application/json', false)).to.deep.equal({
      rendering: 'application/occi+json',
      contentType: 'application/json',
    });
  });

  it('offers text/uri-list for listings only; alone on an entity it is a 400', () => {
    expect(negotiate('text/uri-list', true).rendering).to.equal('text/uri-list');
    expect(negotiate('text/uri-list, text/occi', false).rendering).to.equal('text/occi');
    expect(status(() => negotiate('text/uri-list', false))).to.equal(400);
  });

  it('answers 406 to media types it cannot produce', () => {
    expect(status(() => negotiate('application/xml', false))).to.equal(406);
  });

  it('answers 501 to clients announcing a newer OCCI version', () => {
    expect(status(() => checkClientVersion('curl/8 OCCI/1.3'))).to.equal(501);
    expect(status(() => checkClientVersion('client OCCI/2.0'))).to.equal(501);
    expect(status(() => checkClientVersion('pOCCI OCCI/1.1'))).to.equal(0);
    expect(status(() => checkClientVersion('OCCI/1.2'))).to.equal(0);
  });
});
