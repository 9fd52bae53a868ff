import { expect } from 'chai';
import { flattenParams } from '../../lib/cloudstack/params.js';
import { canonicalString, encodeParams, formatExpires, javaUrlEncode, sign } from '../../lib/cloudstack/sign.js';

const SECRET = 'testsecret';
const UUID = (n: number) => `9f1b2c3d-0000-4000-8000-00000000000${n}`;

describe('CloudStack request signing', () => {
  it('matches the reference vector for a plain list call', () => {
    const params = { command: 'listZones', response: 'json', apikey: 'testapikey', available: 'true' };
    expect(canonicalString(params)).to.equal('apikey=testapikey&available=true&command=listzones&response=json');
    expect(sign(params, SECRET)).to.equal('zLqX5EWCm9L6UdPWb9uUTQkRqUY=');
  });

  it('matches the reference vector with v3 expiry, awkward characters and map keys', () => {
    const params = {
      command: 'listVirtualMachines',
      response: 'json',
      apikey: 'testapikey',
      signatureversion: '3',
      expires: '2030-01-01T00:00:00+0000',
      name: "a b*c~d!e'(f)+g/h",
      'tags[0].key': 'owner',
      'tags[0].value': 'svc-1',
    };
    expect(canonicalString(params)).to.equal(
      'apikey=testapikey&command=listvirtualmachines&expires=2030-01-01t00%3a00%3a00%2b0000&' +
        'name=a%20b*c%7ed%21e%27%28f%29%2bg%2fh&response=json&signatureversion=3&tags[0].key=owner&tags[0].value=svc-1',
    );
    expect(sign(params, SECRET)).to.equal('pUb+1FLlW+N8gEOiLDMtrZWPROU=');
  });

  it('matches the reference vector for a deploy with user data', () => {
    const params = {
      command: 'deployVirtualMachine',
      response: 'json',
      apikey: 'testapikey',
      name: 'svc-abc-1',
      serviceofferingid: UUID(1),
      templateid: UUID(2),
      zoneid: UUID(3),
      userdata: 'I2Nsb3VkLWNvbmZpZwo=',
    };
    expect(canonicalString(params)).to.contain('userdata=i2nsb3vklwnvbmzpzwo%3d');
    expect(sign(params, SECRET)).to.equal('ljy8FIlF9zTDzdSAadFTZ8fkVY0=');
  });

  it("encodes values like Java URLEncoder: * kept, ~ ! ' ( ) escaped, space as %20, UTF-8 bytes", () => {
    expect(javaUrlEncode('a-b_c.d*e')).to.equal('a-b_c.d*e');
    expect(javaUrlEncode("~!'()")).to.equal('%7E%21%27%28%29');
    expect(javaUrlEncode('a b+c')).to.equal('a%20b%2Bc');
    expect(javaUrlEncode('é/€')).to.equal('%C3%A9%2F%E2%82%AC');
    expect(javaUrlEncode('[]:,$')).to.equal('%5B%5D%3A%2C%24');
  });

  it('sorts names as sent, case-sensitively, before lower-casing', () => {
    expect(canonicalString({ templatefilter: 'x', templateId: 'y' })).to.equal('templateid=y&templatefilter=x');
    expect(canonicalString({ templatefilter: 'x', templateid: 'y' })).to.equal('templatefilter=x&templateid=y');
  });

  it('leaves the signature out of what it signs', () => {
    expect(canonicalString({ a: '1', signature: 'zzz' })).to.equal('a=1');
  });

  it('writes expires in UTC as YYYY-MM-DDTHH:mm:ss+0000', () => {
    expect(formatExpires(Date.UTC(2030, 0, 1, 12, 5, 9, 123))).to.equal('2030-01-01T12:05:09+0000');
  });

  it('percent-encodes the wire form so + and / in base64 survive', () => {
    expect(encodeParams({ signature: 'ab+c/d=', 'tags[0].key': 'k' })).to.equal('signature=ab%2Bc%2Fd%3D&tags%5B0%5D.key=k');
  });
});

describe('CloudStack parameter flattening', () => {
  it('lower-cases names and writes booleans and numbers as text', () => {
    expect(flattenParams({ zoneId: 'z', startVm: false, pagesize: 500 })).to.deep.equal({
      zoneid: 'z',
      startvm: 'false',
      pagesize: '500',
    });
  });

  it('joins lists with commas and leaves out empty values', () => {
    expect(flattenParams({ networkids: ['a', 'b'], keypair: '', group: undefined, ids: [], x: null })).to.deep.equal({
      networkids: 'a,b',
    });
  });

  it('writes tag maps and object lists as name[i].field', () => {
    expect(flattenParams({ tags: { owner: 'svc-1', role: 'agent' } })).to.deep.equal({
      'tags[0].key': 'owner',
      'tags[0].value': 'svc-1',
      'tags[1].key': 'role',
      'tags[1].value': 'agent',
    });
    expect(flattenParams({ details: [{ rootdisksize: '20', cpuNumber: '2' }] })).to.deep.equal({
      'details[0].rootdisksize': '20',
      'details[0].cpunumber': '2',
    });
  });
});
