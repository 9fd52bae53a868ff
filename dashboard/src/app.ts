import { Api, ApiError, type Credentials, type Instance, type InstanceEvent, type Kind } from './api.js';
import { byId, h } from './dom.js';
import { buildFields, chosenAttributes } from './form.js';

/** How often the page looks again at the clusters and at the selected one's history. */
const POLL_MS = 2000;
const SESSION_KEY = 'mesos-dashboard-credentials';
const STATE = 'mcn.service.state';
const MESSAGE = 'mcn.service.state.message';
/** Outputs shown as links, and what to call them. */
const LINKS: ReadonlyArray<[string, string]> = [
  ['mesos.master.url', 'Mesos UI'],
  ['mesos.marathon.url', 'Marathon UI'],
];

interface Session {
  readonly api: Api;
  readonly kind: Kind;
  readonly tenant: string;
}

let session: Session | undefined;
let selected: string | undefined;
let instances: Instance[] = [];
let lastSeq = 0;
let timer: number | undefined;
/** Secret outputs the tenant chose to see. */
const revealed = new Set<string>();
const SECRET = /password|secret|token/;

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function alertUser(message: string | undefined): void {
  const alert = byId('alert');
  alert.textContent = message ?? '';
  alert.hidden = message === undefined;
}

function failure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function signIn(credentials: Credentials): Promise<void> {
  const api = new Api(credentials);
  const kind = await api.kind();
  session = { api, kind, tenant: credentials.tenant };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(credentials));
  byId('who-tenant').textContent = `Tenant ${credentials.tenant}`;
  byId('who').hidden = false;
  byId('sign-in').hidden = true;
  byId('workspace').hidden = false;
  const fields = buildFields(kind, byId('create-fields'), byId('create-more'));
  byId<HTMLFormElement>('create-form').onsubmit = (event) => {
    event.preventDefault();
    void run(async () => {
      const name = byId<HTMLInputElement>('create-name').value.trim();
      await api.create(kind, name, chosenAttributes(fields));
      byId<HTMLInputElement>('create-name').value = '';
      if (name !== '') select(name);
    });
  };
  await refresh();
}

function signOut(): void {
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
}

/** Runs what a button asked for and shows its refusal, if any; then looks again. */
async function run(work: () => Promise<void>): Promise<void> {
  try {
    await work();
    alertUser(undefined);
  } catch (error) {
    alertUser(failure(error));
  }
  await refresh();
}

async function refresh(): Promise<void> {
  if (!session) return;
  window.clearTimeout(timer);
  try {
    instances = await session.api.list(session.kind);
    renderList();
    await renderDetail();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut();
    alertUser(failure(error));
  }
  timer = window.setTimeout(() => void refresh(), POLL_MS);
}

function select(id: string | undefined): void {
  if (selected !== id) {
    selected = id;
    lastSeq = 0;
    byId('timeline').replaceChildren();
  }
  renderList();
  void renderDetail();
}

function renderList(): void {
  const rows = instances.map((instance) => {
    const state = text(instance.attributes[STATE]);
    const agents = `${text(instance.attributes['mesos.agents.active'] ?? '–')}/${text(instance.attributes['mesos.agents'])}`;
    const open = h('button', { type: 'button', class: 'link', 'aria-label': `Open ${instance.id}` }, instance.id);
    open.onclick = () => select(instance.id);
    return h(
      'tr',
      { 'data-id': instance.id, 'aria-current': instance.id === selected ? 'true' : undefined },
      h('td', {}, open),
      h('td', { class: `state state-${state}` }, state),
      h('td', {}, agents),
      h('td', {}, text(instance.attributes[MESSAGE])),
    );
  });
  byId('instances')
    .querySelector('tbody')!
    .replaceChildren(...rows);
  byId('no-instances').hidden = instances.length > 0;
}

