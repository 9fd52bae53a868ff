/**
 * What one round of probing saw, before any judgement: the answers (or the
 * failure) of each master, of the leader's agent list, and of Marathon.
 */

/** An HTTP answer, or why there was none (refused, timed out, ...). */
export type Answer = { readonly status: number; readonly body: string; readonly location?: string } | { readonly error: string };

export interface MasterObservation {
  readonly address: string;
  readonly health: Answer;
  readonly metrics: Answer;
  readonly redirect: Answer;
}

export interface MarathonObservation {
  readonly address: string;
  readonly ping: Answer;
  readonly info: Answer;
}

export interface Observation {
  readonly masters: readonly MasterObservation[];
  /** The leader's /master/slaves (after following redirects), when a leader was found. */
  readonly slaves?: { readonly from: string; readonly answer: Answer };
  /** The leader's /master/frameworks, when Marathon is expected. */
  readonly frameworks?: { readonly from: string; readonly answer: Answer };
  readonly marathons: readonly MarathonObservation[];
  /** The elected Marathon's /v2/queue, when one is elected. */
  readonly queue?: Answer;
}

export function isAnswer(answer: Answer): answer is Extract<Answer, { readonly status: number }> {
  return 'status' in answer;
}

export function describeAnswer(answer: Answer): string {
  if (!isAnswer(answer)) return answer.error;
  return `HTTP ${answer.status}${answer.body ? ` ${answer.body.slice(0, 80)}` : ''}`;
}

/** Parses a JSON answer body; undefined when it is not a 200 with JSON. */
export function jsonOf(answer: Answer | undefined): unknown {
  if (!answer || !isAnswer(answer) || answer.status !== 200) return undefined;
  try {
    return JSON.parse(answer.body);
  } catch {
    return undefined;
  }
}
