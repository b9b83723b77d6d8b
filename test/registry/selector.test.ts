// CORE-005, selectors: names, `@tag`, `*` globs and `!exclusions`, comma-separated; a selector
// that selects nothing or names an unknown host or tag is an error, never a silent no-op.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors/user-error.js';
import { resolveSelector, selectHosts } from '../../src/registry/selector.js';
import type { Registry } from '../../src/registry/types.js';

const HOSTS = [
  { id: 'web1', tags: ['web', 'eu'] },
  { id: 'web2', tags: ['web', 'us'] },
  { id: 'db1', tags: ['db', 'eu'] },
  { id: 'cache-eu', tags: [] },
];
const select = (selector: string) => resolveSelector(HOSTS, selector);

describe('resolveSelector', () => {
  it('selects names and tags, in file order whatever the order of the terms', () => {
    expect(select('db1,@web')).toEqual({ ok: true, hosts: ['web1', 'web2', 'db1'] });
  });

  it('matches globs against host ids', () => {
    expect(select('web*')).toEqual({ ok: true, hosts: ['web1', 'web2'] });
    expect(select('*-eu')).toEqual({ ok: true, hosts: ['cache-eu'] });
    expect(select('*')).toEqual({ ok: true, hosts: ['web1', 'web2', 'db1', 'cache-eu'] });
  });

  it('subtracts exclusions; only exclusions means every host except those', () => {
    expect(select('@eu,!db1')).toEqual({ ok: true, hosts: ['web1'] });
    expect(select('!@web')).toEqual({ ok: true, hosts: ['db1', 'cache-eu'] });
    expect(select('*, !web*, !@db')).toEqual({ ok: true, hosts: ['cache-eu'] });
  });

  it('rejects unknown names and tags with a suggestion', () => {
    expect(select('web1,db2')).toEqual({ ok: false, message: 'unknown host `db2`', hint: 'did you mean `db1`?' });
    expect(select('@wbe')).toEqual({ ok: false, message: 'unknown tag `@wbe`', hint: 'did you mean `@web`?' });
    expect(select('!nosuch')).toMatchObject({ ok: false, message: 'unknown host `nosuch`' });
  });

  it('rejects a selector that selects nothing, and an empty term', () => {
    expect(select('@web,!web*')).toMatchObject({ ok: false, message: 'selector `@web,!web*` matches no host' });
    expect(select('zzz*')).toMatchObject({ ok: false, message: 'selector `zzz*` matches no host' });
    expect(select('web1,,db1')).toMatchObject({ ok: false, message: 'selector `web1,,db1` has an empty term' });
  });
});

describe('selector globs', () => {
  it('support `?`, `[...]` (ranges, `!` and `^` negation) and `{a,b}`, whose commas do not split terms', () => {
    expect(select('web?')).toEqual({ ok: true, hosts: ['web1', 'web2'] });
    expect(select('web[2-9]')).toEqual({ ok: true, hosts: ['web2'] });
    expect(select('web[!2]')).toEqual({ ok: true, hosts: ['web1'] });
    expect(select('*[^0-9]')).toEqual({ ok: true, hosts: ['cache-eu'] });
    expect(select('{db,cache}*')).toEqual({ ok: true, hosts: ['db1', 'cache-eu'] });
    expect(select('{web{1,2},db1}, !web2')).toEqual({ ok: true, hosts: ['web1', 'db1'] });
    expect(select('w**1')).toEqual({ ok: true, hosts: ['web1'] });
  });

  // Terms that made a backtracking matcher run for ever are tested through the CLI, in a child
  // process with a timeout (test/e2e/selector-bounds.test.ts): a synchronous hang here could not
  // be interrupted by the test timeout.
  it('refuse what is out of bounds or malformed, with the reason', () => {
    expect(select('+(web|db)*')).toMatchObject({ ok: false, message: 'selector term `+(web|db)*` cannot contain `+`' });
    // Without a glob character too: the syntax error, not "unknown host".
    for (const [term, char] of [
      ['+(web1|db1)', '+'],
      ['web(1)', '('],
      ['web1|db1', '|'],
      ['web 1', ' '],
    ]) {
      expect(select(term!)).toMatchObject({
        ok: false,
        message: `selector term \`${term}\` cannot contain \`${char}\``,
        hint: expect.stringContaining('`*`, `?`, `[...]` and `{a,b}`'),
      });
    }
    expect(select('web[12')).toMatchObject({
      ok: false,
      message: 'selector term `web[12` has a `[` that is never closed',
    });
    expect(select('{web,db')).toMatchObject({
      ok: false,
      message: 'selector term `{web,db` has a `{` that is never closed',
    });
    const many = '{a,b,c,d}'.repeat(5);
    expect(select(many)).toMatchObject({
      ok: false,
      message: `selector term \`${many}\` expands to more than 256 alternatives`,
    });
    expect(select(`*${'?'.repeat(300)}`)).toMatchObject({
      ok: false,
      message: 'selector term is 301 characters long, more than 256',
    });
  });
});

describe('selectHosts', () => {
  const registry = {
    hosts: new Map(HOSTS.map((h) => [h.id, { ...h, transport: 'local', address: h.id, vars: {} }])),
  } as unknown as Registry;

  it('selects every host when no selector is given', () => {
    expect(selectHosts(registry, undefined)).toEqual(['web1', 'web2', 'db1', 'cache-eu']);
  });

  it('throws a UserError with exit code 2 when nothing matches', () => {
    try {
      selectHosts(registry, '@nope');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).exitCode).toBe(2);
      expect((error as UserError).message).toBe('unknown tag `@nope`');
      expect((error as UserError).hint).toMatch(/^known tags: @/);
    }
  });
});
