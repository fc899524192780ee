/**
 * How transports that store messages in a table (embedded SQLite, PostgreSQL)
 * encode priority: a small integer, smaller handed out first, so that one
 * index in `(priority, seq)` order serves every claim.
 */
export const PRIORITY_RANK = { high: 0, normal: 1, low: 2 } as const;
/** The inverse of {@link PRIORITY_RANK}: rank → name. */
export const PRIORITY_NAME = ['high', 'normal', 'low'] as const;
