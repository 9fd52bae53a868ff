import { expect } from 'chai';
import { join } from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { loadConfig, parseConfig } from '../../service-manager/config/load.js';
import { thrownBy } from '../support/expect.js';
import { ETC } from '../support/sm.js';

const FILE = '/srv/sm/etc/sm.cfg';

function configError(text: string, env: NodeJS.ProcessEnv = {}): string {
  return thrownBy(() => parseConfig(text, FILE, env, '/home/op'), ConfigError).message;
}

describe('SM configuration (sm.cfg)', () => {
  it('loads the shipped etc/sm.cfg', () => {
    const config = loadConfig(join(ETC, 'sm.cfg'), {}, '/');
    expect(config.serviceManager.listen).to.deep.equal({ host: '127.0.0.1' });
    expect(config.serviceManager.manifest).to.equal(join(ETC, 'service_manifest.json'));
    expect(config.authentication.tenantsFile).to.equal(join(ETC, 'tenants.json'));
    expect(config.soRuntime.type).to.equal('auto');
    expect(config.cloudstack.endpoint).to.equal('embedded');
  });

  it('fills defaults and resolves relative paths against the file folder', () => {
    const config = parseConfig('', FILE, {}, '/home/op');
    expect(config.general).to.deep.equal({ logLevel: 'info', logFormat: 'auto' });
    expect(config.serviceManager.registry).to.equal('/srv/sm/var/registry.db');
    expect(config.serviceManager.maxBodyBytes).to.equal(65536);
    expect(config.serviceManager.publicUrl).to.equal(undefined);
  });

  it('reads hurtle-style sections with comments', () => {
    const config = parseConfig('# comment\n[service_manager]\nlisten = 0.0.0.0:9000 ; inline\npublic_url = https://sm.example.org/\n', FILE, {}, '/');
    expect(config.serviceManager.listen).to.deep.equal({ host: '0.0.0.0', port: 9000 });
    expect(config.serviceManager.publicUrl).to.equal('https://sm.example.org');
  });

  it('lets SM_<SECTION>_<KEY> override the file, with paths relative to the working folder', () => {
    const config = parseConfig(
      '[service_manager]\nregistry = a.db\n',
      FILE,
      {
        SM_SERVICE_MANAGER_REGISTRY: 'b.db',
        SM_GENERAL_LOG_LEVEL: 'debug',
        SM_CLOUDSTACK_ZONE: 'zone-9',
      },
      '/home/op',
    );
    expect(config.serviceManager.registry).to.equal('/home/op/b.db');
    expect(config.general.logLevel).to.equal('debug');
    expect(config.values.get('cloudstack.zone')).to.equal('zone-9');
  });

  it('stops on an unknown section, key or override variable, naming it', () => {
    expect(configError('[servce_manager]\nlisten = x\n')).to.match(/unknown section \[servce_manager\]/);
    expect(configError('[service_manager]\nlisen = x\n')).to.match(/unknown key "lisen" in \[service_manager\]/);
    expect(configError('', { SM_SERVICE_MANAGER_LISEN: 'x' })).to.match(/unknown environment variable SM_SERVICE_MANAGER_LISEN/);
    expect(configError('stray = 1\n')).to.match(/key "stray" is outside any section/);
  });

  it('stops on bad values, naming the key and where the value came from', () => {
    expect(configError('[general]\nlog_level = loud\n')).to.match(/\[general\] log_level = "loud": must be one of error, warn, info, debug/);
    expect(configError('[service_manager]\nmax_body_bytes = lots\n')).to.match(/max_body_bytes = "lots": must be a whole number/);
    expect(configError('[service_manager]\nmax_body_bytes = 10\n')).to.match(/between 1024 and/);
    expect(configError('[service_manager]\nlisten = 127.0.0.1:99999\n')).to.match(/listen = "127.0.0.1:99999"/);
    expect(configError('[service_manager]\npublic_url = ftp://x\n')).to.match(/public_url.*http\(s\) URL/);
    expect(configError('[cloudstack]\nendpoint = nowhere\n')).to.match(/endpoint.*or embedded/);
    expect(configError('', { SM_SO_RUNTIME_TYPE: 'kubernetes' })).to.match(/\(from SM_SO_RUNTIME_TYPE\)/);
  });

  it('reads the orchestrator runtime, pipeline and reconciler settings', () => {
    const config = parseConfig(
      [
        '[so_runtime]',
        'ports = 20000 - 20099',
        'cpus = 1.5',
        'start_timeout_s = 5',
        'environment = SO_DEADLINE_DEPLOY_S=1800, SO_LOG_LEVEL=debug',
        '[pipeline]',
        'deadline_deploy_s = 60',
        'poll_min_ms = 500',
        'poll_max_ms = 100',
        '[reconciler]',
        'vm_sweep = */5 * * * *',
      ].join('\n'),
      FILE,
      {},
      '/',
    );
    expect(config.soRuntime).to.include({ type: 'auto', cpus: 1.5, startTimeoutMs: 5000, memoryMb: 256, processDir: '/srv/sm/var/so' });
    expect(config.soRuntime.ports).to.deep.equal({ from: 20000, to: 20099 });
    expect(config.soRuntime.environment).to.deep.equal({ SO_DEADLINE_DEPLOY_S: '1800', SO_LOG_LEVEL: 'debug' });
    expect(config.pipeline.deadlinesMs.deploy).to.equal(60_000);
    expect(config.pipeline, 'poll_max_ms is at least poll_min_ms').to.include({ pollMinMs: 500, pollMaxMs: 500 });
    expect(config.reconciler.schedules.vmSweep).to.equal('*/5 * * * *');
  });

  it('refuses bad runtime settings, and SO variables the service manager sets itself', () => {
    expect(configError('[so_runtime]\nports = 18000\n')).to.match(/ports = "18000": must be a port range/);
    expect(configError('[so_runtime]\nports = 9000-8000\n')).to.match(/must be a port range/);
    expect(configError('[so_runtime]\ncpus = half\n')).to.match(/cpus = "half": must be a number/);
    expect(configError('[so_runtime]\nenvironment = DEBUG=1\n')).to.match(/"DEBUG=1" is not SO_NAME=value/);
    expect(configError('[so_runtime]\nenvironment = SO_CLOUDSTACK_SECRET_KEY=x\n')).to.match(/SO_CLOUDSTACK_SECRET_KEY is set by the service manager/);
    expect(configError('[reconciler]\nresync = every minute\n')).to.match(/resync = "every minute": must be a cron expression/);
  });

  it('reports a missing file by path', () => {
    expect(() => loadConfig('/nonexistent/sm.cfg', {}, '/')).to.throw(ConfigError, /\/nonexistent\/sm.cfg/);
  });
});