async function renderDetail(): Promise<void> {
  const detail = byId('detail');
  const instance = instances.find((i) => i.id === selected);
  if (!session || !instance) {
    detail.hidden = true;
    return;
  }
  detail.hidden = false;
  const a = instance.attributes;
  byId('detail-title').textContent = instance.title ? `${instance.id} — ${instance.title}` : instance.id;
  byId('detail-state').replaceChildren(h('span', { class: `state state-${text(a[STATE])}` }, text(a[STATE])), ` ${text(a[MESSAGE])}`);
  const links = LINKS.filter(([name]) => typeof a[name] === 'string' && a[name] !== '').map(([name, label]) =>
    h('a', { href: text(a[name]), target: '_blank', rel: 'noopener noreferrer' }, label),
  );
  byId('detail-links').replaceChildren(...links.flatMap((link, i) => (i === 0 ? [link] : [' · ', link])));
  const outputs = Object.keys(a)
    .filter((name) => name !== STATE && name !== MESSAGE)
    .sort()
    .flatMap((name) => [h('dt', {}, name), h('dd', {}, SECRET.test(name) ? hidden(name, text(a[name])) : text(a[name]))]);
  byId('detail-outputs').replaceChildren(...outputs);
  const scale = byId<HTMLInputElement>('scale-agents');
  if (document.activeElement !== scale) scale.value = text(a['mesos.agents']);
  byId<HTMLButtonElement>('retry').disabled = !instance.actions.some((action) => action.endsWith('#retry'));
  await appendEvents(session, instance.id);
}

async function appendEvents(current: Session, id: string): Promise<void> {
  let events: InstanceEvent[];
  try {
    events = await current.api.events(current.kind, id, lastSeq);
  } catch (error) {
    // Deleted since the list was read: the next look drops it.
    if (error instanceof ApiError && error.status === 404) return;
    throw error;
  }
  if (selected !== id || events.length === 0) return;
  lastSeq = events[events.length - 1].seq;
  byId('timeline').prepend(...events.map(eventItem).reverse());
}

/** A secret output, shown only when asked for (it stays out of screenshots and over-the-shoulder looks). */
function hidden(name: string, value: string): HTMLElement {
  const shown = revealed.has(name);
  const toggle = h('button', { type: 'button', class: 'link', 'aria-label': `${shown ? 'Hide' : 'Show'} ${name}` }, shown ? 'Hide' : 'Show');
  toggle.onclick = () => {
    if (revealed.has(name)) revealed.delete(name);
    else revealed.add(name);
    void renderDetail();
  };
  return h('span', {}, shown ? `${value} ` : '•••••••• ', toggle);
}

function eventItem(event: InstanceEvent): HTMLLIElement {
  const what = [event.type, event.state].filter(Boolean).join(' ');
  return h(
    'li',
    { value: String(event.seq) },
    h('time', { datetime: event.time }, new Date(event.time).toLocaleTimeString()),
    ` ${what} (${event.actor}) ${event.message ?? ''}`,
  );
}

function wireInstanceActions(): void {
  byId<HTMLFormElement>('scale-form').onsubmit = (event) => {
    event.preventDefault();
    const id = selected;
    const agents = Number(byId<HTMLInputElement>('scale-agents').value);
    if (!session || id === undefined || !window.confirm(`Scale ${id} to ${agents} agents?`)) return;
    const { api, kind } = session;
    void run(() => api.update(kind, id, { 'mesos.agents': agents }));
  };
  byId('retry').onclick = () => {
    const id = selected;
    if (!session || id === undefined || !window.confirm(`Retry ${id} from the phase that failed?`)) return;
    const { api, kind } = session;
    void run(() => api.act(kind, id, 'retry'));
  };
  byId('delete').onclick = () => {
    const id = selected;
    if (!session || id === undefined || !window.confirm(`Delete ${id} and all its VMs?`)) return;
    const { api, kind } = session;
    void run(() => api.remove(kind, id));
  };
}

function start(): void {
  wireInstanceActions();
  byId('sign-out').onclick = signOut;
  byId<HTMLFormElement>('sign-in-form').onsubmit = (event) => {
    event.preventDefault();
    const credentials = { tenant: byId<HTMLInputElement>('tenant').value.trim(), token: byId<HTMLInputElement>('token').value };
    signIn(credentials).catch((error: unknown) => {
      alertUser(error instanceof ApiError && error.status === 401 ? 'That tenant and token do not match.' : failure(error));
    });
  };
  const kept = sessionStorage.getItem(SESSION_KEY);
  if (kept) signIn(JSON.parse(kept) as Credentials).catch(signOut);
}

start();
