import type { Session } from '../contracts.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidArgument, invalidConfig } from '../errors.js';
import { NO_STORE, type SessionHttp } from '../http/http-core.js';
import type { SelfServiceRequest } from '../http/self-service.js';
import type { Authentication, HttpResponse } from '../http/types.js';
import { LAB_STATUS_BY_CODE, LabError, type LabErrorCode } from './errors.js';
import { LAB_ID_PATTERN } from './lab-id.js';
import type { Lab, Labs, LabStats, LabStatus, LabStopReason } from './types.js';

/** Options of the lab routes (`labRoutes(labs, options)`). */
export interface LabRoutesOptions {
  /**
   * How far `POST /:id/extend` moves the time limit when the body names no `by`. Default `'30m'`.
   * The provisioner still applies the template's caps: more than its `timeLimit` at once is 400
   * `INVALID_ARGUMENT`, more than `maxExtensions` extensions 409 `EXTENSION_LIMIT`; keep it at or
   * below the shortest `timeLimit` of your templates.
   */
  defaultExtend?: Duration;
}

/**
 * A request below the lab routes' mount point: the same shape as the self-service routes read
 * (`subpath` such as `/`, `/lab_…`, `/lab_…/stats`; the query; the parsed JSON body or `undefined`).
 */
export type LabRoutesRequest = SelfServiceRequest;

/**
 * A lab as the routes show it: instants as ISO 8601 strings, without Docker's object ids, the
 * owner's user id (always the caller) or the subnet bookkeeping, and of an error only its code.
 */
export interface LabView {
  id: string;
  /** The session that started it. */
  sessionId: string;
  template: string;
  status: LabStatus;
  network: { name: string; subnet: string; gateway: string };
  containers: { name: string; ip: string; image: string }[];
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  extensions: number;
  stopReason: LabStopReason | null;
  /**
   * For a failed lab: its error code and the fixed message the failed start answered with. Docker's
   * own text (host paths, daemon errors) stays in `labs.get()` and the provisioner's `onError`.
   */
  error: { code: LabErrorCode; message: string } | null;
}

/** {@link LabStats} as the routes show it: the sample's instant as an ISO string, no Docker ids. */
export interface LabStatsView {
  labId: string;
  at: string;
  containers: { name: string; cpuPercent: number; memoryBytes: number; memoryLimitBytes: number; rxBytes: number; txBytes: number; pids: number }[];
  network: { name: string; subnet: string; endpoints: { name: string; ip: string | null }[] };
}

/** The lab routes, ready to serve through any middleware's core. */
export interface LabRoutes {
  /**
   * Answers a request below the mount point, or returns `null` when no route matches (the wrapper
   * passes the request on). Never throws: errors become the core's JSON error responses.
   */
  handle(http: SessionHttp, request: LabRoutesRequest, auth: Authentication): Promise<HttpResponse | null>;
}

/**
 * The "my labs" API, identical on every framework. Every route needs a session; a lab of another
 * user is reported exactly like a missing one (404 `LAB_NOT_FOUND`, never 403), before anything is done.
 *
 * | method and path | answer |
 * | --- | --- |
 * | `POST /` `{ template }` | 201 `{ lab: LabView }`, started for the current session |
 * | `GET /` (`?all=1` with ended ones) | `{ labs: LabView[] }` of the current user, oldest first |
 * | `GET /:id` | `{ lab }` |
 * | `GET /:id/stats` | `{ stats: LabStatsView }` (one sample from Docker) |
 * | `POST /:id/extend` `{ by? }` | `{ lab }` with the later `expiresAt` |
 * | `POST /:id/stop` | `{ lab }` stopped |
 *
 * Invalid input is 400 `INVALID_ARGUMENT`; `LabError` codes answer with their status in `LAB_STATUS_BY_CODE`.
 * Options are checked here, once.
 *
 * @example
 * const routes = createLabRoutes(labs, { defaultExtend: '15m' });
 * const response = await routes.handle(http, { ...request, subpath: '/', query, body }, auth);
 */
export function createLabRoutes(labs: Labs, options: LabRoutesOptions = {}): LabRoutes {
  if (labs === null || typeof labs !== 'object' || typeof labs.start !== 'function' || typeof labs.get !== 'function') {
    invalidConfig('labs', 'must be a lab provisioner such as dockerLabs()');
  }
  if (options === null || typeof options !== 'object') invalidConfig('lab routes options', 'must be an object');
  const defaultExtendMs = parseDuration(options.defaultExtend ?? '30m', 'defaultExtend');
  if (defaultExtendMs === 0) invalidConfig('defaultExtend', 'must be more than 0');

  return { handle };

  async function handle(http: SessionHttp, request: LabRoutesRequest, auth: Authentication): Promise<HttpResponse | null> {
    const route = match(request.method.toUpperCase(), request.subpath);
    if (route === null) return null;
    try {
      if (auth.session === null) return http.unauthenticated();
      if (!http.originAllowed(request, auth)) return http.forbiddenOrigin();
      const me = auth.session;
      switch (route.name) {
        case 'start': {
          const template = templateParam(request.body);
          return ok({ lab: labView(await labs.start(me.id, template)) }, 201);
        }
        case 'list': {
          const mine = await labs.list({ userId: me.userId, includeEnded: allParam(request.query) });
          return ok({ labs: mine.map(labView) });
        }
        case 'get':
          return ok({ lab: labView(await ownLab(labs, route.id, me)) });
        case 'stats':
          await ownLab(labs, route.id, me);
          return ok({ stats: statsView(await labs.stats(route.id)) });
        case 'extend': {
          await ownLab(labs, route.id, me);
          const by = extendBy(request.body, defaultExtendMs);
          return ok({ lab: labView(await labs.extend(route.id, by)) });
        }
        case 'stop':
          await ownLab(labs, route.id, me);
          return ok({ lab: labView(await labs.stop(route.id)) });
      }
    } catch (error) {
      return http.errorResponse(error);
    }
  }
}

