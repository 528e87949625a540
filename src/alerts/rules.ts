import type { AlertSeverity, RotatedToken, Session, SessionDevice } from '../contracts.js';
import type { DeviceInfo } from '../device/index.js';
import { LruCache } from '../internal/lru-cache.js';
import { parseDuration } from '../duration.js';
import { invalidConfig } from '../errors.js';
import { parseIp } from '../net/ip-address.js';
import { ALERT_SEVERITIES } from './severity.js';
import type { AlertEvent, AlertFinding, AlertRule, AlertRuleContext, BuiltinRuleOptions, BuiltinRules, GeoLocation } from './types.js';

/**
 * The built-in rules with their settings applied, in a stable order. `hasGeo` says whether a geo
 * resolver is configured: impossibleTravel is on by default only then.
 */
export function builtinRules(config: BuiltinRules = {}, hasGeo: boolean): AlertRule[] {
  if (config === null || typeof config !== 'object') invalidConfig('alerts.rules', 'must be an object');
  for (const name of Object.keys(config)) {
    if (!(name in FACTORIES)) invalidConfig(`alerts.rules.${name}`, `is not a built-in rule (${Object.keys(FACTORIES).join(', ')}); add your own under alerts.custom`);
  }
  const rules: AlertRule[] = [];
  for (const [name, factory] of Object.entries(FACTORIES) as [keyof BuiltinRules, (o: any) => AlertRule][]) {
    const options = config[name];
    if (options === false) continue;
    if (options !== undefined && (options === null || typeof options !== 'object')) invalidConfig(`alerts.rules.${name}`, 'must be an options object or false');
    if (name === 'impossibleTravel' && !hasGeo) {
      if (options === undefined) continue;
      invalidConfig('alerts.rules.impossibleTravel', 'needs alerts.geo, a resolver from address to { lat, lon }');
    }
    rules.push(factory(options ?? {}));
  }
  return rules;
}

/** A device's identity for "same device?" questions: class, browser, OS, vendor and model, without versions. */
export function deviceIdentity(device: SessionDevice | DeviceInfo | null): string | null {
  if (device === null || typeof device !== 'object') return null;
  const cached = identities.get(device);
  if (cached !== undefined) return cached;
  const d = device as Partial<DeviceInfo>;
  const parts = [d.browser?.name, d.os?.name, d.vendor, d.model];
  // A device nothing is known about tells nothing: it neither matches nor differs.
  const identity = device.class === 'unknown' && parts.every((p) => p == null) ? null : [device.class, ...parts].map((p) => p ?? '').join('|');
  identities.set(device, identity);
  return identity;
}

/** The /16 (IPv4) or /48 (IPv6) network of an address; `null` for anything else (e.g. a hashed address). */
export function networkOf(ip: string | null): string | null {
  const parsed = parseIp(ip);
  if (parsed === null) return null;
  if (parsed.kind() === 'ipv4') {
    const [a, b] = (parsed as { octets: number[] }).octets;
    return `${a}.${b}.0.0/16`;
  }
  const parts = (parsed as { parts: number[] }).parts;
  return `${parts.slice(0, 3).map((p) => p.toString(16)).join(':')}::/48`;
}

/** Great-circle distance in kilometres (haversine, mean Earth radius). */
export function distanceKm(a: GeoLocation, b: GeoLocation): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

// --- internal ---

const EARTH_RADIUS_KM = 6371.0088;
/** Sessions and users whose last network or place a process remembers, at most (about 100 bytes each). */
const STATE_ENTRIES = 100_000;
const identities = new WeakMap<object, string | null>();

type TokenRejected = Extract<AlertEvent, { type: 'tokenRejected' }>;

const FACTORIES = {
  newDevice,
  concurrentLimit,
  sessionHijack,
  revokedTokenReuse,
  tokenBruteForce,
  impossibleTravel,
  rapidSessionCreation,
} satisfies Record<keyof BuiltinRules, (options: any) => AlertRule>;

