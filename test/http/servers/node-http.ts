/**
 * The test app over plain `node:http`, through a wrapper written only against the public exports
 * of `sessionkeeper/http`: what an author of a Hono, NestJS or other adapter writes. It loads the
 * built package (dist/), so its tests run after `npm run build`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SessionManager } from 'sessionkeeper';
import {
  appendSetCookie,
  contentLength,
  createSelfService,
  createSessionHttp,
  errorResponse,
  fromNodeRequest,
  helperTarget,
  json,
  NO_STORE,
  pathBelow,
  readJsonBody,
  requestHelpers,
  sendResponse,
  serveRoute,
  splitRequestTarget,
  type Authentication,
  type HttpRequest,
  type HttpResponse,
  type ResponseSink,
  type RouteTable,
  type SessionHelpers,
  type SessionHttp,
  type SessionHttpOptions,
} from 'sessionkeeper/http';
import type { AdapterStartOptions, HttpAdapterUnderTest } from 'sessionkeeper/http/testing';
import { createLabRoutes, type LabRoutesOptions, type Labs } from 'sessionkeeper/labs';

/** What the wrapper hands an app's handler: the session, the helpers, the request's parts. */
export interface NodeSessionRequest {
  readonly req: IncomingMessage;
  readonly request: HttpRequest;
  readonly path: string;
  readonly search: string;
  readonly auth: { readonly current: Authentication };
  readonly sessionkeeper: SessionHelpers;
}

/**
 * The whole wrapper: authenticates each request, serves `mounts` (prefix → core route table) and
 * hands everything else to `app`, whose answer (or error) is written as the core writes responses.
 */
export function nodeSessionHandler(
  manager: SessionManager,
  options: SessionHttpOptions | undefined,
  mounts: ReadonlyArray<readonly [string, RouteTable]>,
  app: (request: NodeSessionRequest) => Promise<HttpResponse>,
): RequestListener {
  const http = createSessionHttp(manager, options);
  return (req, res) => {
    const sink = nodeSink(res);
    handle(http, req, res, sink, mounts, app).catch((error: unknown) => sendResponse(sink, errorResponse(error)));
  };
}

/** THE test app of the conformance suite on {@link nodeSessionHandler}. */
export const nodeHttp: HttpAdapterUnderTest = {
  name: 'node:http',
  async start(manager: SessionManager, options: AdapterStartOptions & { labs?: Labs; labRoutes?: LabRoutesOptions } = {}) {
    const mounts: [string, RouteTable][] = [['/api/v1/me/sessions', createSelfService(options.routes)]];
    if (options.labs) mounts.push(['/api/v1/me/labs', createLabRoutes(options.labs, options.labRoutes)]);
    const listener = nodeSessionHandler(manager, options.middleware, mounts, testApp);
    const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        }),
    };
  },
};

// --- internal ---

async function handle(
  http: SessionHttp,
  req: IncomingMessage,
  res: ServerResponse,
  sink: ResponseSink,
  mounts: ReadonlyArray<readonly [string, RouteTable]>,
  app: (request: NodeSessionRequest) => Promise<HttpResponse>,
): Promise<void> {
  const started = performance.now();
  const request = fromNodeRequest(req);
  let state: { auth: Authentication };
  try {
    state = { auth: await http.authenticate(request) };
  } catch (error) {
    return sendResponse(sink, http.errorResponse(error));
  }
  if (state.auth.clearCookie) appendSetCookie(sink, http.clearCookie());
  const sessionkeeper = requestHelpers(http, request, state, helperTarget(sink, () => {}));
  if (http.tracking) {
    res.once('finish', () => {
      const session = state.auth.session;
      if (session === null) return;
      const outcome = { route: null, status: res.statusCode, durationMs: performance.now() - started };
      http.track(session, request, { ...outcome, bytesIn: contentLength(req.headers['content-length']), bytesOut: contentLength(res.getHeader('content-length')) });
    });
  }
  const { path, search } = splitRequestTarget(req.url ?? '/');
  for (const [prefix, table] of mounts) {
    const subpath = pathBelow(prefix, path);
    if (subpath === null) continue;
    const response = await serveRoute(table, http, { request, subpath, search, readBody: () => readJsonBody(req) }, state.auth);
    return sendResponse(sink, response ?? json(404, 'NOT_FOUND', 'No such route'));
  }
  try {
    sendResponse(sink, await app({ req, request, path, search, auth: { get current() { return state.auth; } }, sessionkeeper }));
  } catch (error) {
    sendResponse(sink, http.errorResponse(error));
  }
}

/** The app's own routes (see `HttpAdapterUnderTest`). */
async function testApp({ req, request, path, search, auth, sessionkeeper }: NodeSessionRequest): Promise<HttpResponse> {
  const route = `${request.method} ${path}`;
  const ok = (body: unknown): HttpResponse => ({ status: 200, headers: {}, body });
  const signedIn = (result: { session: { id: string }; token: string }) => ok({ id: result.session.id, token: result.token });
  if (route === 'POST /login') return signedIn(await sessionkeeper.login(((await readJsonBody(req)) as { userId?: string } | undefined)?.userId as string));
  if (route === 'GET /callback') return signedIn(await sessionkeeper.login(new URLSearchParams(search).get('userId') as string));
  if (route === 'POST /logout') {
    await sessionkeeper.logout();
    return { status: 204, headers: NO_STORE };
  }
  if (route === 'GET /public') return ok({ sessionId: auth.current.session?.id ?? null });
  if (route !== 'POST /rotate' && route !== 'GET /protected') return json(404, 'NOT_FOUND', 'No such route');
  const session = auth.current.session;
  if (session === null) return json(401, 'UNAUTHENTICATED', 'Sign in first');
  if (route === 'POST /rotate') return signedIn(await sessionkeeper.rotate());
  return ok({ userId: session.userId, sessionId: session.id });
}

function nodeSink(res: ServerResponse): ResponseSink {
  return {
    get headersSent() {
      return res.headersSent;
    },
    setStatus: (status) => void (res.statusCode = status),
    setHeader: (name, value) => void res.setHeader(name, value),
    appendHeader: (name, value) => void res.appendHeader(name, value as string | string[]),
    end: (body) => void (body === undefined ? res.end() : res.end(body)),
  };
}
