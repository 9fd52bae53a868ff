import { expect } from 'chai';
import { connect } from 'node:net';
import { DEMO, KIND, useTestSm } from '../support/sm.js';

/** Sends raw bytes and returns the raw answer, for requests an HTTP client would refuse to send. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/** A small deterministic generator, so a failing input can be reproduced. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

const PIECES = [
  '"',
  '\\',
  ',',
  ';',
  '=',
  ' ',
  'mesos.agents',
  'mesos.masters',
  '3',
  '-1',
  '1e999',
  'true',
  'x',
  'é',
  '{',
  '}',
  '[',
  ']',
  'mesos',
  'scheme=',
  'class=',
  'kind',
  '#',
  'occi.core.id',
  'null',
  '\t',
  '%',
  '"\\"',
  'cloudstack.zone',
];

describe('SM robustness', () => {
  // The fuzzing below writes hundreds of times: past a write limit nothing would be parsed at all.
  const sm = useTestSm(() => ({ extraConfig: '[quota]\nwrites_per_minute = 100000\nwrite_burst = 100000' }));

  it('answers 413 to a body over max_body_bytes and keeps serving', async () => {
    const reply = await sm().call('POST', '/mesos/', {
      headers: { ...DEMO, 'Content-Type': 'text/plain' },
      body: `Category: ${KIND}\nX-OCCI-Attribute: occi.core.summary="${'x'.repeat(70_000)}"\n`,
    });
    expect([reply.status, reply.body]).to.deep.equal([413, 'The request body is larger than 65536 bytes.\n']);
    expect((await sm().call('GET', '/mesos/', { headers: DEMO })).status).to.equal(200);
  });

  it('answers 413 to headers over max_header_bytes', async () => {
    const answer = await rawRequest(
      sm().url,
      `GET /mesos/ HTTP/1.1\r\nHost: x\r\nX-Auth-Token: demo-token\r\nX-Tenant-Name: demo\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer).to.match(/^HTTP\/1\.1 413 /);
    expect(answer).to.contain('Request headers are larger than 16384 bytes.');
  });

  it('answers 400 to a request that is not HTTP', async () => {
    expect(await rawRequest(sm().url, 'HELLO\r\n\r\n')).to.match(/^HTTP\/1\.1 400 /);
  });

  it('answers 400 to a malformed percent-encoding in the path', async () => {
    const reply = await sm().call('GET', '/mesos/%E0%A4%A', { headers: DEMO });
    expect(reply.status).to.equal(400);
  });

  it('never answers 500 or loses data, whatever the attributes and categories', async () => {
    const keep = await sm().create(DEMO, 'mesos.agents=4');
    const kept = sm().sm.registry.find('demo', keep)!;
    const random = generator(20261122);
    const pick = () => PIECES[Math.floor(random() * PIECES.length)];
    const junk = (n: number) => Array.from({ length: n }, pick).join('');
    const statuses = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const headers: Record<string, string> = { ...DEMO };
      if (random() < 0.7) headers['Category'] = random() < 0.5 ? `${KIND}${junk(3)}` : junk(8);
      headers['X-OCCI-Attribute'] = junk(1 + Math.floor(random() * 10));
      if (random() < 0.5) headers['Content-Type'] = 'text/occi';
      const method = random() < 0.3 ? 'PUT' : 'POST';
      const path = method === 'PUT' ? `/mesos/fuzz${i}` : random() < 0.5 ? '/mesos/' : `/mesos/${keep}`;
      const body = random() < 0.2 ? `{"attributes": {"${pick()}": ${junk(2)}}}` : undefined;
      if (body) headers['Content-Type'] = 'application/occi+json';
      const reply = await sm().call(method, path, { headers, ...(body ? { body } : {}) });
      statuses.add(reply.status);
      expect(reply.status, `${method} ${path} ${JSON.stringify(headers)} ${body ?? ''}`).to.be.below(500);
    }
    expect(
      [...statuses].every((s) => [200, 201, 400, 403, 409, 415].includes(s)),
      [...statuses].join(','),
    ).to.equal(true);
    const after = sm().sm.registry.find('demo', keep)!;
    expect(after.state).to.equal(kept.state);
    expect(after.attributes['mesos.masters']).to.equal(1);
  });

  it('never writes tokens to its log', async () => {
    await sm().create();
    await sm().call('GET', '/mesos/', { headers: { 'X-Auth-Token': 'wrong-secret-token', 'X-Tenant-Name': 'demo' } });
    const log = sm().logLines.join('');
    expect(log).to.contain('"status":201');
    expect(log).to.not.contain('demo-token');
    expect(log).to.not.contain('wrong-secret-token');
  });

  it('logs one line per request with its id, status and tenant', async () => {
    await sm().call('GET', '/mesos/', { headers: { ...DEMO, 'X-Request-Id': 'abc-123' } });
    const line = sm()
      .logLines.map((l) => JSON.parse(l))
      .find((l) => l.requestId === 'abc-123');
    expect(line).to.include({ message: 'request', method: 'GET', path: '/mesos/', status: 200, tenant: 'demo' });
  });
});