/**
 * A lab for JSON: instants as ISO strings, Docker ids, the owner and subnet bookkeeping left out,
 * and of a failure only its code and fixed message.
 *
 * @example
 * labs.on('status', ({ lab }) => socket.send(JSON.stringify({ lab: labView(lab) })));
 */
export function labView(lab: Lab): LabView {
  return {
    id: lab.id,
    sessionId: lab.sessionId,
    template: lab.template,
    status: lab.status,
    network: { name: lab.network.name, subnet: lab.network.subnet, gateway: lab.network.gateway },
    containers: lab.containers.map((c) => ({ name: c.name, ip: c.ip, image: c.image })),
    createdAt: iso(lab.createdAt),
    updatedAt: iso(lab.updatedAt),
    expiresAt: iso(lab.expiresAt),
    extensions: lab.extensions,
    stopReason: lab.stopReason,
    error: lab.error === null ? null : failureView(lab.error.code),
  };
}

// --- internal ---

const MAX_TEMPLATE_LENGTH = 64;

type Route = { name: 'start' | 'list' } | { name: 'get' | 'stats' | 'extend' | 'stop'; id: string };

function match(method: string, subpath: string): Route | null {
  const path = subpath.length > 1 && subpath.endsWith('/') ? subpath.slice(0, -1) : subpath || '/';
  if (path === '/') return method === 'POST' ? { name: 'start' } : method === 'GET' ? { name: 'list' } : null;
  const parts = path.split('/').slice(1);
  const id = parts[0]!;
  if (id === '') return null;
  if (parts.length === 1) return method === 'GET' ? { name: 'get', id } : null;
  if (parts.length !== 2) return null;
  if (method === 'GET' && parts[1] === 'stats') return { name: 'stats', id };
  if (method === 'POST' && parts[1] === 'extend') return { name: 'extend', id };
  if (method === 'POST' && parts[1] === 'stop') return { name: 'stop', id };
  return null;
}

/** Another user's lab is reported exactly like a missing one: ids are not probed. */
async function ownLab(labs: Labs, id: string, me: Session): Promise<Lab> {
  if (!LAB_ID_PATTERN.test(id)) throw invalidArgument('the id in the path must be a lab id (lab_ and 21 characters)');
  const lab = await labs.get(id);
  if (lab === null || lab.userId !== me.userId) throw new LabError('LAB_NOT_FOUND', `No lab with id ${id}`);
  return lab;
}

/** A failed start's stored code (every one comes from the engine; an unknown one reads as its refusal). */
function failureView(stored: unknown): { code: LabErrorCode; message: string } {
  const code = typeof stored === 'string' && Object.hasOwn(LAB_STATUS_BY_CODE, stored) ? (stored as LabErrorCode) : 'DOCKER_ERROR';
  return { code, message: LAB_STATUS_BY_CODE[code].message ?? 'The lab could not be started' };
}

function ok(body: unknown, status = 200): HttpResponse {
  return { status, headers: NO_STORE, body };
}

function bodyObject(body: unknown): Record<string, unknown> | undefined {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

function templateParam(body: unknown): string {
  const template = bodyObject(body)?.template;
  if (typeof template !== 'string' || template.length === 0 || template.length > MAX_TEMPLATE_LENGTH) {
    throw invalidArgument(`the body must be JSON { "template": "..." } with a template name of 1 to ${MAX_TEMPLATE_LENGTH} characters`);
  }
  return template;
}

function extendBy(body: unknown, defaultMs: number): number {
  if (body !== undefined && bodyObject(body) === undefined) throw invalidArgument('the body must be JSON { "by": "30m" } or empty');
  const by = bodyObject(body)?.by;
  if (by === undefined) return defaultMs;
  const ms = parseDuration(by, 'by', 'INVALID_ARGUMENT');
  if (ms === 0) throw invalidArgument('by must be more than 0');
  return ms;
}

function allParam(query: URLSearchParams): boolean {
  const all = query.get('all');
  if (all === null || all === '0' || all === 'false') return false;
  if (all === '1' || all === 'true') return true;
  throw invalidArgument('all must be 1 or 0');
}

function statsView(stats: LabStats): LabStatsView {
  return {
    labId: stats.labId,
    at: iso(stats.at),
    containers: stats.containers.map(({ name, cpuPercent, memoryBytes, memoryLimitBytes, rxBytes, txBytes, pids }) => ({
      name,
      cpuPercent,
      memoryBytes,
      memoryLimitBytes,
      rxBytes,
      txBytes,
      pids,
    })),
    network: { name: stats.network.name, subnet: stats.network.subnet, endpoints: stats.network.endpoints.map((e) => ({ name: e.name, ip: e.ip })) },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
