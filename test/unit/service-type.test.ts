import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { rejectedWith, thrownBy } from '../support/expect.js';
import type { AttributeInput } from '../../lib/occi/parse.js';
import { parseAttributes } from '../../lib/occi/parse.js';
import { createInputs, effectiveInputs, updateInputs } from '../../service-manager/service-type/attributes.js';
import { buildServiceType, type ServiceType } from '../../service-manager/service-type/manifest.js';
import { ETC } from '../support/sm.js';

const CONFIG: Record<string, string> = {
  'cloudstack.zone': 'zone-1',
  'cloudstack.template': 'mesos-tpl',
  'cloudstack.offering_master': 'medium',
  'cloudstack.offering_agent': 'large',
};
const shipped = (): unknown => JSON.parse(readFileSync(join(ETC, 'service_manifest.json'), 'utf8'));
const mesos: ServiceType = buildServiceType(shipped(), (key) => CONFIG[key]);

function manifestError(edit: (doc: Record<string, any>) => void, config: Record<string, string> = CONFIG): string {
  const doc = shipped() as Record<string, any>;
  edit(doc);
  return thrownBy(() => buildServiceType(doc, (key) => config[key]), ConfigError).message;
}

const rejected = (fn: () => unknown): string => rejectedWith(400, fn);

const json = (name: string, value: string | number | boolean): AttributeInput => ({
  name,
  value: { lexical: 'json', value },
});

describe('Service manifest', () => {
  it('builds the mesos kind from the shipped manifest', () => {
    expect(mesos.kind.term).to.equal('mesos');
    expect(mesos.kind.scheme).to.equal('http://schemas.mobile-cloud-networking.eu/occi/sm#');
    expect(mesos.kind.location).to.equal('/mesos/');
    expect(mesos.kind.actions.map((a) => a.term)).to.deep.equal(['retry']);
    expect(mesos.endpoint.port).to.equal('8888');
  });

  it('describes attributes with types, defaults, bounds and flags', () => {
    const byName = new Map(mesos.kind.attributes.map((a) => [a.name, a]));
    expect(byName.get('mesos.masters')).to.include({ type: 'integer', default: 1, mutable: true });
    expect(byName.get('mesos.masters')!.pattern).to.deep.equal({ type: 'integer', enum: [1, 3, 5] });
    expect(byName.get('mesos.agents')).to.include({ default: 2 });
    expect(byName.get('mesos.marathon')).to.include({ type: 'boolean', default: true });
    expect(byName.get('cloudstack.zone')).to.include({ default: 'zone-1' });
    expect(byName.get('mcn.service.state')).to.include({ mutable: false });
    for (const output of ['mcn.service.state.message', 'mesos.master.url', 'mesos.marathon.url', 'mesos.zk', 'mesos.agents.active']) {
      expect(byName.get(output), output).to.include({ mutable: false });
    }
  });

  it("accepts hurtle's plain string flags", () => {
    const type = buildServiceType(
      {
        service_type: 'http://x/sm#demo',
        service_description: 'Demo',
        service_endpoint: 'http://127.0.0.1:8888/demo/',
        service_attributes: {
          'mcn.service.state': 'immutable',
          'mcn.service.state.message': 'immutable',
          'demo.name': 'required',
          'demo.note': '',
        },
      },
      () => undefined,
    );
    expect(type.kind.attributes.map((a) => [a.name, a.required, a.mutable])).to.deep.equal([
      ['mcn.service.state', false, false],
      ['mcn.service.state.message', false, false],
      ['demo.name', true, true],
      ['demo.note', false, true],
    ]);
  });

  it('refuses manifests with mistakes, naming the field', () => {
    expect(manifestError((d) => (d['service_type'] = 'nohash'))).to.match(/<scheme>#<term>/);
    expect(manifestError((d) => (d['colour'] = 1))).to.match(/unknown field "colour"/);
    expect(manifestError((d) => (d['service_endpoint'] = 'mesos'))).to.match(/service_endpoint/);
    expect(manifestError((d) => (d['depends_on'] = [{ 'http://x#y': {} }]))).to.match(/depends_on/);
    expect(manifestError((d) => (d['service_attributes']['mesos.masters']['type'] = 'float'))).to.match(/"mesos.masters"\]: type must be/);
    expect(manifestError((d) => (d['service_attributes']['mesos.masters']['default'] = 'one'))).to.match(/not of type integer/);
    expect(manifestError((d) => (d['service_attributes']['mesos.agents']['colour'] = 1))).to.match(/unknown property "colour"/);
    expect(manifestError((d) => (d['service_attributes']['mesos.agents']['maximum'] = { attribute: 'nope' }))).to.match(/refers to nope/);
    expect(manifestError((d) => (d['service_attributes']['cloudstack.zone']['default'] = { config: 'cloudstack.nope' }))).to.match(
      /unknown configuration key cloudstack.nope/,
    );
    expect(manifestError((d) => delete d['service_attributes']['mcn.service.state'])).to.match(/mcn.service.state as immutable/);
    expect(manifestError((d) => (d['service_attributes']['Bad Name'] = ''))).to.match(/not a valid attribute name/);
  });

  it('refuses a configured default of the wrong type', () => {
    const doc = shipped() as Record<string, any>;
    doc['service_attributes']['mesos.agents']['default'] = { config: 'cloudstack.zone' };
    expect(() => buildServiceType(doc, (key) => CONFIG[key])).to.throw(ConfigError, /is not of type integer/);
  });
});

