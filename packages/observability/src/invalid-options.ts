import { SluiceError } from '@sluice/errors';
import { ObservabilityReasons } from './reasons.js';

/**
 * The error every factory of this package throws for a bad option:
 * `invalid_argument` / `OBSERVABILITY_INVALID_OPTION` with the field named
 * in `details.violations`.
 * @internal
 */
export function invalidOption(where: string, field: string, message: string): SluiceError {
  return new SluiceError({
    code: 'invalid_argument',
    reason: ObservabilityReasons.OBSERVABILITY_INVALID_OPTION,
    message: `${where}: ${field} ${message}`,
    details: { violations: [{ field, message }] },
  });
}
