/** Reasons raised by the `sluice` command line. Each one is listed in `docs/errors.md`. */
export const CliReasons = {
  /** A flag or argument is malformed (`invalid_argument`). */
  INVALID_OPTION: 'CLI_INVALID_OPTION',
  /** The gateway could not be reached (`unavailable`): the shop is not running, or the URL is wrong. */
  GATEWAY_UNREACHABLE: 'CLI_GATEWAY_UNREACHABLE',
} as const;
