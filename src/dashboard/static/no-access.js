// The page for an address without a valid token: how to get in (see CORE-004).
import { el } from './dom.js';

/** Shown instead of the dashboard when the address has no token or a refused one. */
export function renderNoAccess(reason) {
  const origin = location.origin;
  document
    .getElementById('no-access')
    .replaceChildren(
      el('h1', {}, 'This dashboard needs its access token'),
      el('p', {}, reason),
      el(
        'p',
        {},
        'Open the address that ',
        el('code', {}, 'nixfleet serve'),
        ' printed when it started: it ends in ',
        el('code', {}, '/?token=…'),
        '.',
      ),
      el(
        'p',
        {},
        'Lost it? Restart the server with a token you choose, ',
        el('code', {}, 'nixfleet serve --token YOUR_TOKEN'),
        ' (or set ',
        el('code', {}, 'NIXFLEET_TOKEN'),
        '), and open ',
        el('code', {}, `${origin}/?token=YOUR_TOKEN`),
        '.',
      ),
    );
  document.body.dataset.access = 'none';
}