/** Applies the settings every built-in rule shares. */
function rule(
  type: keyof BuiltinRules,
  options: BuiltinRuleOptions,
  defaultSeverity: AlertSeverity,
  events: AlertRule['events'],
  evaluate: (event: AlertEvent, ctx: AlertRuleContext, severity: AlertSeverity) => ReturnType<AlertRule['evaluate']>,
): AlertRule {
  const severity = options.severity ?? defaultSeverity;
  if (!ALERT_SEVERITIES.includes(severity)) invalidConfig(`alerts.rules.${type}.severity`, `must be one of ${ALERT_SEVERITIES.join(', ')}`);
  return {
    type,
    events,
    window: options.window ?? '1h',
    action: options.action ?? 'none',
    evaluate: (event, ctx) => evaluate(event, ctx, severity),
  };
}

function newDevice(options: BuiltinRuleOptions): AlertRule {
  return rule('newDevice', options, 'info', ['created'], async (event, ctx, severity) => {
    if (event.type !== 'created') return null;
    const { session } = event;
    const identity = deviceIdentity(session.device);
    if (identity === null) return null;
    const others = (await ctx.sessionsOf(session.userId)).filter((s) => s.id !== session.id);
    // A first sign-in has nothing to compare with; every device would be "new".
    if (others.length === 0 || others.some((s) => deviceIdentity(s.device) === identity)) return null;
    return {
      userId: session.userId,
      sessionId: session.id,
      severity,
      evidence: { device: session.device?.label ?? null, deviceClass: session.device?.class ?? null, ip: session.ip, knownDevices: countDistinct(others) },
      dedupKey: `newDevice:${session.userId}:${identity}`,
    };
  });
}

function countDistinct(sessions: readonly { device: SessionDevice | null }[]): number {
  return new Set(sessions.map((s) => deviceIdentity(s.device)).filter((id) => id !== null)).size;
}

function concurrentLimit(options: BuiltinRuleOptions): AlertRule {
  return rule('concurrentLimit', options, 'medium', ['limitReached'], (event, ctx, severity) => {
    if (event.type !== 'limitReached') return null;
    return {
      userId: event.userId,
      severity,
      evidence: { max: event.max, outcome: event.outcome, evictedSessions: event.evicted.map((s) => s.id), ip: ctx.storedIp(event.ip) },
      dedupKey: `concurrentLimit:${event.userId}`,
    };
  });
}

interface LastSeen {
  network: string;
  /** The address it was seen from; `stored` when it is the session's stored (protected) form. */
  ip: string;
  stored: boolean;
  at: number;
}

function sessionHijack(options: BuiltinRuleOptions & { within?: unknown; checkDevice?: unknown; checkNetwork?: unknown }): AlertRule {
  const withinMs = parseDuration((options.within ?? '5m') as string, 'alerts.rules.sessionHijack.within');
  const checkDevice = flag(options.checkDevice, 'alerts.rules.sessionHijack.checkDevice');
  const checkNetwork = flag(options.checkNetwork, 'alerts.rules.sessionHijack.checkNetwork');
  // Per process: where each session was last used. A session first seen here falls back to the
  // network of its stored address, when ipPrivacy keeps one ('truncate' or 'raw').
  const lastSeen = new LruCache<LastSeen>(STATE_ENTRIES);
  return rule('sessionHijack', options, 'high', ['created', 'validated'], (event, ctx, severity) => {
    if (event.type === 'created') {
      // Only when the stored address cannot tell the network later ('hash'): otherwise a session
      // costs no memory here until it is used.
      if (!checkNetwork || event.ip === null || networkOf(event.session.ip) !== null) return null;
      const network = networkOf(event.ip);
      if (network !== null) lastSeen.set(event.session.id, { network, ip: event.ip, stored: false, at: event.at });
      return null;
    }
    if (event.type !== 'validated') return null;
    const { session } = event;

    if (checkDevice && event.device !== null) {
      const expected = deviceIdentity(session.device);
      const actual = deviceIdentity(event.device);
      if (expected !== null && actual !== null && expected !== actual) {
        return hijackFinding(session, severity, { signal: 'device', expectedDevice: session.device?.label ?? null, actualDevice: event.device.label, ip: ctx.storedIp(event.ip) });
      }
    }
    if (!checkNetwork || event.ip === null) return null;
    let last = lastSeen.get(session.id);
    // The common case: the same address as last time; no parsing, no allocation.
    if (last !== undefined && last.ip === event.ip) {
      last.at = event.at;
      return null;
    }
    const network = networkOf(event.ip);
    if (network === null) return null;
    if (last === undefined) {
      const storedNetwork = networkOf(session.ip);
      if (storedNetwork !== null) last = { network: storedNetwork, ip: session.ip!, stored: true, at: event.previousActiveAt };
    }
    lastSeen.set(session.id, { network, ip: event.ip, stored: false, at: event.at });
    if (last === undefined || last.network === network || event.at - last.at > withinMs) return null;
    return hijackFinding(session, severity, {
      signal: 'network',
      previousIp: last.stored ? last.ip : ctx.storedIp(last.ip),
      ip: ctx.storedIp(event.ip),
      secondsSincePrevious: Math.round((event.at - last.at) / 1000),
    });
  });
}

