import cliProgress from 'cli-progress';
import { stageIndex, type Sighting } from './wait.js';

/** How a wait shows itself: a live bar on a terminal, a line per change otherwise, nothing for --json. */
export type ProgressMode = 'terminal' | 'lines' | 'none';

export interface Progress {
  show(sighting: Sighting, elapsedMs: number): void;
  end(): void;
}

export function elapsedText(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

function describe(sighting: Sighting): { state: string; message: string } {
  return sighting.kind === 'gone' ? { state: 'gone', message: '' } : { state: sighting.state, message: sighting.message };
}

export function progressFor(mode: ProgressMode, stages: readonly string[], stream: NodeJS.WritableStream): Progress {
  if (mode === 'terminal') return terminalProgress(stages, stream);
  if (mode === 'lines') return lineProgress(stream);
  return { show: () => undefined, end: () => undefined };
}

function terminalProgress(stages: readonly string[], stream: NodeJS.WritableStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {stage}/{total} {state} {elapsed}  {message}',
      stream,
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      linewrap: false,
      // Redrawn by each sighting; no timer of its own.
      noTTYOutput: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    show(sighting, elapsedMs) {
      const at = stageIndex(stages, sighting) + 1;
      const payload = { ...describe(sighting), elapsed: elapsedText(elapsedMs), stage: at };
      if (!started) bar.start(stages.length, at, payload);
      else bar.update(at, payload);
      started = true;
    },
    end() {
      if (started) bar.stop();
    },
  };
}

function lineProgress(stream: NodeJS.WritableStream): Progress {
  let last = '';
  return {
    show(sighting, elapsedMs) {
      const { state, message } = describe(sighting);
      // Messages often begin with their state already ("provision: …").
      const line = message === '' ? state : message.startsWith(state) ? message : `${state}: ${message}`;
      if (line === last) return;
      last = line;
      stream.write(`${elapsedText(elapsedMs).padStart(6)}  ${line}\n`);
    },
    end: () => undefined,
  };
}
