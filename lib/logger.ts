import { Writable } from 'node:stream';
import winston from 'winston';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; standard output when absent. */
  stream?: Writable;
}

/** Terminals get one readable line per entry; everything else gets JSON lines. */
export function chooseLogFormat(setting: 'auto' | LogFormat, isTty: boolean): LogFormat {
  if (setting !== 'auto') return setting;
  return isTty ? 'text' : 'json';
}

/**
 * Control characters and the Unicode line and paragraph separators, which
 * would let a value (a tenant's attribute, a peer's answer) start a forged
 * line of its own or hide text from a terminal.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A value as it may stand in one text line: unsafe characters become \n, \u2028 and the like. */
export function oneLine(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

const textLine = winston.format.printf((info) => {
  const { timestamp, level, message, requestId, ...rest } = info;
  const id = typeof requestId === 'string' ? ` [${oneLine(requestId)}]` : '';
  const fields = Object.entries(rest)
    .map(([key, value]) => `${oneLine(key)}=${oneLine(typeof value === 'string' ? value : JSON.stringify(value))}`)
    .join(' ');
  return `${String(timestamp)} ${level.padEnd(5)}${id} ${oneLine(String(message))}${fields ? ` ${fields}` : ''}`;
});

const MESSAGE = Symbol.for('message');

/** JSON leaves NEL and the Unicode separators as they are; some readers split lines there. */
const jsonSeparators = winston.format((info) => {
  const line = (info as Record<symbol, unknown>)[MESSAGE];
  if (typeof line === 'string')
    (info as Record<symbol, unknown>)[MESSAGE] = line.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return info;
});

export function createLogger(options: LoggerOptions): Logger {
  const format =
    options.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json(), jsonSeparators())
      : winston.format.combine(winston.format.timestamp(), textLine);
  const transport = options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console();
  return winston.createLogger({ level: options.level, format, transports: [transport] });
}

/** A logger that keeps its lines in memory, for tests that inspect what was logged. */
export function createMemoryLogger(level: LogLevel = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level, format: 'json', stream }), lines };
}
