import type { AlertComparator, AlertState } from '../../db/types.ts';

/**
 * The rule state machine, pure so the live evaluation and the 24-hour preview run the same one:
 * a true condition makes an inactive rule pending (or firing at once when `for` is 0); a pending
 * rule fires once the condition has held for `for`; a false condition (or no data) resolves a
 * firing rule and drops a pending one back to inactive.
 */
export interface RuleState {
  state: AlertState;
  since: Date | null;
}

export type Transition = 'pending' | 'firing' | 'resolved' | 'cleared';

export function conditionHolds(
  value: number | null,
  comparator: AlertComparator,
  threshold: number,
): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  switch (comparator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

export function nextState(
  current: RuleState,
  holds: boolean,
  at: Date,
  forSeconds: number,
): { state: RuleState; transition: Transition | null } {
  if (!holds) {
    if (current.state === 'firing')
      return { state: { state: 'inactive', since: at }, transition: 'resolved' };
    if (current.state === 'pending')
      return { state: { state: 'inactive', since: at }, transition: 'cleared' };
    return { state: current, transition: null };
  }
  if (current.state === 'firing') return { state: current, transition: null };
  const pendingSince = current.state === 'pending' && current.since ? current.since : at;
  if (at.getTime() - pendingSince.getTime() >= forSeconds * 1000) {
    return { state: { state: 'firing', since: at }, transition: 'firing' };
  }
  if (current.state === 'pending') return { state: current, transition: null };
  return { state: { state: 'pending', since: at }, transition: 'pending' };
}

export interface PreviewResult {
  /** How often the rule would have started firing in the range. */
  firings: number;
  /** Minutes the rule would have spent firing. */
  firing_minutes: number;
  evaluations: number;
  /** Instants it would have started firing (the first few). */
  fired_at: Date[];
  max_value: number | null;
  /** Whether the range had any data point at all. */
  had_data: boolean;
}

/** Replays the state machine over values at `times` (equally spaced), starting inactive. */
export function simulate(
  values: Array<number | null>,
  times: Date[],
  rule: { comparator: AlertComparator; threshold: number; for_seconds: number },
): PreviewResult {
  let current: RuleState = { state: 'inactive', since: null };
  let firings = 0;
  let firingSteps = 0;
  let maxValue: number | null = null;
  const firedAt: Date[] = [];
  const stepMs = times.length > 1 ? (times[1] as Date).getTime() - (times[0] as Date).getTime() : 60_000;
  values.forEach((value, index) => {
    if (value !== null && (maxValue === null || value > maxValue)) maxValue = value;
    const at = times[index] as Date;
    const { state, transition } = nextState(
      current,
      conditionHolds(value, rule.comparator, rule.threshold),
      at,
      rule.for_seconds,
    );
    current = state;
    if (transition === 'firing') {
      firings++;
      if (firedAt.length < 20) firedAt.push(at);
    }
    if (current.state === 'firing') firingSteps++;
  });
  return {
    firings,
    firing_minutes: Math.round((firingSteps * stepMs) / 60_000),
    evaluations: values.length,
    fired_at: firedAt,
    max_value: maxValue,
    had_data: values.some((value) => value !== null),
  };
}
