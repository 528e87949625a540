import { routeTable, type HttpRoute, type RouteMethod, type RouteTable } from '../http/route-table.js';
import { createLabRoutes, type LabRoutes, type LabRoutesOptions } from './lab-routes.js';
import type { Labs } from './types.js';

/**
 * The lab routes as a {@link RouteTable}, for wrappers to register or serve like the self-service
 * routes: `POST /`, `GET /`, `GET /:id`, `GET /:id/stats`, `POST /:id/extend`, `POST /:id/stop`.
 * Each route answers through `createLabRoutes()`; options are checked once, there.
 *
 * @example
 * const labTable = createLabRouteTable(labs, { defaultExtend: '15m' });
 * for (const route of labTable.routes) app.route({ method: route.method, url: route.path, handler });
 */
export function createLabRouteTable(labs: Labs, options: LabRoutesOptions = {}): RouteTable {
  return labRouteTable(createLabRoutes(labs, options));
}

/** {@link createLabRouteTable} over lab routes made already. */
export function labRouteTable(labRoutes: LabRoutes): RouteTable {
  return routeTable(LAB_ROUTES.map(([method, path]): HttpRoute => ({ method, path, handle: (http, request, auth) => labRoutes.handle(http, request, auth) })));
}

// --- internal ---

/**
 * The paths `createLabRoutes()` answers. lab-routes.ts matches them itself and has no table to
 * export yet; until it has, this list follows it (test/http/route-tables.test.ts checks both agree).
 */
const LAB_ROUTES: readonly (readonly [RouteMethod, string])[] = [
  ['POST', '/'],
  ['GET', '/'],
  ['GET', '/:id'],
  ['GET', '/:id/stats'],
  ['POST', '/:id/extend'],
  ['POST', '/:id/stop'],
];
