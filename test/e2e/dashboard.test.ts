import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startEmbeddedSm, type EmbeddedSm } from '../support/embedded-sm.js';
import { call } from '../support/http.js';

const CHROMIUM = '/usr/bin/chromium';
/** Where to save a screenshot of the dashboard with a ready cluster open (for the README), when set. */
const SCREENSHOT = process.env['DASHBOARD_SCREENSHOT'];

describe('Web dashboard in Chromium', function () {
  this.timeout(120_000);
  let embedded: EmbeddedSm;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env['CI'] === 'true') throw new Error(`CI runs the browser tests, but there is no ${CHROMIUM}`);
      process.stdout.write(`      (skipped: no ${CHROMIUM})\n`);
      this.skip();
    }
    embedded = await startEmbeddedSm();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
  });

  after(async () => {
    await browser?.close();
    await embedded?.close();
  });

  const row = (id: string) => page.locator(`tr[data-id="${id}"]`);

  it('refuses a wrong token, and signs in with the keyboard alone', async () => {
    const reply = await page.goto(`${embedded.sm.url}/dashboard`);
    expect(page.url()).to.equal(`${embedded.sm.url}/dashboard/`);
    expect(reply?.headers()['content-security-policy']).to.include("connect-src 'self'");
    await page.getByLabel('Tenant').fill('demo');
    await page.getByLabel('Token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That tenant and token do not match.' }).waitFor();

    await page.getByLabel('Tenant').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('demo');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('demo-token');
    await page.keyboard.press('Enter');
    await page.getByText('Tenant demo').waitFor();
    // The list comes with the first look at the clusters, after sign-in.
    await page.getByText('No clusters yet.').waitFor();
  });

  it("builds the create form from the query interface's attributes: types, defaults and bounds", async () => {
    const agents = page.getByLabel('mesos.agents', { exact: true });
    expect(await agents.getAttribute('type')).to.equal('number');
    expect([await agents.getAttribute('min'), await agents.getAttribute('max'), await agents.inputValue()]).to.deep.equal(['1', '100', '2']);
    const masters = page.getByLabel('mesos.masters', { exact: true });
    expect(await masters.locator('option').allTextContents()).to.deep.equal(['1', '3', '5']);
    expect(await page.getByLabel('mesos.marathon', { exact: true }).isChecked()).to.equal(true);
  });

  it('creates a cluster and shows it reaching ready, with links to its Mesos and Marathon UIs and its history', async () => {
    await page.getByLabel('Name').fill('web');
    await page.getByLabel('mesos.agents', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Create' }).click();
    await row('web').locator('.state', { hasText: 'ready' }).waitFor({ timeout: 60_000 });
    expect(await row('web').locator('td').nth(2).textContent()).to.equal('1/1');

    await page.getByRole('button', { name: 'Open web' }).click();
    const mesos = page.getByRole('link', { name: 'Mesos UI' });
    const master = await mesos.getAttribute('href');
    const slaves = (await call('GET', `${master}/master/slaves`)).json<{ slaves: Array<{ active: boolean }> }>().slaves;
    expect(slaves.filter((s) => s.active)).to.have.length(1);
    expect(await page.getByRole('link', { name: 'Marathon UI' }).getAttribute('href')).to.match(/^http:\/\/127\./);
    await page.locator('#timeline li', { hasText: 'ready' }).first().waitFor();
  });

  it('scales after a confirmation, and shows the new agent active', async () => {
    await page.getByLabel('Agents', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Scale' }).click();
    await row('web').locator('td').nth(2).filter({ hasText: '2/2' }).waitFor({ timeout: 60_000 });
    await row('web').locator('.state', { hasText: 'ready' }).waitFor();
    expect(dialogs.at(-1)).to.equal('Scale web to 2 agents?');
    if (SCREENSHOT) {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: SCREENSHOT });
    }
  });

  it('deletes after a confirmation, until every VM is gone', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    await row('web').waitFor({ state: 'detached', timeout: 60_000 });
    expect(dialogs.at(-1)).to.equal('Delete web and all its VMs?');
    const vms = (await call('GET', `${embedded.sm.cloudstackUrl}/sim/vms`)).json<Array<{ state: string }>>();
    expect(vms.length).to.be.above(0);
    expect(vms.filter((vm) => vm.state !== 'Expunged')).to.deep.equal([]);
  });

  it('keeps the token in the tab only: a new browser session must sign in again', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${embedded.sm.url}/dashboard/`);
      await other.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await other.getByText('Tenant demo').count()).to.equal(0);
      expect(await other.evaluate('JSON.stringify(localStorage)')).to.equal('{}');
    } finally {
      await other.close();
    }
  });
});
