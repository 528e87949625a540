/**
 * The sessionkeeper tour: one user, three devices, on a SQLite file. Run it with `npm run tour`.
 * Copy from it: every call here is the public API, imported the way your app would import it.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSessionManager, type Session } from 'sessionkeeper';
import { sqliteStore } from 'sessionkeeper/sqlite';

const filename = join(tmpdir(), `sessionkeeper-demo-${process.pid}.db`);
// A clock we can move, to show idle expiry without waiting half an hour.
let now = Date.now();
const clock = () => new Date(now);
const advance = (ms: number) => (now += ms);

const store = sqliteStore({ filename });
await store.migrate();
const sessions = createSessionManager({
  store,
  idleTimeout: '30m',
  absoluteTimeout: '7d',
  touchInterval: '1m',
  maxSessionsPerUser: 3,
  onLimit: 'evict-oldest',
  clock,
});
sessions.on('revoked', ({ session, reason }) => log(`event: revoked ${session.id} (${reason})`));

const log = (line: string) => console.log(`  ${line}`);
const describe = (s: Session) =>
  `${s.id} ${s.status.padEnd(7)} ${String(s.device?.label ?? 'unknown device').padEnd(34)} ip ${String(s.ip).padEnd(14)} last active ${new Date(s.lastActiveAt).toISOString()}`;
const UA = {
  laptop: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  phone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  tablet: 'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  tv: 'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.128 Safari/537.36 WebAppManager',
};

console.log(`SQLite file: ${filename}\n`);

console.log('1. Alice signs in on her laptop and her phone');
const laptop = await sessions.create({ userId: 'alice', ip: '203.0.113.7', userAgent: UA.laptop, metadata: { theme: 'dark' } });
advance(60_000);
const phone = await sessions.create({ userId: 'alice', ip: '198.51.100.4', userAgent: UA.phone });
log(`laptop session ${laptop.session.id} (${laptop.session.device?.label}), token ${laptop.token.slice(0, 8)}… (only its SHA-256 is stored)`);
log(`stored address: ${laptop.session.ip} (the /24 network by default; set ipHashKey for a keyed hash)`);
log(`phone session  ${phone.session.id}`);

console.log('\n2. Each request validates its token');
const check = await sessions.validate(laptop.token, { ip: '203.0.113.7' });
log(check.ok ? `laptop token is valid for user ${check.session.userId}` : `laptop token rejected: ${check.reason}`);
const stolen = await sessions.validate(laptop.token, { userAgent: UA.phone });
log(`the same token from an iPhone: deviceChanged = ${stolen.ok && stolen.deviceChanged}`);
sessions.activity.record(laptop.session, { method: 'GET', path: '/api/v1/conversations/42?q=secret', status: 200, durationMs: 14 });
sessions.activity.record(laptop.session, { method: 'POST', path: '/auth/password', status: 204, details: { password: 'hunter2' } });
log(`a made-up token: ${JSON.stringify(await sessions.validate('skt_' + 'x'.repeat(32)))}`);
log(`garbage from a client: ${JSON.stringify(await sessions.validate('not a token'))}`);

console.log('\n3. Metadata updates merge atomically');
const updated = await sessions.update(laptop.session.id, { metadata: { cart: 3 } });
log(`laptop metadata: ${JSON.stringify(updated.metadata)}`);

console.log('\n4. After login the app rotates the token; the old one stops working');
const rotated = await sessions.rotate(laptop.token);
log(`old token: ${JSON.stringify(await sessions.validate(laptop.token))}`);
log(`new token valid: ${(await sessions.validate(rotated.token)).ok}`);

console.log('\n5. "Keep me signed in" extends the idle deadline (never past the 7-day cap)');
const extended = await sessions.extend(laptop.session.id, '2h');
log(`laptop now idles out at ${new Date(extended.expiresAt).toISOString()}`);

console.log('\n6. A tablet and a TV sign in: the limit of 3 evicts the least recently active');
advance(120_000);
await sessions.validate(rotated.token); // the laptop was just used, so the phone is the oldest
const tablet = await sessions.create({ userId: 'alice', userAgent: UA.tablet });
const tv = await sessions.create({ userId: 'alice', userAgent: UA.tv });
for (const s of await sessions.list('alice', { includeInactive: true })) log(describe(s));

console.log('\n7. 31 minutes pass; the TV was used at minute 20, the tablet not at all');
advance(20 * 60_000);
await sessions.validate(tv.token);
advance(11 * 60_000);
log(`tablet token: ${JSON.stringify(await sessions.validate(tablet.token))}`);
log(`TV token valid: ${(await sessions.validate(tv.token)).ok}, laptop (extended) token valid: ${(await sessions.validate(rotated.token)).ok}`);
log(`evicted phone token: ${JSON.stringify(await sessions.validate(phone.token))}`);

console.log('\n8. Alice clicks "sign out everywhere else" on her laptop');
const revokedCount = await sessions.revokeAll('alice', { except: laptop.session.id, reason: 'security_logout' });
log(`revoked ${revokedCount} other session${revokedCount === 1 ? '' : 's'}`);
log(`active sessions left: ${await sessions.count('alice')}`);

console.log('\n9. What the laptop did (activity is written in batches; flush() to read it back)');
await sessions.activity.flush();
for (const row of (await sessions.activity.list({ sessionId: laptop.session.id })).items) {
  log(`${row.category.padEnd(5)} ${row.method} ${row.path} -> ${row.status} ${row.resourceType ? `[${row.resourceType} ${row.resourceId}]` : ''} ${row.details ? JSON.stringify(row.details) : ''}`);
}

console.log('\n10. Security alerts: the rules watched all of the above');
// A thief replays the laptop's token from before the rotation, and someone guesses tokens.
await sessions.validate(laptop.token, { ip: '192.0.2.99' });
for (let i = 0; i < 20; i++) await sessions.validate(`skt_${String(i).padStart(32, 'g')}`, { ip: '192.0.2.99' });
await sessions.alerts.flush(); // rules run after each request; wait for them here
const { items: alerts } = await sessions.alerts.list();
for (const alert of alerts.toReversed()) {
  log(`${alert.severity.padEnd(6)} ${alert.type.padEnd(18)} x${alert.count} ${alert.userId ?? '(no user)'} ${JSON.stringify(alert.evidence)}`);
}
const theft = alerts.find((a) => a.type === 'revokedTokenReuse');
if (theft) log(`resolved: ${(await sessions.alerts.resolve(theft.id, { note: 'laptop token was leaked; password reset' })).status}`);

console.log('\n11. Statistics');
const stats = await sessions.stats({ userId: 'alice' });
log(`total ${stats.total}, active ${stats.active}, expired ${stats.expired}, revoked ${stats.revoked}, peak ${stats.peakConcurrent.count} at once`);
log(`by device class: ${JSON.stringify(stats.byDeviceClass)}`);

console.log('\n12. Sign out, and clean up ended sessions');
await sessions.revoke(laptop.session.id, { reason: 'logout' });
log(`deleted ${await sessions.cleanup({ olderThan: 0 })} ended sessions`);

await sessions.close();
console.log(`\nDone. Inspect the file with: sqlite3 ${filename} 'select id, user_id, revoke_reason from sessions'`);
