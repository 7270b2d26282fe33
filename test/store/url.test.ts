// Store URLs: adapter options in the query, the forms users write, precedence over settings
// given elsewhere, and no password in any message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigInvalidError, redactError, redactSecrets, redactStoreUrl } from '../../src/core/index.ts';
import { applyStoreSettings, openStore, parseStoreUrl } from '../../src/store/index.ts';
import type { StoreUrl } from '../../src/store/index.ts';
import { tempDir } from './helpers.ts';

function problemsOf(url: string): string[] {
  try {
    parseStoreUrl(url);
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError);
    return err.problems;
  }
  assert.fail(`expected ${url} to be refused`);
}

test('memory and sqlite:PATH parse, with SQLite options from the query and defaults otherwise', () => {
  assert.deepEqual(parseStoreUrl('memory'), { kind: 'memory' });
  assert.deepEqual(parseStoreUrl('sqlite:./data/tidepool.db'), {
    kind: 'sqlite', path: './data/tidepool.db', options: { durability: 'full', busyTimeoutMs: 5000 }, given: [],
  });
  assert.equal((parseStoreUrl('sqlite:tidepool.db') as { path: string }).path, 'tidepool.db');
  assert.equal((parseStoreUrl('sqlite:///var/lib/t.db') as { path: string }).path, '/var/lib/t.db');
  assert.deepEqual(parseStoreUrl('sqlite:./t.db?durability=normal&busyTimeoutMs=250'), {
    kind: 'sqlite', path: './t.db', options: { durability: 'normal', busyTimeoutMs: 250 }, given: ['durability', 'busyTimeoutMs'],
  });
});

test('bad SQLite URLs are refused naming the option, the value and what is allowed, all at once', () => {
  assert.deepEqual(problemsOf('sqlite:./t.db?durability=fast&busyTimeoutMs=-1&journal=wal'), [
    'store: got "sqlite:./t.db?durability=fast&busyTimeoutMs=-1&journal=wal"; option durability="fast"; expected "full" or "normal"',
    'store: got "sqlite:./t.db?durability=fast&busyTimeoutMs=-1&journal=wal"; option busyTimeoutMs="-1"; expected an integer >= 0 (ms)',
    'store: got "sqlite:./t.db?durability=fast&busyTimeoutMs=-1&journal=wal"; unknown SQLite option "journal"; known options: durability, busyTimeoutMs, foreignTables',
  ]);
  assert.match(problemsOf('sqlite:')[0], /the SQLite file path is empty/);
  assert.match(problemsOf('mongo://x')[0], /^store: got "mongo:\/\/x"; unknown store kind; supported: memory, sqlite:PATH/);
});

test('postgres:// and postgresql:// parse as users write them; schema= is Tidepool\'s, the rest goes to the driver', () => {
  const pg = parseStoreUrl('postgres://app:p%40ss@db.internal:6543/queue?schema=team_a&sslmode=require&application_name=tp');
  assert.equal(pg.kind, 'postgres');
  assert.deepEqual(pg, {
    kind: 'postgres',
    connectionString: 'postgres://app:p%40ss@db.internal:6543/queue?sslmode=require&application_name=tp',
    host: 'db.internal', port: 6543, database: 'queue', user: 'app', password: 'p@ss',
    schema: 'team_a', sslmode: 'require', driverParams: { sslmode: 'require', application_name: 'tp' },
  } satisfies StoreUrl);
  const plain = parseStoreUrl('postgresql://postgres@127.0.0.1/test');
  assert.deepEqual(
    plain.kind === 'postgres' && [plain.connectionString, plain.port, plain.schema, plain.sslmode, plain.password],
    ['postgresql://postgres@127.0.0.1/test', 5432, 'tidepool', null, null],
  );
  assert.deepEqual(problemsOf('postgres://h/db?schema=1bad-name&sslmode=always'), [
    'store: got "postgres://h/db?schema=1bad-name&sslmode=always"; option schema="1bad-name"; expected a name of letters, digits and _ (not starting with a digit), at most 63 characters',
    'store: got "postgres://h/db?schema=1bad-name&sslmode=always"; option sslmode="always"; expected one of disable, allow, prefer, require, verify-ca, verify-full, no-verify',
  ]);
});

