import { expect } from 'chai';
import { AddressPicker } from '../../service-orchestrator/cluster/addresses.js';

describe('SO address choice', () => {
  it('never hands out the network, gateway or broadcast address, nor one in use', () => {
    const picker = new AddressPicker('10.1.1.0/29', '10.1.1.1', ['10.1.1.3', '10.1.1.5'], 'cluster-a');
    const chosen = [picker.next(), picker.next(), picker.next()].sort();
    expect(chosen).to.deep.equal(['10.1.1.2', '10.1.1.4', '10.1.1.6']);
    expect(() => picker.next()).to.throw('the network has no free address left');
  });

  it('leaves out the first host as gateway when the cloud names none, and one the cloud refused', () => {
    const picker = new AddressPicker('10.1.1.0/30', undefined, [], 'cluster-a');
    expect(picker.next()).to.equal('10.1.1.2');
    const other = new AddressPicker('10.1.1.0/30', undefined, [], 'cluster-a');
    other.exclude('10.1.1.2');
    expect(() => other.next()).to.throw('no free address');
  });

  it('gives a cluster consecutive addresses from a place of its own, the same for the same cluster', () => {
    const take = (seed: string): string[] => {
      const picker = new AddressPicker('127.40.0.0/17', undefined, [], seed);
      return [picker.next(), picker.next(), picker.next()];
    };
    const a = take('mesos-aaaaaaaaaa');
    expect(take('mesos-aaaaaaaaaa')).to.deep.equal(a);
    const numbers = a.map((ip) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0));
    expect([numbers[1] - numbers[0], numbers[2] - numbers[1]], 'side by side').to.deep.equal([1, 1]);
    expect(take('mesos-bbbbbbbbbb')[0], 'another cluster starts elsewhere').to.not.equal(a[0]);
  });

  it('refuses a network it cannot choose in', () => {
    expect(() => new AddressPicker('10.1.1.0/31', undefined, [], 's')).to.throw(RangeError);
    expect(() => new AddressPicker('not a cidr', undefined, [], 's')).to.throw(RangeError);
  });
});
