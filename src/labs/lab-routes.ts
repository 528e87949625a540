import type { Session } from '../contracts.js';
import { parseDuration, type Duration } from '../duration.js';
import { invalidArgument, invalidConfig } from '../errors.js';
import { NO_STORE } from '../http/http-core.js';
import { routeTable, type HttpRoute, type RouteMethod, type RouteRequest, type RouteTable } from '../http/route-table.js';
import type { HttpResponse } from '../http/types.js';
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
export type LabRoutesRequest = RouteRequest;

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

/**
 * The lab routes as a route table, like the self-service routes: wrappers register `routes` with
 * their router or answer through `handle()` (`null` when no route matches).
 */
export type LabRoutes = RouteTable;

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

  return routeTable([
    labRoute('POST', '/', async (request, me) => ok({ lab: labView(await labs.start(me.id, templateParam(request.body))) }, 201)),
    labRoute('GET', '/', async (request, me) => {
      const mine = await labs.list({ userId: me.userId, includeEnded: allParam(request.query) });
      return ok({ labs: mine.map(labView) });
    }),
    labRoute('GET', '/:id', async (_request, me, id) => ok({ lab: labView(await ownLab(labs, id, me)) })),
    labRoute('GET', '/:id/stats', async (_request, me, id) => {
      await ownLab(labs, id, me);
      return ok({ stats: statsView(await labs.stats(id)) });
    }),
    labRoute('POST', '/:id/extend', async (request, me, id) => {
      await ownLab(labs, id, me);
      return ok({ lab: labView(await labs.extend(id, extendBy(request.body, defaultExtendMs))) });
    }),
    labRoute('POST', '/:id/stop', async (_request, me, id) => {
      await ownLab(labs, id, me);
      return ok({ lab: labView(await labs.stop(id)) });
    }),
  ]);
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

/**
 * One lab route: every one needs a session and, when the cookie authenticated it, a same-origin
 * request; errors become the core's JSON error responses.
 */
function labRoute(method: RouteMethod, path: string, answer: (request: RouteRequest, me: Session, id: string) => Promise<HttpResponse>): HttpRoute {
  return {
    method,
    path,
    async handle(http, request, auth, params) {
      // `//stats` names no lab: not found, as before lab routes were a table (not a bad lab id).
      if (params.id === '') return null;
      try {
        if (auth.session === null) return http.unauthenticated();
        if (!http.originAllowed(request, auth)) return http.forbiddenOrigin();
        return await answer(request, auth.session, params.id ?? '');
      } catch (error) {
        return http.errorResponse(error);
      }
    },
  };
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