describe('Instance attributes', () => {
  it('fills fixed and configured defaults on create, leaving min_ready to follow the agents', () => {
    const stored = createInputs(mesos, []);
    expect(stored).to.deep.equal({
      'mesos.masters': 1,
      'mesos.agents': 2,
      'mesos.marathon': true,
      'mesos.readiness.smoke': true,
      'mesos.autoscale': false,
      'mesos.autoscale.min': 1,
      'mesos.autoscale.max': 10,
      'mesos.autoscale.cpu_high': 0.8,
      'mesos.autoscale.cpu_low': 0.3,
      'mesos.autoscale.cooldown_s': 300,
      'cloudstack.zone': 'zone-1',
      'cloudstack.template': 'mesos-tpl',
      'cloudstack.offering.master': 'medium',
      'cloudstack.offering.agent': 'large',
      'mcn.service.on_failure': 'delete',
    });
    expect(effectiveInputs(mesos, stored)['mesos.agents.min_ready']).to.equal(2);
  });

  it('keeps min_ready equal to all agents after scaling when it was never set', () => {
    const stored = createInputs(mesos, parseAttributes('mesos.agents=3'));
    const { next, changes } = updateInputs(mesos, stored, parseAttributes('mesos.agents=7'));
    expect(changes).to.deep.equal({ 'mesos.agents': { from: 3, to: 7 } });
    expect(effectiveInputs(mesos, next)['mesos.agents.min_ready']).to.equal(7);
  });

  it("keeps the autoscaler's bounds in order: min up to max, cpu_low up to cpu_high", () => {
    expect(() => createInputs(mesos, parseAttributes('mesos.autoscale.min=5, mesos.autoscale.max=3'))).to.throw(/mesos.autoscale.min/);
    expect(() => createInputs(mesos, parseAttributes('mesos.autoscale.cpu_low=0.9'))).to.throw(/mesos.autoscale.cpu_low/);
    expect(() => createInputs(mesos, parseAttributes('mesos.autoscale.cpu_high=1.5'))).to.throw(/mesos.autoscale.cpu_high/);
    expect(createInputs(mesos, parseAttributes('mesos.autoscale=true, mesos.autoscale.max=4, mesos.autoscale.cpu_low=0.1'))).to.include({
      'mesos.autoscale': true,
      'mesos.autoscale.max': 4,
      'mesos.autoscale.cpu_low': 0.1,
    });
  });

  it('accepts quoted numerals and booleans from OCCI 1.1 clients', () => {
    const stored = createInputs(mesos, parseAttributes('mesos.agents="4", mesos.marathon="false", mesos.masters=3'));
    expect(stored).to.include({ 'mesos.agents': 4, 'mesos.marathon': false, 'mesos.masters': 3 });
  });

  it('accepts bare words for strings, as hurtle service managers forward them', () => {
    expect(createInputs(mesos, parseAttributes('cloudstack.zone=zone-2'))).to.include({ 'cloudstack.zone': 'zone-2' });
  });

  it('rejects wrong types, naming the attribute', () => {
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agents="three"')))).to.match(/mesos.agents must be a whole number, got "three"/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agents=2.5')))).to.match(/whole number, got 2.5/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.marathon=1')))).to.match(/true or false/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.marathon=yes')))).to.match(/true or false/);
    expect(rejected(() => createInputs(mesos, [json('mesos.agents', '3')]))).to.match(/whole number/);
    expect(rejected(() => createInputs(mesos, [json('cloudstack.zone', 3)]))).to.match(/must be a string/);
  });

  it('rejects values out of bounds or outside the enumeration', () => {
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.masters=2')))).to.match(/one of 1, 3, 5; got 2/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agents=0')))).to.match(/below the minimum 1/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agents=101')))).to.match(/above the maximum 100/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agents=2, mesos.agents.min_ready=3')))).to.match(/above the maximum mesos.agents \(2\)/);
  });

  it('checks bounds that follow another attribute on update too', () => {
    const stored = createInputs(mesos, parseAttributes('mesos.agents=5, mesos.agents.min_ready=4'));
    expect(rejected(() => updateInputs(mesos, stored, parseAttributes('mesos.agents=3')))).to.match(/min_ready = 4/);
  });

  it('rejects unknown, service-set and repeated attributes', () => {
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agent=2')))).to.match(/Unknown attribute mesos.agent; the mesos kind takes/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mcn.service.state="ready"')))).to.match(/set by the service/);
    expect(rejected(() => createInputs(mesos, parseAttributes('mesos.agents=2, mesos.agents=3')))).to.match(/more than once/);
  });

  it('refuses to update attributes fixed at creation', () => {
    const stored = createInputs(mesos, []);
    expect(rejected(() => updateInputs(mesos, stored, parseAttributes('mesos.masters=3')))).to.match(/mesos.masters is fixed when the instance is created/);
    expect(rejected(() => updateInputs(mesos, stored, parseAttributes('cloudstack.zone="z"')))).to.match(/fixed/);
  });

  it('reports no changes when an update repeats current values', () => {
    const stored = createInputs(mesos, []);
    expect(updateInputs(mesos, stored, parseAttributes('mesos.agents=2')).changes).to.deep.equal({});
  });

  it('rejects control characters and over-long strings', () => {
    expect(rejected(() => createInputs(mesos, [json('occi.core.title', 'a\nb')]))).to.match(/control characters/);
    expect(rejected(() => createInputs(mesos, [json('occi.core.title', 'x'.repeat(257))]))).to.match(/longer than 256/);
  });

  it('requires required attributes that have no default', () => {
    const doc = shipped() as Record<string, any>;
    doc['service_attributes']['occi.core.title']['required'] = true;
    const type = buildServiceType(doc, (key) => CONFIG[key]);
    expect(rejected(() => createInputs(type, []))).to.match(/Required attribute occi.core.title is missing/);
  });
});
