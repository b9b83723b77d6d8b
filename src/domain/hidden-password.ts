// A store value as an error shows it when it is not a PostgreSQL URL (see CORE-012): a typo in the
// scheme (`postgress://`, `mysql://`) or none at all still carries the password, so it is `***`
// there as in every other message. Hiding a little too much is harmless; a password is not.

/** Query parameters that carry a secret, as libpq and `pg` read them (`?password=...`). */
export const SECRET_PARAMETERS = ['password', 'sslpassword'] as const;

const SECRET_PARAMETER = new RegExp(`([?&](?:${SECRET_PARAMETERS.join('|')})=)[^&#]*`, 'gi');

/**
 * `value` with what may be a password hidden, whatever its scheme: the text between the first `:`
 * of the authority (after `scheme://`, else from the start) and the last `@`, and every
 * `password` or `sslpassword` parameter.
 */
export function hidePassword(value: string): string {
  const separator = value.indexOf('://');
  const authority = separator === -1 ? 0 : separator + 3;
  const at = value.lastIndexOf('@');
  const colon = value.indexOf(':', authority);
  const shown = colon !== -1 && colon < at ? `${value.slice(0, colon + 1)}***${value.slice(at)}` : value;
  return shown.replace(SECRET_PARAMETER, '$1***');
}
