// The prelude of Realmgate's JavaScript engine module: Worklight's WL API and the call dispatch,
// run by QuickJS inside the wasm sandbox before the adapter's -impl.js. engine.c evaluates this
// file to the function below and calls it once per instance with its natives (see engine.c);
// the natives stay in this closure, never a global the adapter's script could reach. The
// function returns the module's procedures: load() lists the script's functions, call(env)
// runs one ({"procedure", "input", "state"} in, as a value; {"result", "state"} out, as JSON
// text).
(function (native) {
  'use strict';
  var global = globalThis;
  // The builtins the engine relies on, taken before the script runs: a script that replaces
  // JSON or Object changes its own world, not the engine's.
  var parse = JSON.parse, stringify = JSON.stringify;
  var keys = Object.keys, ownNames = Object.getOwnPropertyNames, hasOwn = Object.prototype.hasOwnProperty;
  var isArray = Array.isArray, defineProperty = Object.defineProperty;
  var getOwnDescriptor = Object.getOwnPropertyDescriptor, freeze = Object.freeze;
  var reflectApply = Reflect.apply;
  var encodeURIComponent = global.encodeURIComponent, decodeURIComponent = global.decodeURIComponent;
  var host = native.host, nativeLog = native.log, nativeLoad = native.load, globalAdds = native.globals;

  var settings = parse(native.settings);
  var file = settings['realmgate.js.file'] || '';
  var source = settings['realmgate.js.source'] || '';
  var base = settings['realmgate.js.connectivity'] || '';
  var create = Object.create;
  var stockXSL = create(null);
  String(settings['realmgate.js.stock-xsl'] || '').split('\n').forEach(function (n) { if (n) stockXSL[n] = true; });

  // The call in progress: what the WL.Server functions see.
  var cur = fresh();
  function fresh() { return {realm: '', identity: {}, request: {}, params: null, active: null, activeSet: false}; }

  function fail(msg) { throw new Error(msg); }
  // put sets a member as JSON.parse does: defined, so that "__proto__" from a back end or a
  // client is a member like any other.
  function put(o, k, v) { defineProperty(o, k, {value: v, writable: true, enumerable: true, configurable: true}); }
  function has(o, k) { return o !== null && typeof o === 'object' && hasOwn.call(o, k); }
  function isObject(v) { return v !== null && typeof v === 'object' && !isArray(v); }

  // goQuote is Go's %q of a string, near enough for messages.
  function goQuote(s) { return stringify(String(s)); }

  // sprint is Go's fmt.Sprint of a JSON value, as the engine formats parameters, headers and
  // cookies: strings as they are, numbers in JSON, null as <nil>, arrays [a b], objects
  // map[k:v] with sorted names.
  function sprint(v) {
    if (v === null || v === undefined) return '<nil>';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (isArray(v)) return '[' + v.map(sprint).join(' ') + ']';
    if (typeof v === 'object') return 'map[' + keys(v).sort().map(function (k) { return k + ':' + sprint(v[k]); }).join(' ') + ']';
    return String(v);
  }

  // toData is a value as JSON data (what goja's engine got by stringify and decode): undefined
  // for undefined, functions and symbols.
  function toData(v, what) {
    if (v === undefined || v === null) return null;
    var s;
    try { s = stringify(v); } catch (e) { fail(what + ' not JSON: ' + e.message); }
    return s === undefined ? null : parse(s);
  }

  // sorted returns a copy of a JSON value with object members in name order, as the values the
  // host built in Go reached scripts.
  function sorted(v) {
    if (isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') {
      var o = {};
      keys(v).sort().forEach(function (k) { put(o, k, sorted(v[k])); });
      return o;
    }
    return v;
  }

  // goJSON is Go's encoding/json of a value decoded into Go maps: members in name order, and
  // <, >, & and the line separators escaped.
  function goJSON(v) { return htmlEscape(stringify(sorted(v))); }
  function htmlEscape(s) {
    return s.replace(/[<>&\u2028\u2029]/g, function (c) { return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4); });
  }

  // ---- WL.Logger -------------------------------------------------------------------------
  var levels = {debug: -4, info: 0, log: 0, warn: 4, error: 8};
  function logString(v) {
    if (v !== null && typeof v === 'object') {
      try { var s = stringify(v); if (s !== undefined) return s; } catch (e) { /* as a string */ }
    }
    return String(v);
  }
  var logger = {};
  keys(levels).forEach(function (name) {
    logger[name] = function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(logString(arguments[i]));
      nativeLog(levels[name], parts.join(' '));
    };
  });

  // ---- WL.Server.setActiveUser / getActiveUser / getClientRequest ---------------------
  function setActiveUser(realm, identity) {
    realm = String(realm);
    var id = toData(identity, 'WL.Server.setActiveUser: the identity is');
    if (id === null) return undefined;
    if (!isObject(id)) fail('WL.Server.setActiveUser: the identity must be an object with a userId');
    if (typeof id.userId === 'number') id.userId = String(id.userId);
    if (typeof id.userId !== 'string' || id.userId === '') fail('WL.Server.setActiveUser: the identity has no userId');
    if (cur.realm === '') {
      fail('WL.Server.setActiveUser(' + goQuote(realm) + '): this call is not part of a login to realm ' + realm +
        ' (call it from the procedure a realm\'s client answers)');
    }
    if (realm !== cur.realm) fail('WL.Server.setActiveUser(' + goQuote(realm) + '): this call serves the login to realm ' + goQuote(cur.realm));
    cur.active = id;
    cur.activeSet = true;
    return undefined;
  }

  function getActiveUser(realm) {
    realm = realm === undefined || realm === null ? '' : String(realm);
    if (cur.activeSet && (realm === '' || realm === cur.realm)) return cur.active === null ? null : sorted(cur.active);
    if (realm !== '') {
      var realms = cur.identity.realms;
      if (isObject(realms) && isObject(realms[realm]) && keys(realms[realm]).length > 0) return sorted(realms[realm]);
      return null;
    }
    var u = cur.identity.user;
    if (isObject(u) && keys(u).length > 0) return sorted(u);
    return null;
  }

  function requestHeaders(req) { return isObject(req) && isObject(req.headers) ? req.headers : {}; }

  function getClientRequest() {
    var headers = requestHeaders(cur.request);
    var params = isObject(cur.request) && isObject(cur.request.parameters) ? cur.request.parameters : {};
    var callParams = cur.params;
    return {
      getHeader: function (name) {
        name = String(name).toLowerCase();
        var ks = keys(headers);
        for (var i = 0; i < ks.length; i++) if (ks[i].toLowerCase() === name) return sprint(headers[ks[i]]);
        return null;
      },
      getHeaderNames: function () { return keys(headers); },
      getParameter: function (name) {
        name = String(name);
        return has(params, name) ? sprint(params[name]) : null;
      },
      getParameters: function () { return callParams === null ? [] : callParams; },
    };
  }

  // getClientId is Worklight's id of the client: the session's, derived by the host one way from
  // what the session keeps (engine.ClientID), null for a call that serves no session.
  function getClientId() {
    var id = isObject(cur.request) ? cur.request.clientId : undefined;
    return typeof id === 'string' && id !== '' ? id : null;
  }

  // ---- WL.Server.invokeHttp ------------------------------------------------------------
  var statusText = {200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
    304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 500: 'Internal Server Error', 502: 'Bad Gateway',
    503: 'Service Unavailable', 504: 'Gateway Timeout'};

  // queryEscape is Go's url.QueryEscape.
  function queryEscape(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    }).replace(/%20/g, '+');
  }
  function queryUnescape(s) {
    try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (e) { return null; }
  }
  // encodeValues is Go's url.Values.Encode: names in order, each value escaped.
  function encodeValues(vals) {
    return keys(vals).sort().map(function (k) {
      return vals[k].map(function (v) { return queryEscape(k) + '=' + queryEscape(v); }).join('&');
    }).join('&');
  }
  // escapePath is the path as Go's url.URL writes it: kept when it is a valid encoding,
  // escaped otherwise.
  function escapePath(p) {
    if (/^[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]%]*$/.test(p) && !/%(?![0-9A-Fa-f]{2})/.test(p)) return p;
    if (/%(?![0-9A-Fa-f]{2})/.test(p)) fail('WL.Server.invokeHttp: path ' + goQuote(p) + ': invalid URL escape');
    var dec;
    try { dec = decodeURIComponent(p); } catch (e) { dec = p; }
    return encodeURIComponent(dec).replace(/%2F/g, '/').replace(/%3A/gi, ':').replace(/%40/g, '@')
      .replace(/%24/g, '$').replace(/%26/g, '&').replace(/%2B/g, '+').replace(/%2C/g, ',')
      .replace(/%3B/g, ';').replace(/%3D/g, '=').replace(/[!'()*]/g, function (c) {
        return '%' + c.charCodeAt(0).toString(16).toUpperCase();
      });
  }

  function contentKind(returned, contentType) {
    var t = String(returned || '').toLowerCase();
    if (t === '') t = String(contentType || '').toLowerCase();
    if (t.indexOf('json') >= 0 || t.indexOf('javascript') >= 0) return 'json';
    if (t.indexOf('html') >= 0) return 'html';
    if (t.indexOf('xml') >= 0) return 'xml';
    return 'text';
  }

  function headerValue(h, name) {
    name = name.toLowerCase();
    var ks = keys(h || {});
    for (var i = 0; i < ks.length; i++) if (ks[i].toLowerCase() === name) return h[ks[i]];
    return '';
  }

  function optString(o, k) {
    if (!has(o, k) || o[k] === null) return '';
    if (typeof o[k] !== 'string') fail('WL.Server.invokeHttp: bad options: ' + k + ' must be a string');
    return o[k];
  }
  function optObject(o, k) {
    if (!has(o, k) || o[k] === null) return null;
    if (!isObject(o[k])) fail('WL.Server.invokeHttp: bad options: ' + k + ' must be an object');
    return o[k];
  }

  function invokeHttp(options) {
    var o = toData(options, 'WL.Server.invokeHttp: the options are');
    if (o === null) o = {};
    if (!isObject(o)) fail('WL.Server.invokeHttp: bad options: not an object');
    if (base === '') fail('WL.Server.invokeHttp: the adapter XML has no <connectivity><connectionPolicy> with a domain to request');
    var method = optString(o, 'method').toUpperCase() || 'GET';
    var path = optString(o, 'path');
    var returned = optString(o, 'returnedContentType');
    var parameters = optObject(o, 'parameters') || {};
    var headersOpt = optObject(o, 'headers') || {};
    var cookies = optObject(o, 'cookies') || {};
    var body = optObject(o, 'body');
    var transformation = optObject(o, 'transformation');
    var convert = '';
    if (transformation && String(transformation.type || '').toLowerCase() === 'xslfile') {
      var xsl = String(transformation.xslFile || '');
      if (!stockXSL[xsl]) {
        fail('WL.Server.invokeHttp: invokeHttp: transformation xslFile ' + goQuote(xsl) + ' is not supported: the engine applies ' +
          'only Worklight\'s template filtered.xsl (RSS items), in the adapter\'s folder; use returnedContentType \'xml\' ' +
          'without a transformation and select the members in JavaScript');
      }
      convert = 'stock-xsl';
    } else {
      var kind = contentKind(returned, '');
      // Without returnedContentType the response's Content-Type decides, which the host reads.
      convert = kind === 'xml' || kind === 'html' ? kind : (returned === '' ? 'auto' : '');
    }
    if (path.charAt(0) !== '/') path = '/' + path;
    var hash = path.indexOf('#');
    var fragment = '';
    if (hash >= 0) { fragment = path.slice(hash); path = path.slice(0, hash); }
    var q = path.indexOf('?');
    var rawQuery = null;
    if (q >= 0) { rawQuery = path.slice(q + 1); path = path.slice(0, q); }
    path = escapePath(path);

    var headers = {};
    keys(headersOpt).forEach(function (k) { headers[k] = sprint(headersOpt[k]); });
    var cookieNames = keys(cookies).sort();
    if (cookieNames.length > 0) {
      headers.Cookie = cookieNames.map(function (k) { return k + '=' + sprint(cookies[k]); }).join('; ');
    }
    var form = create(null);
    var formNames = keys(parameters);
    formNames.forEach(function (k) { form[k] = [sprint(parameters[k])]; });
    var reqBody = null;
    var addQuery = true;
    if (body !== null) {
      var content = body.content;
      if (typeof content === 'string') reqBody = content;
      else if (content !== null && content !== undefined) reqBody = goJSON(content);
      if (typeof body.contentType === 'string' && body.contentType !== '') headers['Content-Type'] = body.contentType;
    } else if (formNames.length > 0 && (method === 'POST' || method === 'PUT')) {
      reqBody = encodeValues(form);
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      addQuery = false;
    }
    var query = rawQuery;
    if (addQuery && formNames.length > 0) {
      var vals = create(null);
      if (rawQuery !== null && rawQuery !== '') {
        rawQuery.split('&').forEach(function (pair) {
          if (pair === '' || pair.indexOf(';') >= 0) return;
          var eq = pair.indexOf('=');
          var k = queryUnescape(eq >= 0 ? pair.slice(0, eq) : pair);
          var v = queryUnescape(eq >= 0 ? pair.slice(eq + 1) : '');
          if (k === null || v === null) return;
          (vals[k] = vals[k] || []).push(v);
        });
      }
      keys(form).forEach(function (k) { (vals[k] = vals[k] || []).push(form[k][0]); });
      query = encodeValues(vals);
    }
    var url = base + path + (query !== null && query !== '' ? '?' + query : (query === '' && rawQuery !== null ? '?' : '')) + fragment;
    var req = {method: method, url: url, headers: headers};
    if (reqBody !== null) req.body = reqBody;
    if (convert !== '') req.convert = convert;
    var answer = host('http', stringify(req));
    if (typeof answer !== 'string') fail('WL.Server.invokeHttp: the host refused the request');
    var resp = parse(answer);
    if (typeof resp.error === 'string' && resp.error !== '') {
      return {errors: ['realmgate: http: ' + resp.error], info: [], isSuccessful: false, warnings: []};
    }
    var status = resp.status || 0;
    var out = {
      isSuccessful: status < 400,
      statusCode: status,
      statusReason: statusText[status] || String(status),
      responseHeaders: resp.headers || {},
      warnings: [],
      info: [],
    };
    if (status >= 400) out.errors = ['the back end answered ' + status];
    var text = typeof resp.body === 'string' ? resp.body : '';
    var contentOut;
    if (has(resp, 'json')) {
      contentOut = resp.json;
    } else if (has(resp, 'convertError')) {
      if (status >= 400) contentOut = {text: text};
      else fail('WL.Server.invokeHttp: ' + resp.convertError);
    } else if (contentKind(returned, headerValue(resp.headers, 'Content-Type')) === 'json') {
      var v;
      try {
        v = parse(text);
      } catch (e) {
        if (status >= 400) v = undefined;
        else fail('WL.Server.invokeHttp: the response is not JSON: ' + e.message);
      }
      if (v === undefined) contentOut = {text: text};
      else if (isArray(v)) contentOut = {array: v};
      else if (isObject(v)) contentOut = v;
      else contentOut = {text: text};
    } else {
      contentOut = {text: text};
    }
    keys(contentOut).forEach(function (k) { put(out, k, contentOut[k]); });
    return sorted(out);
  }

  // ---- WL.Server.pki, invokeProcedure, SQL (contracts C2-C4) -----------------------------
  // pki(request) runs one operation of the host PKI capability (ABI.md, "Host PKI") and returns
  // its answer; a refusal ({"error": ...}) throws an Error with the host's message.
  function pki(request) {
    var raw;
    try { raw = toData(request, 'x'); } catch (e) { raw = null; }
    if (raw === null) fail('WL.Server.pki: the request must be an object such as {op: "parseCSR", csr: ...}');
    var answer = host('pki', goJSON(raw));
    if (typeof answer !== 'string') fail('WL.Server.pki: the host gives this adapter no PKI capability');
    var a;
    try { a = parse(answer); } catch (e) { fail('WL.Server.pki: the host\'s answer is not JSON: ' + e.message); }
    if (isObject(a) && typeof a.error === 'string') fail('WL.Server.pki: ' + a.error);
    return a;
  }

  // invokeProcedure({adapter, procedure, parameters}) runs a procedure of a deployed adapter
  // through the host, which applies its security test with the current request's session, and
  // returns Worklight's answer: the result's members with isSuccessful true, or isSuccessful
  // false with errors (and code). Bad options throw, as Worklight's did; a refusal does not.
  function invokeProcedure(options) {
    var o;
    try { o = toData(options, 'x'); } catch (e) { o = undefined; }
    var bad = 'WL.Server.invokeProcedure: the options must be {adapter, procedure, parameters: [...]}';
    if (o === undefined || o === null || (typeof o === 'object' && isArray(o))) fail(bad);
    if (typeof o !== 'object') fail(bad);
    var adapter = has(o, 'adapter') ? o.adapter : null, procedure = has(o, 'procedure') ? o.procedure : null;
    if ((adapter !== null && typeof adapter !== 'string') || (procedure !== null && typeof procedure !== 'string')) fail(bad);
    if (!adapter || !procedure) fail('WL.Server.invokeProcedure: the options name no adapter or no procedure');
    var req = '{"adapter":' + stringify(adapter) + ',"procedure":' + stringify(procedure);
    if (has(o, 'parameters') && o.parameters !== null) {
      if (!isArray(o.parameters)) fail('WL.Server.invokeProcedure: parameters must be an array');
      req += ',"parameters":' + stringify(o.parameters);
    } else if (has(o, 'parameters')) {
      req += ',"parameters":null';
    }
    var answer = host('invoke', htmlEscape(req + '}'));
    if (typeof answer !== 'string') {
      return {code: 'not_implemented', errors: ['invokeProcedure is not available in this call (no client or realm request is being served)'],
        isSuccessful: false};
    }
    try { return parse(answer); } catch (e) { fail('WL.Server.invokeProcedure: the host\'s answer is not JSON: ' + e.message); }
  }

  // Worklight's SQL adapter API over the host's data source (the sql host function). The
  // statement texts are the script's top level's: createSQLStatement works only while the
  // script loads, as Worklight required, so that no text a call builds (from its parameters)
  // reaches the database as SQL. The texts are kept in C (native.sqlStatement), out of reach of
  // a script that replaces the builtins this prelude uses, and native.sql writes each request
  // from them. A statement is a small object that names its text by number; JSON copies of it
  // (a session's saved state) name the same text, and a made-up one names only a text the top
  // level created.
  var sqlStatementKey = 'realmgate.sqlStatement';
  var nativeSQLStatement = native.sqlStatement, nativeSQL = native.sql;

  function createSQLStatement(text) {
    if (text === undefined || text === null) fail('WL.Server.createSQLStatement: no SQL text');
    var i;
    try {
      i = nativeSQLStatement(String(text));
    } catch (e) {
      fail('WL.Server.createSQLStatement: ' + e.message);
    }
    var o = {};
    o[sqlStatementKey] = i;
    return o;
  }

  function sqlOptions(api, v) {
    var o = toData(v, api + ': the options are');
    if (!isObject(o)) fail(api + ': the options are not an object');
    return o;
  }

  function sqlParameters(o) { return has(o, 'parameters') && o.parameters !== null ? o.parameters : []; }

  function runSQL(api, kind, key, params) {
    var answer;
    try {
      answer = nativeSQL(kind, key, params);
    } catch (e) {
      fail(api + ': ' + e.message);
    }
    if (answer === -1) fail(api + ': the adapter has no data source: declare one in its XML (<connectivity><connectionPolicy xsi:type="sql:SQLConnectionPolicy">)');
    if (answer === -3) fail(api + ': realmgate: sql: too many calls in one procedure call');
    if (typeof answer !== 'string') fail(api + ': realmgate: sql: the host answered ' + answer);
    var v;
    try { v = parse(answer); } catch (e) { fail(api + ': the host\'s answer is not JSON: ' + e.message); }
    return sorted(v);
  }

  function invokeSQLStatement(options) {
    var api = 'WL.Server.invokeSQLStatement';
    var o = sqlOptions(api, options);
    var ps = o.preparedStatement, i = isObject(ps) ? ps[sqlStatementKey] : undefined;
    if (typeof i !== 'number') fail(api + ': preparedStatement is not a statement of WL.Server.createSQLStatement');
    return runSQL(api, 0, i, sqlParameters(o));
  }

  function invokeSQLStoredProcedure(options) {
    var api = 'WL.Server.invokeSQLStoredProcedure';
    var o = sqlOptions(api, options);
    var name = typeof o.procedure === 'string' ? o.procedure.trim() : '';
    if (name === '') fail(api + ': procedure is not a name');
    return runSQL(api, 1, name, sqlParameters(o));
  }

  var WL = {
    Server: {
      invokeHttp: invokeHttp,
      setActiveUser: setActiveUser,
      getActiveUser: getActiveUser,
      getClientRequest: getClientRequest,
      getClientId: getClientId,
      invokeProcedure: invokeProcedure,
      pki: pki,
      createSQLStatement: createSQLStatement,
      invokeSQLStatement: invokeSQLStatement,
      invokeSQLStoredProcedure: invokeSQLStoredProcedure,
    },
    Logger: logger,
  };
  global.WL = WL;

  // ---- loading the script --------------------------------------------------------------
  var builtins = create(null);
  ownNames(global).forEach(function (k) { builtins[k] = true; });
  if (file === '') fail('no JavaScript: the host passed no realmgate.js.file');
  nativeLoad(source, file);

  var functions = keys(global).filter(function (k) { return typeof global[k] === 'function'; }).sort();

  // ---- per-session state (contract C1) ----------------------------------------------------
  // tracked: global name -> its baseline, the JSON text the script's top level left (undefined
  // for a value JSON leaves out). Globals a call creates are tracked with no baseline.
  var tracked = create(null);
  var created = create(null);
  function trackable(k) {
    if (builtins[k] || k === 'WL' || k === '__proto__') return false;
    var d = getOwnDescriptor(global, k);
    return d !== undefined && has(d, 'value') && typeof d.value !== 'function';
  }
  // isData says whether JSON carries v whole: plain objects, arrays, strings, finite numbers,
  // booleans and null. A global the script's top level leaves holding anything else (an object
  // of methods such as a Base64 helper, a Date, a RegExp) is the script's code, not its state:
  // it is never reset nor saved.
  var objectProto = Object.prototype, arrayProto = Array.prototype, getProto = Object.getPrototypeOf;
  function isData(v, depth) {
    if (depth > 64) return false;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return isFinite(v);
    if (typeof v !== 'object') return false;
    var p = getProto(v);
    if (p !== objectProto && p !== arrayProto && p !== null) return false;
    var ks = ownNames(v);
    for (var i = 0; i < ks.length; i++) {
      if (p === arrayProto && ks[i] === 'length') continue;
      var d = getOwnDescriptor(v, ks[i]);
      if (!has(d, 'value') || !isData(d.value, depth + 1)) return false;
    }
    return true;
  }
  var untracked = create(null);
  ownNames(global).forEach(function (k) {
    if (!trackable(k)) return;
    var v = global[k];
    if (v === undefined || isData(v, 0)) tracked[k] = {text: stringify(v)};
    else untracked[k] = true;
  });

  function resetState(state) {
    var names = trackedNames, i, k, changed = false;
    for (i = 0; i < names.length; i++) {
      var t = tracked[names[i]].text;
      global[names[i]] = t === undefined ? undefined : parse(t);
    }
    names = keys(created);
    for (i = 0; i < names.length; i++) {
      if (!has(state, names[i])) {
        delete global[names[i]];
        changed = true;
      }
    }
    created = create(null);
    createdAny = false;
    if (isObject(state)) {
      names = keys(state);
      for (i = 0; i < names.length; i++) {
        k = names[i];
        if (builtins[k] || k === 'WL' || k === '__proto__' || untracked[k]) continue;
        var d = getOwnDescriptor(global, k);
        if (d !== undefined && typeof d.value === 'function') continue;
        if (d === undefined) changed = true;
        global[k] = state[k];
        if (!has(tracked, k)) {
          created[k] = true;
          createdAny = true;
        }
      }
    }
    if (changed) knownGlobals = globalAdds();
  }

  var trackedNames = keys(tracked);
  var createdAny = false;
  // knownGlobals is the count of properties added to the global object (native.globals) when
  // its names were last scanned: a global a call creates is one more.
  var knownGlobals = globalAdds();

  // noteCreated marks the globals created since it last looked, so that the next call's reset
  // removes those its session does not hold: call runs it after every call, one that throws
  // too, since the instance then serves other sessions.
  function noteCreated() {
    var adds = globalAdds();
    if (adds === knownGlobals) return;
    ownNames(global).forEach(function (k) {
      if (!has(tracked, k) && !untracked[k] && trackable(k)) {
        created[k] = true;
        createdAny = true;
      }
    });
    knownGlobals = adds;
  }

  // collectState answers the session's state after a call (noteCreated has run).
  function collectState() {
    if (trackedNames.length === 0 && !createdAny) return '{}';
    var parts = [];
    var names = trackedNames.concat(keys(created)).sort();
    for (var i = 0; i < names.length; i++) {
      var k = names[i];
      var baseline = has(tracked, k) ? tracked[k].text : undefined;
      if (!has(global, k)) {
        if (has(tracked, k)) nativeLog(4, 'the global ' + k + ' was deleted: it is not kept in the session');
        continue;
      }
      var text, v = global[k];
      try {
        text = stringify(v);
      } catch (e) {
        text = null;
      }
      if (text === baseline) continue;
      if (text === undefined || text === null) {
        if (text === undefined && typeof v !== 'undefined') continue; // a function or a symbol: code, not state
        nativeLog(4, 'the global ' + k + ' cannot be turned into JSON: it is not kept in the session');
        continue;
      }
      parts.push(stringify(k) + ':' + text);
    }
    return '{' + parts.join(',') + '}';
  }

  // ---- the procedures ------------------------------------------------------------------
  function load() { return stringify({functions: functions}); }

  var idle = freeze(fresh());

  var lastProcedure = '';

  function call(env) {
    var procedure = typeof env.procedure === 'string' ? env.procedure : '';
    lastProcedure = procedure;
    var input = env.input;
    if (input === null || typeof input !== 'object') input = {};
    var fn = global[procedure];
    if (typeof fn !== 'function' || builtins[procedure]) throw file + ' defines no function ' + procedure;
    var params = hasOwn.call(input, 'parameters') ? input.parameters : null;
    if (params !== null && !isArray(params)) throw 'invalid call: invalid parameters: not an array';
    // fresh(), filled in place: each JavaScript call costs the sandbox more than its work.
    var realm = input.realm, identity = input.identity, request = input.request;
    cur = {realm: typeof realm === 'string' ? realm : '',
      identity: identity !== null && typeof identity === 'object' && !isArray(identity) ? identity : {},
      request: request !== null && typeof request === 'object' && !isArray(request) ? request : {},
      params: null, active: null, activeSet: false};
    var args = [];
    if (params !== null) {
      cur.params = params;
      args = params;
    } else if (cur.realm !== '') {
      // A login-function: Worklight's onAuthRequired(headers, errorMessage).
      args = [sorted(requestHeaders(cur.request)), null];
    } else {
      // A call the host makes with one object (a PKI bridge's procedures, init): the object is
      // the function's one argument, as Worklight's adapter-based PKI bridge passed it.
      args = [input];
    }
    var state = env.state;
    if (state === null || typeof state !== 'object' || isArray(state)) state = null;
    if (state !== null || trackedNames.length > 0 || createdAny) resetState(state);
    var res;
    try {
      res = reflectApply(fn, undefined, args);
    } finally {
      var st = cur;
      cur = idle;
      noteCreated();
    }
    var state = collectState();
    if (res !== undefined && !(st.activeSet && st.active !== null)) return [res, state];
    return finish([res, state], procedure, st);
  }

  // finish writes the call's answer {"result", "state"} as JSON text: the engine calls it for a
  // result it does not write itself (see out_json in engine.c).
  function finish(pair, procedure, st) {
    var res = pair[0];
    if (procedure === undefined) procedure = lastProcedure;
    var out = '{}';
    if (res !== undefined) {
      var s;
      try {
        s = stringify(res);
      } catch (e) {
        throw 'the result of ' + procedure + ' cannot be turned into JSON: ' + e;
      }
      if (s !== undefined) out = s;
    }
    if (st !== undefined && st.activeSet && st.active !== null) {
      var obj = parse(out);
      if (!isObject(obj)) throw procedure + ' called WL.Server.setActiveUser but returned no object';
      var members = keys(obj).filter(function (k) { return k !== 'identity'; });
      members.push('identity');
      out = '{' + members.sort().map(function (k) {
        return stringify(k) + ':' + (k === 'identity' ? goJSON(st.active) : stringify(obj[k]));
      }).join(',') + '}';
      out = htmlEscape(out);
    }
    return '{"result":' + out + ',"state":' + pair[1] + '}';
  }

  return {load: load, call: call, finish: function (pair) { return finish(pair); }};
})