test('redis:// and rediss:// parse with the path as the database number and prefix= as Tidepool\'s option', () => {
  assert.deepEqual(parseStoreUrl('redis://127.0.0.1:6379/5'), {
    kind: 'redis', connectionString: 'redis://127.0.0.1:6379/5', host: '127.0.0.1', port: 6379, db: 5,
    username: null, password: null, tls: false, prefix: 'tidepool',
  } satisfies StoreUrl);
  const tls = parseStoreUrl('rediss://default:s3cret@cache.example:6380?prefix=team-a');
  assert.deepEqual(
    tls.kind === 'redis' && [tls.tls, tls.db, tls.port, tls.username, tls.password, tls.prefix, tls.connectionString],
    [true, 0, 6380, 'default', 's3cret', 'team-a', 'rediss://default:s3cret@cache.example:6380'],
  );
  const bare = parseStoreUrl('redis://localhost');
  assert.deepEqual(bare.kind === 'redis' && [bare.port, bare.db], [6379, 0]);
  assert.deepEqual(problemsOf('redis://:pw@h/five?prefix=a b&db=2'), [
    'store: got "redis://:***@h/five?prefix=a b&db=2"; option prefix="a b"; expected 1-100 characters of letters, digits and _ . : -',
    'store: got "redis://:***@h/five?prefix=a b&db=2"; unknown Redis option "db"; known options: prefix',
    'store: got "redis://:***@h/five?prefix=a b&db=2"; the path "/five" is the database number; expected an integer >= 0 (e.g. redis://host:6379/5)',
  ]);
});

test('a password in a store URL never appears in a message: userinfo, query and text around it are redacted', () => {
  assert.equal(redactStoreUrl('postgres://app:s3cr@t@db:5432/x?schema=a'), 'postgres://app:***@db:5432/x?schema=a');
  assert.equal(redactStoreUrl('redis://:pw@h:6379/5'), 'redis://:***@h:6379/5');
  assert.equal(redactStoreUrl('postgresql://h/db?password=abc&sslmode=require'), 'postgresql://h/db?password=***&sslmode=require');
  assert.equal(redactStoreUrl('postgres://postgres@127.0.0.1:5432/test'), 'postgres://postgres@127.0.0.1:5432/test');
  assert.equal(redactSecrets('connect redis://a:b@c/1 and http://x/y failed'), 'connect redis://a:***@c/1 and http://x/y failed');
  for (const url of ['postgres://u:hunter2@h/db?schema=-', 'rediss://u:hunter2@h/x', 'postgres://u:hunter2@h:notaport/db']) {
    const problems = problemsOf(url);
    assert.ok(problems.length > 0);
    for (const p of problems) assert.doesNotMatch(p, /hunter2/, p);
  }
  const err = redactError(new Error('cannot reach postgres://u:hunter2@h/db', { cause: new Error('at redis://:hunter2@r/0') }));
  assert.doesNotMatch(`${err.message} ${(err.cause as Error).message} ${err.stack}`, /hunter2/);
  assert.doesNotMatch(JSON.stringify({ store: redactStoreUrl('redis://:hunter2@r/0') }), /hunter2/);
});

test('a URL option wins over the same setting given elsewhere, with a warning; a setting the URL leaves out applies', async () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const url = parseStoreUrl('sqlite:./t.db?durability=normal');
  const kept = applyStoreSettings(url, { durability: 'full' }, 'flag --durability', warn);
  assert.equal(kept.kind === 'sqlite' && kept.options.durability, 'normal');
  assert.deepEqual(warnings, ['store URL option durability=normal wins over durability "full" from flag --durability']);
  const same = applyStoreSettings(url, { durability: 'normal' }, 'flag --durability', warn);
  assert.equal(same.kind === 'sqlite' && same.options.durability, 'normal');
  assert.equal(warnings.length, 1, 'no warning when both say the same');
  const filled = applyStoreSettings(parseStoreUrl('sqlite:./t.db'), { durability: 'normal' }, 'x', warn);
  assert.equal(filled.kind === 'sqlite' && filled.options.durability, 'normal');
  assert.equal(applyStoreSettings(parseStoreUrl('memory'), { durability: 'normal' }, 'x', warn).kind, 'memory');

  const dir = tempDir();
  const store = await openStore(`sqlite:${dir}/w.db?durability=normal`, {}, { settings: { durability: 'full' }, settingsSource: 'tidepool.json', onWarning: warn });
  assert.equal((store as unknown as { sqlite: { durability: string } }).sqlite.durability, 'normal');
  assert.equal(warnings.at(-1), 'store URL option durability=normal wins over durability "full" from tidepool.json');
  await store.close();
});
