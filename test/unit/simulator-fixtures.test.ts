import { expect } from 'chai';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { loadFixtures, parseFixtures } from '../../simulator/fixtures.js';
import { parseExpires } from '../../simulator/auth.js';
import { uuidSource } from '../../simulator/ids.js';
import { thrownBy } from '../support/expect.js';
import { ETC } from '../support/sm.js';
import { shippedFixtures } from '../support/simulator.js';

function fixtureError(edit: (doc: Record<string, any>) => void): string {
  const doc = shippedFixtures();
  edit(doc);
  return thrownBy(() => parseFixtures(doc, 'simulator.json'), ConfigError).message;
}

describe('Simulator fixtures', () => {
  it('loads the shipped fixtures with their timing and settings', () => {
    const fixtures = loadFixtures(join(ETC, 'simulator.json'));
    expect(fixtures.accounts.map((a) => a.name)).to.deep.equal(['demo', 'other', 'admin']);
    expect(fixtures.accounts[2].admin).to.equal(true);
    expect(fixtures.timing.deployMs).to.equal(3000);
    expect(fixtures.settings.throttling).to.deep.equal({ enabled: false, intervalMs: 1000, max: 25 });
  });

  it('keeps every network inside 127.0.0.0/8 and away from 127.0.0.0/16', () => {
    expect(fixtureError((d) => (d['networks'][0].cidr = '10.0.0.0/16'))).to.match(/networks\[0\]\.cidr/);
    expect(fixtureError((d) => (d['networks'][0].cidr = '127.0.0.0/16'))).to.match(/networks\[0\]\.cidr/);
    expect(fixtureError((d) => (d['networks'][0].cidr = '127.10.0.0/8'))).to.match(/networks\[0\]\.cidr/);
  });

  it('refuses unknown fields, unknown zones, duplicates and bad numbers, naming the place', () => {
    expect(fixtureError((d) => (d['colour'] = 1))).to.match(/unknown field "colour"/);
    expect(fixtureError((d) => (d['templates'][0].zones = ['nowhere']))).to.match(/templates\[0\]\.zones/);
    expect(fixtureError((d) => (d['accounts'][1].apikey = 'demo-api-key'))).to.match(/apikey "demo-api-key" appears twice/);
    expect(fixtureError((d) => (d['timing'].deployMs = -1))).to.match(/timing\.deployMs/);
    expect(fixtureError((d) => (d['settings'].throttling = { enabled: 'yes' }))).to.match(/throttling\.enabled/);
    expect(fixtureError((d) => (d['zones'][0].id = 'zone-1'))).to.match(/zones\[0\]\.id: must be a lower-case uuid/);
  });
});

describe('Simulator ids and dates', () => {
  it('makes the same version 4 uuids from the same seed', () => {
    const a = uuidSource(42);
    const b = uuidSource(42);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).to.deep.equal(first);
    for (const id of first) expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidSource(43)()).to.not.equal(first[0]);
  });

  it('reads expires in the formats the server accepts', () => {
    const at = Date.UTC(2030, 0, 1);
    expect(parseExpires('2030-01-01T00:00:00+0000')).to.equal(at);
    expect(parseExpires('2030-01-01T00:00:00Z')).to.equal(at);
    expect(parseExpires('2030-01-01T01:00:00+01:00')).to.equal(at);
    expect(parseExpires('2030-01-01T00:00:00.123456Z')).to.equal(at + 123);
    expect(parseExpires('2030-01-01 00:00:00')).to.equal(undefined);
    expect(parseExpires('soon')).to.equal(undefined);
  });
});
