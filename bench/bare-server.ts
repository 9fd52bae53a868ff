/**
 * The yardstick of `npm run bench`: a bare express app that answers each
 * recorded request (path and Accept) with the recorded status, headers and
 * body, and does nothing else. Started by the benchmark with the file of
 * recorded answers; prints its URL.
 */
import { readFileSync } from 'node:fs';
import express from 'express';

interface Recorded {
  readonly path: string;
  readonly accept: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const answers = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Recorded[];
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('*splat', (req, res) => {
  const answer = answers.find((a) => a.path === req.originalUrl && a.accept === (req.get('accept') ?? ''));
  if (!answer) {
    res.status(404).end();
    return;
  }
  res.status(answer.status).set(answer.headers).send(answer.body);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`http://127.0.0.1:${address.port}\n`);
});
