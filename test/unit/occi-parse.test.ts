import { expect } from 'chai';
import { rejectedWith } from '../support/expect.js';
import { parseAttributes, parseCategories, parseUriList } from '../../lib/occi/parse.js';
import { readOcciRequest } from '../../lib/occi/request.js';
import * as hurtle from '../fixtures/hurtle.js';

const badRequest = (fn: () => unknown): string => rejectedWith(400, fn);

describe('OCCI Category parsing', () => {
  it('reads the create Category hurtle clients send, trailing semicolon included', () => {
    expect(parseCategories(hurtle.CREATE_CATEGORY)).to.deep.equal([
      { term: 'demo', scheme: 'http://schemas.mobile-cloud-networking.eu/occi/sm#', class: 'kind' },
    ]);
  });

  it('reads a query interface answer with locations, attribute lists and several categories', () => {
    const categories = parseCategories(hurtle.QUERY_CATEGORIES);
    expect(categories.map((c) => c.term)).to.deep.equal(['link', 'demo']);
    expect(categories[1].scheme).to.equal('http://schemas.mobile-cloud-networking.eu/occi/sm#');
  });

  it('accepts a bare class and parameters in any case', () => {
    expect(parseCategories('mesos; SCHEME="s#"; class=kind')).to.deep.equal([{ term: 'mesos', scheme: 's#', class: 'kind' }]);
  });

  it('keeps commas inside quoted titles from splitting categories', () => {
    const categories = parseCategories('a; scheme="s#"; title="one, two", b; scheme="s#"');
    expect(categories.map((c) => c.term)).to.deep.equal(['a', 'b']);
  });

  it('rejects a category without a scheme', () => {
    expect(badRequest(() => parseCategories('mesos; class="kind"'))).to.match(/no scheme/);
  });

  it('rejects a malformed term', () => {
    expect(badRequest(() => parseCategories('"mesos"; scheme="s#"'))).to.match(/valid term/);
  });

  it('rejects an unknown class', () => {
    expect(badRequest(() => parseCategories('mesos; scheme="s#"; class="thing"'))).to.match(/class "thing"/);
  });

  it('rejects unknown and repeated parameters', () => {
    expect(badRequest(() => parseCategories('mesos; scheme="s#"; colour="red"'))).to.match(/unknown parameter "colour"/);
    expect(badRequest(() => parseCategories('mesos; scheme="s#"; scheme="t#"'))).to.match(/scheme twice/);
  });

  it('rejects an unterminated quote', () => {
    expect(badRequest(() => parseCategories('mesos; scheme="s#'))).to.match(/unterminated/);
  });
});

describe('OCCI X-OCCI-Attribute parsing', () => {
  it('types values lexically: quoted strings, bare numbers and booleans', () => {
    expect(parseAttributes('a="x", b=3, c=1.5, d=true, e=false, f=-2')).to.deep.equal([
      { name: 'a', value: { lexical: 'string', value: 'x' } },
      { name: 'b', value: { lexical: 'number', value: 3, text: '3' } },
      { name: 'c', value: { lexical: 'number', value: 1.5, text: '1.5' } },
      { name: 'd', value: { lexical: 'boolean', value: true } },
      { name: 'e', value: { lexical: 'boolean', value: false } },
      { name: 'f', value: { lexical: 'number', value: -2, text: '-2' } },
    ]);
  });

  it('reads the attributes of the hurtle create transcript', () => {
    expect(parseAttributes(hurtle.CREATE_ATTRIBUTES)).to.deep.equal([
      { name: 'foo.bar', value: { lexical: 'string', value: 'baz' } },
      { name: 'num.val', value: { lexical: 'number', value: 3, text: '3' } },
    ]);
  });

  it('reads every attribute of a hurtle instance rendering', () => {
    const attributes = parseAttributes(hurtle.RETRIEVED_ATTRIBUTES);
    expect(attributes).to.have.length(9);
    expect(attributes.find((a) => a.name === 'occi.mcn.stack.id')!.value.value).to.equal('RegionOne:b2c3d4e5-0000-4000-8000-000000000001');
    expect(attributes.find((a) => a.name === 'mcn.endpoint.p2.RegionOne')!.value.value).to.equal('10.0.0.2');
  });

  it('keeps escaped quotes and commas inside a quoted value', () => {
    expect(parseAttributes(hurtle.ESCAPED_QUOTES)).to.deep.equal([
      { name: 'occi.core.title', value: { lexical: 'string', value: 'How\'s your quotes escaping? ", occi.compute.memory=1.0' } },
    ]);
  });

  it('keeps an equals sign inside a value', () => {
    expect(parseAttributes('a="x=y"')[0].value.value).to.equal('x=y');
  });

  it('reads bare words as tokens, as hurtle service managers forward values', () => {
    expect(parseAttributes('zone=zone-1')[0].value).to.deep.equal({ lexical: 'token', value: 'zone-1' });
  });

  it('ignores empty items from a trailing comma', () => {
    expect(parseAttributes('a=1, ')).to.have.length(1);
  });

  it('rejects a pair without a value, or without a name', () => {
    expect(badRequest(() => parseAttributes('a='))).to.match(/no value/);
    expect(badRequest(() => parseAttributes('=3'))).to.match(/name=value/);
    expect(badRequest(() => parseAttributes('justaname'))).to.match(/name=value/);
  });

  it('rejects bad names', () => {
    expect(badRequest(() => parseAttributes('a..b=1'))).to.match(/not a valid attribute name/);
  });

  it('reads unquoted text, inner spaces included, as hurtle forwards it, and still refuses stray quotes', () => {
    expect(parseAttributes('a=two words, b=Ubuntu 22.04 (Mesos)').map((x) => x.value)).to.deep.equal([
      { lexical: 'token', value: 'two words' },
      { lexical: 'token', value: 'Ubuntu 22.04 (Mesos)' },
    ]);
    expect(badRequest(() => parseAttributes('a=it"s'))).to.match(/unterminated/);
    expect(badRequest(() => parseAttributes('a=it\\s'))).to.match(/malformed value/);
  });

  it('rejects text after a closing quote', () => {
    expect(badRequest(() => parseAttributes('a="x"y'))).to.match(/after its closing quote/);
  });

  it('rejects numbers out of range', () => {
    expect(badRequest(() => parseAttributes('a=1e999'))).to.match(/out of range/);
  });
});

