import { type FieldViolation, SluiceError } from '@sluice/errors';
import { CliReasons } from '../reasons.js';

/** The kinds of order a load run sends. */
export const SCENARIOS = ['good', 'out-of-stock', 'declined-card', 'duplicate-request'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Weights of each scenario; they need not add up to 100. */
export type OrderMix = Readonly<Record<Scenario, number>>;

/** The default mix: mostly good orders, some of each failure. */
export const DEFAULT_MIX: OrderMix = {
  good: 85,
  'out-of-stock': 5,
  'declined-card': 5,
  'duplicate-request': 5,
};

/**
 * Parses `good=80,declined-card=20` (unnamed scenarios get 0). Throws a
 * `SluiceError` (`invalid_argument`) naming every bad part.
 */
export function parseMix(text: string): OrderMix {
  const mix: Record<Scenario, number> = {
    good: 0,
    'out-of-stock': 0,
    'declined-card': 0,
    'duplicate-request': 0,
  };
  const violations: FieldViolation[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z-]+)=(\d{1,6})$/.exec(part);
    if (!m) {
      violations.push({ field: part, message: 'expected <scenario>=<weight>, e.g. good=80' });
      continue;
    }
    const [, name, weight] = m as unknown as [string, string, string];
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      violations.push({ field: name, message: `unknown scenario; one of ${SCENARIOS.join(', ')}` });
      continue;
    }
    mix[name as Scenario] = Number(weight);
  }
  if (violations.length === 0 && Object.values(mix).every((w) => w === 0)) {
    violations.push({ field: 'mix', message: 'at least one scenario needs a weight above 0' });
  }
  if (violations.length > 0) {
    throw new SluiceError({
      code: 'invalid_argument',
      reason: CliReasons.INVALID_OPTION,
      message: `invalid --mix: ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`,
      details: { violations },
    });
  }
  return mix;
}

/** Picks a scenario by weight from a uniform random number in [0, 1). */
export function pickScenario(mix: OrderMix, random: number): Scenario {
  const total = SCENARIOS.reduce((s, k) => s + mix[k], 0);
  let x = random * total;
  for (const k of SCENARIOS) {
    x -= mix[k];
    if (x < 0) return k;
  }
  // Floating-point edge: the last scenario with a weight.
  return [...SCENARIOS].reverse().find((k) => mix[k] > 0) ?? 'good';
}
