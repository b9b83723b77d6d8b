// What Linux lets one environment variable hold, shared by the checks that keep a value under it:
// a host var (`validate`, CORE-005) and a secret (CORE-010), both handed to commands in their
// environment.

/**
 * Linux holds one environment string, `NAME=value` and its NUL, to 128 KiB (MAX_ARG_STRLEN): a
 * longer one fails every command that gets it with E2BIG, once the run has started.
 */
export const MAX_ENV_STRING_BYTES = 128 * 1024;

/**
 * Linux holds one argument of a program, with its NUL, to the same 128 KiB (MAX_ARG_STRLEN): an
 * ssh command line is one, for the ssh client here and for the login shell on the host (CORE-007).
 */
export const MAX_ARGUMENT_BYTES = 128 * 1024;