function hijackFinding(session: Session, severity: AlertSeverity, evidence: Record<string, unknown>): AlertFinding {
  return { userId: session.userId, sessionId: session.id, severity, evidence, dedupKey: `sessionHijack:${session.id}` };
}

function revokedTokenReuse(options: BuiltinRuleOptions & { grace?: unknown; reasons?: unknown }): AlertRule {
  const graceMs = parseDuration((options.grace ?? '30s') as string, 'alerts.rules.revokedTokenReuse.grace');
  const reasons = options.reasons ?? ['logout'];
  if (!Array.isArray(reasons) || !reasons.every((r) => typeof r === 'string')) invalidConfig('alerts.rules.revokedTokenReuse.reasons', 'must be an array of revoke reasons');
  const watched = new Set<string>(reasons);
  // Synchronous unless validate() did not look the rotated token up: most events cost no promise.
  return rule('revokedTokenReuse', options, 'high', ['tokenRejected'], (event, ctx, severity) => {
    if (event.type !== 'tokenRejected') return null;
    if (event.reason === 'revoked' && event.session !== null) {
      const { session } = event;
      // Only reasons after which the client no longer holds the token: a device signed out from
      // elsewhere still has it and presents it once, innocently.
      if (session.revokeReason === null || !watched.has(session.revokeReason)) return null;
      // Within the grace window this is a request that was in flight when the user logged out (a
      // page's parallel requests, a tab that had not seen the cookie cleared yet), not a second holder.
      if (session.revokedAt === null || event.at - session.revokedAt <= graceMs) return null;
      return {
        userId: session.userId,
        sessionId: session.id,
        severity,
        evidence: {
          token: 'revoked',
          revokeReason: session.revokeReason,
          revokedAt: session.revokedAt,
          secondsSinceRevocation: Math.round((event.at - session.revokedAt) / 1000),
          ip: ctx.storedIp(event.ip),
        },
        dedupKey: `revokedTokenReuse:${session.id}`,
      };
    }
    if (event.reason !== 'unknown' || event.tokenHash === null) return null;
    if (event.rotated !== undefined) return rotatedTokenFinding(event, event.rotated, graceMs, ctx, severity);
    return ctx.findRotatedToken(event.tokenHash).then((rotated) => rotatedTokenFinding(event, rotated, graceMs, ctx, severity));
  });
}

/** A replayed rotated-away token, unless it raced the rotation (within the grace window). */
function rotatedTokenFinding(event: TokenRejected, rotated: RotatedToken | null, graceMs: number, ctx: AlertRuleContext, severity: AlertSeverity): AlertFinding | null {
  if (rotated === null || event.at - rotated.rotatedAt <= graceMs) return null;
  return {
    userId: rotated.userId,
    sessionId: rotated.sessionId,
    severity,
    evidence: { token: 'rotated', rotatedAt: rotated.rotatedAt, secondsSinceRotation: Math.round((event.at - rotated.rotatedAt) / 1000), ip: ctx.storedIp(event.ip) },
    dedupKey: `revokedTokenReuse:${rotated.sessionId}`,
  };
}

