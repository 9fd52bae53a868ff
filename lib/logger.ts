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

const textLine = winston.format.printf((info) => {
  const { timestamp, level, message, requestId, ...rest } = info;
  const id = typeof requestId === 'string' ? ` [${requestId}]` : '';
  const fields = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${String(timestamp)} ${level.padEnd(5)}${id} ${String(message)}${fields ? ` ${fields}` : ''}`;
});

export function createLogger(options: LoggerOptions): Logger {
  const format =
    options.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(winston.format.timestamp(), textLine);
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
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