describe('OCCI link and location lists', () => {
  it('splits action links outside quotes', () => {
    expect(parseUriList(`${hurtle.PROVISION_LINK}, </x?action=y>; rel="s#y"`, 'Link')).to.have.length(2);
  });
});

describe('OCCI request reading', () => {
  const none = () => undefined;
  const headers = (values: Record<string, string>) => (name: string) => values[name];

  it('reads text/occi from headers', () => {
    const request = readOcciRequest({
      contentType: 'text/occi',
      header: headers({ category: hurtle.CREATE_CATEGORY, 'x-occi-attribute': hurtle.CREATE_ATTRIBUTES }),
      body: Buffer.from('ignored'),
    });
    expect(request.categories[0].term).to.equal('demo');
    expect(request.attributes).to.have.length(2);
  });

  it('reads text/plain body lines, joining repeated attribute lines', () => {
    const body = `Category: ${hurtle.CREATE_CATEGORY}\r\nX-OCCI-Attribute: foo.bar="baz"\nx-occi-attribute: num.val=3\n\n`;
    const request = readOcciRequest({ contentType: 'text/plain; charset=utf-8', header: none, body: Buffer.from(body) });
    expect(request.categories).to.have.length(1);
    expect(request.attributes.map((a) => a.name)).to.deep.equal(['foo.bar', 'num.val']);
  });

  it('reads headers when there is no Content-Type and no body, as curl sends', () => {
    const request = readOcciRequest({ contentType: undefined, header: headers({ category: hurtle.CREATE_CATEGORY }), body: Buffer.alloc(0) });
    expect(request.categories).to.have.length(1);
  });

  it('reads an application/occi+json resource with core members', () => {
    const body = JSON.stringify({
      kind: 'http://schemas.mobile-cloud-networking.eu/occi/sm#mesos',
      attributes: { 'mesos.agents': 3, 'mesos.marathon': false },
      title: 'mine',
    });
    const request = readOcciRequest({ contentType: 'application/occi+json', header: none, body: Buffer.from(body) });
    expect(request.categories).to.deep.equal([{ scheme: 'http://schemas.mobile-cloud-networking.eu/occi/sm#', term: 'mesos', class: 'kind' }]);
    expect(request.attributes).to.deep.equal([
      { name: 'mesos.agents', value: { lexical: 'json', value: 3 } },
      { name: 'mesos.marathon', value: { lexical: 'json', value: false } },
      { name: 'occi.core.title', value: { lexical: 'json', value: 'mine' } },
    ]);
  });

  it('reads a JSON action invocation and a one-resource collection', () => {
    const action = readOcciRequest({
      contentType: 'application/occi+json',
      header: none,
      body: Buffer.from('{"action": "http://x/action#retry"}'),
    });
    expect(action.categories).to.deep.equal([{ scheme: 'http://x/action#', term: 'retry', class: 'action' }]);
    const one = readOcciRequest({
      contentType: 'application/occi+json',
      header: none,
      body: Buffer.from('{"resources": [{"kind": "s#mesos"}]}'),
    });
    expect(one.categories[0].term).to.equal('mesos');
  });

  it('rejects malformed JSON, non-objects, nested values and unknown members', () => {
    const json = (text: string) => () => readOcciRequest({ contentType: 'application/occi+json', header: none, body: Buffer.from(text) });
    expect(badRequest(json('{'))).to.match(/not valid JSON/);
    expect(badRequest(json('[]'))).to.match(/must be an object/);
    expect(badRequest(json('{"attributes": {"a": {"b": 1}}}'))).to.match(/string, number or boolean/);
    expect(badRequest(json('{"attributes": {"a": null}}'))).to.match(/string, number or boolean/);
    expect(badRequest(json('{"colour": "red"}'))).to.match(/unknown member "colour"/);
    expect(badRequest(json('{"kind": "nohash"}'))).to.match(/<scheme>#<term>/);
    expect(badRequest(json('{"resources": [{}, {}]}'))).to.match(/exactly one/);
  });

  it('rejects a body that is not UTF-8', () => {
    const fn = () => readOcciRequest({ contentType: 'text/plain', header: none, body: Buffer.from([0x43, 0xff, 0xfe]) });
    expect(badRequest(fn)).to.match(/UTF-8/);
  });

  it('rejects body lines that are not OCCI header lines', () => {
    const fn = () => readOcciRequest({ contentType: 'text/plain', header: none, body: Buffer.from('hello world') });
    expect(badRequest(fn)).to.match(/not a Category/);
  });

  it('answers 415 for other media types, such as curl -d form data', () => {
    rejectedWith(415, () => readOcciRequest({ contentType: 'application/x-www-form-urlencoded', header: none, body: Buffer.from('a=b') }));
  });

  it('decodes UTF-8 sent in headers', () => {
    const latin1 = Buffer.from('a="Zürich"', 'utf8').toString('latin1');
    const request = readOcciRequest({ contentType: 'text/occi', header: headers({ 'x-occi-attribute': latin1 }), body: Buffer.alloc(0) });
    expect(request.attributes[0].value.value).to.equal('Zürich');
  });
});