function tokenBruteForce(options: BuiltinRuleOptions & { threshold?: unknown; within?: unknown }): AlertRule {
  const threshold = positiveInteger(options.threshold ?? 20, 'alerts.rules.tokenBruteForce.threshold');
  const within = (options.within ?? '5m') as string;
  const withinMs = parseDuration(within, 'alerts.rules.tokenBruteForce.within');
  return rule('tokenBruteForce', options, 'high', ['tokenRejected'], async (event, ctx, severity) => {
    if (event.type !== 'tokenRejected' || (event.reason !== 'unknown' && event.reason !== 'malformed')) return null;
    // Counted per stored form of the address, so the counter table holds no more than sessions do
    // (with 'truncate', a whole /24 or /48 counts together).
    const client = ctx.storedIp(event.ip);
    if (client === null) return null;
    // Guesses folded under load arrive as one event: one counter update for all of them.
    const attempts = await ctx.count(client, withinMs, event.attempts);
    // Reported when the count reaches the threshold and each further multiple of it: a flood of
    // guesses costs one alert write per `threshold` guesses, not one per guess.
    if (attempts < threshold || Math.floor(attempts / threshold) === Math.floor((attempts - event.attempts) / threshold)) return null;
    return { userId: null, severity, evidence: { ip: client, attempts, within }, dedupKey: `tokenBruteForce:${client}` };
  });
}

interface LastPlace {
  ip: string;
  place: GeoLocation;
  at: number;
}

function impossibleTravel(options: BuiltinRuleOptions & { maxSpeedKmh?: unknown; minDistanceKm?: unknown }): AlertRule {
  const maxSpeedKmh = positiveNumber(options.maxSpeedKmh ?? 900, 'alerts.rules.impossibleTravel.maxSpeedKmh');
  const minDistanceKm = positiveNumber(options.minDistanceKm ?? 100, 'alerts.rules.impossibleTravel.minDistanceKm');
  // Per process: where each user was last seen.
  const lastPlace = new LruCache<LastPlace>(STATE_ENTRIES);
  return rule('impossibleTravel', options, 'medium', ['created', 'validated'], async (event, ctx, severity) => {
    if ((event.type !== 'created' && event.type !== 'validated') || event.ip === null) return null;
    const { session, ip, at } = event;
    const last = lastPlace.get(session.userId);
    if (last !== undefined && last.ip === ip) {
      last.at = Math.max(last.at, at);
      return null;
    }
    const place = await ctx.geo(ip);
    if (place === null) return null;
    lastPlace.set(session.userId, { ip, place, at });
    if (last === undefined) return null;
    const km = distanceKm(last.place, place);
    if (km < minDistanceKm) return null;
    const hours = Math.max(at - last.at, 1) / 3_600_000;
    const speedKmh = km / hours;
    if (speedKmh <= maxSpeedKmh) return null;
    return {
      userId: session.userId,
      sessionId: session.id,
      severity,
      evidence: {
        from: { ip: ctx.storedIp(last.ip), country: last.place.country ?? null, city: last.place.city ?? null, at: last.at },
        to: { ip: ctx.storedIp(ip), country: place.country ?? null, city: place.city ?? null, at },
        distanceKm: Math.round(km),
        speedKmh: Math.round(speedKmh),
      },
      dedupKey: `impossibleTravel:${session.userId}`,
    };
  });
}

function rapidSessionCreation(options: BuiltinRuleOptions & { threshold?: unknown; within?: unknown }): AlertRule {
  const threshold = positiveInteger(options.threshold ?? 10, 'alerts.rules.rapidSessionCreation.threshold');
  const within = (options.within ?? '10m') as string;
  const withinMs = parseDuration(within, 'alerts.rules.rapidSessionCreation.within');
  return rule('rapidSessionCreation', options, 'medium', ['created'], async (event, ctx, severity) => {
    if (event.type !== 'created') return null;
    const { userId } = event.session;
    const created = await ctx.count(userId, withinMs);
    if (created <= threshold) return null;
    return { userId, sessionId: event.session.id, severity, evidence: { created, within, ip: event.session.ip }, dedupKey: `rapidSessionCreation:${userId}` };
  });
}

function flag(value: unknown, field: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') invalidConfig(field, 'must be a boolean');
  return value;
}

function positiveInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) invalidConfig(field, 'must be a positive integer');
  return value as number;
}

function positiveNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) invalidConfig(field, 'must be a positive number');
  return value;
}
