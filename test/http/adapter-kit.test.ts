/** The adapter kit of `sessionkeeper/http`, unit by unit: what every wrapper shares. */
import { describe, expect, it } from 'vitest';
import {
  appendSetCookie,
  checkPrefix,
  fromNodeRequest,
  JSON_CONTENT_TYPE,
  normalizeHeaders,
  pathBelow,
  routeTable,
  sendResponse,
  splitRequestTarget,
  type HttpResponse,
  type ResponseSink,
} from '../../src/http/index.js';

describe('checkPrefix and pathBelow: one prefix rule for every framework', () => {
  it('writes a prefix without trailing slashes; / is the root; refuses what is no path', () => {
    expect(checkPrefix('/api/me', 'prefix')).toBe('/api/me');
    expect(checkPrefix('/api/me/', 'prefix')).toBe('/api/me');
    expect(checkPrefix('/api/me//', 'prefix')).toBe('/api/me');
    expect(checkPrefix('/', 'prefix')).toBe('');
    for (const bad of ['api', '', '/a?b', '/a#b', '/a b', 42, null]) {
      expect(() => checkPrefix(bad, 'routesPrefix')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^routesPrefix must be a path/) }));
    }
  });

  it('/api/me is not a prefix of /api/meow; the prefix itself is /; case and %xx count as sent', () => {
    expect(pathBelow('/api/me', '/api/me')).toBe('/');
    expect(pathBelow('/api/me', '/api/me/')).toBe('/');
    expect(pathBelow('/api/me', '/api/me/current')).toBe('/current');
    expect(pathBelow('/api/me', '/api/meow')).toBeNull();
    expect(pathBelow('/api/me', '/api/meow/current')).toBeNull();
    expect(pathBelow('/api/me', '/API/ME/current')).toBeNull();
    expect(pathBelow('/api/me', '/api/%6De/current')).toBeNull();
    expect(pathBelow('/api/me', '/api')).toBeNull();
    expect(pathBelow('', '/anything')).toBe('/anything');
    expect(pathBelow('', 'http://host/x')).toBeNull();
  });
});

describe('splitRequestTarget', () => {
  it.each([
    ['/a/b?x=1&y=2', '/a/b', 'x=1&y=2'],
    ['/a/b', '/a/b', ''],
    ['/a/b?', '/a/b', ''],
    ['/a/%2F/../b?q=%20', '/a/%2F/../b', 'q=%20'],
    ['/a#frag', '/a', ''],
    ['/a?x=1#frag', '/a', 'x=1'],
    ['http://example.com/a/b?x=1', '/a/b', 'x=1'],
    ['https://example.com', '/', ''],
    ['HTTP://example.com:8080?x', '/', 'x'],
    ['*', '*', ''],
  ])('%s is path %s and query %s, nothing decoded or resolved', (url, path, search) => {
    expect(splitRequestTarget(url)).toEqual({ path, search });
  });

  it('fromNodeRequest reads method, path, headers, peer and TLS off a Node request', () => {
    const headers = { host: 'example.com' };
    expect(fromNodeRequest({ method: 'POST', url: '/x?y', headers, socket: { remoteAddress: '10.0.0.1' } })).toEqual({ method: 'POST', path: '/x', headers, remoteAddress: '10.0.0.1', encrypted: false });
    const tls = { remoteAddress: '::1', encrypted: true } as { remoteAddress: string };
    expect(fromNodeRequest({ url: '/', headers, socket: tls })).toMatchObject({ method: 'GET', encrypted: true });
  });
});

