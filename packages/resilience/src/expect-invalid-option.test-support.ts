/** Asserts that `build` throws the invalid-option error naming `field` (throws otherwise). */
export function expectInvalidOption(build: () => unknown, field: string): void {
  try {
    build();
  } catch (error) {
    const e = error as { code?: unknown; reason?: unknown; details?: { violations?: { field?: unknown }[] } };
    if (
      e.code === 'invalid_argument' &&
      e.reason === 'RESILIENCE_INVALID_OPTION' &&
      e.details?.violations?.[0]?.field === field
    )
      return;
    throw new Error(`expected the invalid-option error for ${field}, got ${String(error)}`);
  }
  throw new Error(`expected the invalid-option error for ${field}, nothing was thrown`);
}
