import { expect } from 'chai';
import { bootPlan } from '../../simulator/mesos/cloud-config.js';
import { thrownBy } from '../support/expect.js';
import { agentFlags, marathonFlags, masterFlags, parseDetector, StartupFailure, zookeeperConfig } from '../../simulator/mesos/flags.js';

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

const failure = (fn: () => unknown): string => thrownBy(fn, StartupFailure).message;

describe('Mesos guest: cloud-init', () => {
  it('writes files, then runs systemctl and service commands in order', () => {
    const plan = bootPlan(
      [
        '#cloud-config',
        'write_files:',
        '  - path: /etc/mesos/zk',
        '    content: zk://127.10.0.2:2181/mesos',
        'runcmd:',
        '  - systemctl enable --now zookeeper mesos-master mesos-slave',
        '  - [systemctl, disable, --now, mesos-slave]',
        '  - service marathon start',
        '  - systemctl enable mesos-slave',
        '  - apt-get install -y htop',
      ].join('\n'),
    );
    expect(plan.files.get('/etc/mesos/zk')).to.equal('zk://127.10.0.2:2181/mesos');
    expect([...plan.started].sort()).to.deep.equal(['marathon', 'mesos-master', 'zookeeper']);
    expect([...plan.enabled].sort()).to.deep.equal(['mesos-master', 'mesos-slave', 'zookeeper']);
    expect(plan.notes).to.deep.equal(['skipped: apt-get install -y htop']);
  });

  it('boots nothing from user data that is not #cloud-config or does not parse', () => {
    expect(bootPlan('#!/bin/bash\nsystemctl start mesos-master\n').notes).to.deep.equal(['user data is not #cloud-config']);
    expect(bootPlan('').started.size).to.equal(0);
    expect(bootPlan('#cloud-config\nruncmd: [unclosed\n').notes[0]).to.match(/does not parse/);
  });

  it('removes files under a path given to rm', () => {
    const plan = bootPlan('#cloud-config\nwrite_files:\n  - {path: /var/lib/mesos/meta/slaves/latest, content: x}\nruncmd:\n  - rm -rf /var/lib/mesos/meta\n');
    expect(plan.files.size).to.equal(0);
  });
});

describe('Mesos guest: flags from configuration files', () => {
  it('reads ZooKeeper URLs and plain master addresses', () => {
    expect(parseDetector('zk://a:2181,b:2182/mesos', '--zk')).to.deep.equal({
      kind: 'zk',
      hosts: [
        { host: 'a', port: 2181 },
        { host: 'b', port: 2182 },
      ],
      path: '/mesos',
    });
    expect(parseDetector('127.10.0.2:5050', '--master')).to.deep.equal({ kind: 'direct', at: { host: '127.10.0.2', port: 5050 } });
    expect(failure(() => parseDetector('http://x', '--master'))).to.match(/Failed to parse --master/);
  });

  it('refuses a master without a work_dir, or with ZooKeeper but no quorum, as mesos-master does', () => {
    expect(failure(() => masterFlags(files({}), '127.10.0.2'))).to.equal('--work_dir needed for replicated log based registry');
    const noQuorum = files({ '/etc/mesos/zk': 'zk://127.10.0.2:2181/mesos', '/etc/mesos-master/work_dir': '/var/lib/mesos' });
    expect(failure(() => masterFlags(noQuorum, '127.10.0.2'))).to.match(/Need to specify --quorum/);
  });

  it("defaults a master's ip and hostname to the VM, but takes what the files say", () => {
    const flags = masterFlags(files({ '/etc/mesos-master/work_dir': '/w', '/etc/mesos-master/ip': '127.0.1.1' }), '127.10.0.2');
    expect(flags).to.deep.include({ ip: '127.0.1.1', hostname: '127.0.1.1', port: 5050 });
  });

  it('refuses an agent without --master or with an empty hostname, and types its attributes', () => {
    expect(failure(() => agentFlags(files({ '/etc/mesos-slave/work_dir': '/w' }), 'x'))).to.equal('Missing required option --master or --master_detector');
    const blank = files({ '/etc/mesos/zk': 'zk://a:2181/mesos', '/etc/mesos-slave/work_dir': '/w', '/etc/mesos-slave/hostname': '' });
    expect(failure(() => agentFlags(blank, 'x'))).to.match(/Empty --hostname/);
    const typed = agentFlags(
      files({
        '/etc/mesos/zk': 'zk://a:2181/mesos',
        '/etc/mesos-slave/work_dir': '/w',
        '/etc/mesos-slave/attributes': 'rack:2;zone:eu',
        '/etc/mesos-slave/attributes/so_node': 'vm-7',
      }),
      '127.10.0.9',
    );
    expect(typed.attributes).to.deep.equal({ rack: 2, zone: 'eu', so_node: 'vm-7' });
    const broken = files({ '/etc/mesos/zk': 'zk://a:2181/mesos', '/etc/mesos-slave/work_dir': '/w', '/etc/mesos-slave/attributes': 'rack:' });
    expect(failure(() => agentFlags(broken, 'x'))).to.match(/Failed to parse attribute/);
  });

  it('refuses a ZooKeeper whose myid does not name this server', () => {
    const cfg = files({
      '/etc/zookeeper/conf/zoo.cfg': 'clientPort=2181\nserver.1=127.10.0.2:2888:3888\nserver.2=127.10.0.3:2888:3888\n',
      '/etc/zookeeper/conf/myid': '2',
    });
    expect(zookeeperConfig(cfg, '127.10.0.3').myid).to.equal(2);
    expect(failure(() => zookeeperConfig(cfg, '127.10.0.2'))).to.match(/myid 2 does not name this server/);
  });

  it('requires ZooKeeper for Marathon in its default HA mode', () => {
    expect(failure(() => marathonFlags(files({ '/etc/marathon/conf/master': 'zk://a:2181/mesos' }), 'x'))).to.match(/requires --zk/);
    expect(marathonFlags(files({ '/etc/marathon/conf/master': 'a:5050', '/etc/marathon/conf/?disable_ha': '' }), 'x').ha).to.equal(false);
  });
});