describe('normalizeHeaders', () => {
  it('lower-cases names and keeps repeated headers as a list, from a Fetch Headers, pairs or an object', () => {
    const fetchHeaders = new Headers([['Cookie', 'a=1'], ['X-Forwarded-For', '1.1.1.1']]);
    expect({ ...normalizeHeaders(fetchHeaders) }).toEqual({ cookie: 'a=1', 'x-forwarded-for': '1.1.1.1' });
    expect({ ...normalizeHeaders([['X-A', '1'], ['x-a', '2']]) }).toEqual({ 'x-a': ['1', '2'] });
    expect({ ...normalizeHeaders({ Host: 'h', Accept: ['a', 'b'], Gone: undefined }) }).toEqual({ host: 'h', accept: ['a', 'b'] });
  });
});

describe('sendResponse and appendSetCookie', () => {
  function recorder(sent = false) {
    const calls: unknown[][] = [];
    const sink: ResponseSink = {
      headersSent: sent,
      setStatus: (status) => void calls.push(['status', status]),
      setHeader: (name, value) => void calls.push(['set', name, value]),
      appendHeader: (name, value) => void calls.push(['append', name, value]),
      end: (json) => void calls.push(['end', json]),
    };
    return { sink, calls };
  }

  it('writes status, headers (Set-Cookie appended, the rest replaced) and the JSON body', () => {
    const { sink, calls } = recorder();
    const response: HttpResponse = { status: 200, headers: { 'cache-control': 'no-store', 'Set-Cookie': 'sid=; Max-Age=0' }, body: { ok: true } };
    sendResponse(sink, response);
    expect(calls).toEqual([
      ['status', 200],
      ['set', 'cache-control', 'no-store'],
      ['append', 'Set-Cookie', 'sid=; Max-Age=0'],
      ['set', 'content-type', JSON_CONTENT_TYPE],
      ['end', '{"ok":true}'],
    ]);
  });

  it('writes no body for none, and nothing once the headers are out', () => {
    const empty = recorder();
    sendResponse(empty.sink, { status: 204, headers: {} });
    expect(empty.calls).toEqual([['status', 204], ['end', undefined]]);
    const late = recorder(true);
    sendResponse(late.sink, { status: 500, headers: {}, body: {} });
    expect(late.calls).toEqual([]);
  });

  it('appendSetCookie adds a value and ignores null (no cookies configured)', () => {
    const { sink, calls } = recorder();
    appendSetCookie(sink, null);
    appendSetCookie(sink, 'sid=x');
    expect(calls).toEqual([['append', 'set-cookie', 'sid=x']]);
  });
});

describe('routeTable', () => {
  const handle = async () => null;
  const table = routeTable([
    { method: 'GET', path: '/', handle },
    { method: 'GET', path: '/current', handle },
    { method: 'DELETE', path: '/:id', handle },
    { method: 'POST', path: '/:id/extend', handle },
  ]);
  const found = (method: string, subpath: string) => {
    const match = table.match(method, subpath);
    return match === null ? null : [`${match.route.method} ${match.route.path}`, match.params];
  };

  it('ignores one trailing slash, matches methods in any case, and gives :name segments as sent', () => {
    expect(found('GET', '/')).toEqual(['GET /', {}]);
    expect(found('GET', '')).toEqual(['GET /', {}]);
    expect(found('GET', '//')).toEqual(['GET /', {}]);
    expect(found('get', '/current/')).toEqual(['GET /current', {}]);
    expect(found('DELETE', '/ses_%61b')).toEqual(['DELETE /:id', { id: 'ses_%61b' }]);
    expect(found('POST', '/x/extend/')).toEqual(['POST /:id/extend', { id: 'x' }]);
    expect(found('POST', '//extend')).toEqual(['POST /:id/extend', { id: '' }]);
  });

  it('matches nothing else: other methods, extra or missing segments, %xx or dot segments, case', () => {
    for (const [method, subpath] of [['POST', '/current'], ['HEAD', '/current'], ['DELETE', '/'], ['GET', '/current/x'], ['GET', '/%63urrent'], ['GET', '/x/../current'], ['GET', '/CURRENT'], ['GET', '//current']]) {
      expect(found(method!, subpath!), `${method} ${subpath}`).toBeNull();
    }
  });
});
