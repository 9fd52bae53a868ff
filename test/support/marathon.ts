/** A cluster's Marathon as its owner calls it: at its URL, with its credentials, both from the cluster's outputs. */
export type MarathonCall = (path: string, init?: { readonly method?: string; readonly body?: unknown }) => Promise<Response>;

export function marathonOf(outputs: Readonly<Record<string, unknown>>): MarathonCall {
  const url = String(outputs['mesos.marathon.url']);
  const authorization = `Basic ${Buffer.from(`${String(outputs['mesos.marathon.user'])}:${String(outputs['mesos.marathon.password'])}`).toString('base64')}`;
  return (path, init = {}) =>
    fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: authorization, ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
}
