// Corral's JavaScript analyzer (issue 5), on esprima's syntax tree.
//
// Runs inside a jail:  /usr/bin/node javascript_analyzer.js RULES [typescript]  < source
// or, as a warm worker answering many programs:  javascript_analyzer.js RULES [typescript] --serve  (see serve()).
// RULES is the same tab-separated table as the Python analyzer's (I module rule / N name rule / S path).
// Prints {"findings": [{"rule","line","column","detail"}], "imports": [{"module","line","column"}],
//         "truncated": bool, "error": null | {"code","message","line","column"}}.
// Qualified names: modules by their name ("child_process.exec"), globals under "global"
// ("global.eval", "global.process.binding"). Lines and columns are 1-based.
'use strict';
const fs = require('fs');
const esprima = require('/usr/share/nodejs/esprima');

const MAX_FINDINGS = 1000;
const MAX_STRING = 65536;
const FOLD_BUDGET = 20000;
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window', 'self']);
const GLOBAL_NAMES = new Set(['eval', 'Function', 'process', 'require', 'module', 'exports', 'fetch', 'XMLHttpRequest',
  'WebSocket', 'EventSource', 'setTimeout', 'setInterval', 'setImmediate', 'Buffer', 'atob', 'btoa', 'String',
  'Object', 'Reflect', 'Array', 'navigator', 'importScripts', 'execScript', 'unescape', 'decodeURIComponent',
  'decodeURI', 'Proxy', 'WebAssembly', 'AsyncFunction']);
const LOADER_SUFFIXES = ['.require', '._load', '.createRequire'];
const FS_MODULES = new Set(['fs', 'fs/promises', 'fs-extra', 'fs.promises']);
const FS_WRITES = {
  writeFile: [0], writeFileSync: [0], appendFile: [0], appendFileSync: [0], unlink: [0], unlinkSync: [0],
  rm: [0], rmSync: [0], rmdir: [0], rmdirSync: [0], rename: [0, 1], renameSync: [0, 1], mkdir: [0],
  mkdirSync: [0], copyFile: [1], copyFileSync: [1], cp: [1], cpSync: [1], symlink: [1], symlinkSync: [1],
  link: [1], linkSync: [1], chmod: [0], chmodSync: [0], chown: [0], chownSync: [0], truncate: [0],
  truncateSync: [0], createWriteStream: [0], outputFile: [0], outputFileSync: [0], remove: [0], removeSync: [0],
  emptyDir: [0], emptyDirSync: [0], writeJson: [0], writeJsonSync: [0], utimes: [0], utimesSync: [0],
};
const FS_READS = { readFile: 0, readFileSync: 0, createReadStream: 0, readdir: 0, readdirSync: 0, stat: 0,
  statSync: 0, copyFile: 0, copyFileSync: 0, readJson: 0, readJsonSync: 0, existsSync: 0, access: 0, accessSync: 0 };
const WORKSPACE_ROOTS = ['/workspace', '/tmp', '/dev/shm'];
const HARMLESS_PATHS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/stdin', '/dev/tty']);
// Fields that never hold child nodes.
const SKIP_FIELDS = new Set(['loc', 'range', 'regex', 'type']);

class Unfoldable extends Error {}

class Scope {
  constructor(parent) {
    this.parent = parent;
    this.declared = new Set();
    this.aliases = new Map(); // name -> Map(qualified -> via)
    this.consts = new Map();  // name -> Set of folded values (JSON-encoded)
    this.nonconst = new Set();
    this.rebound = new Set();
  }
}

class Rules {
  constructor(text) {
    this.imports = new Map();
    this.exact = new Map();
    this.prefixes = [];
    this.sensitivePrefixes = [];
    this.sensitiveParts = [];
    for (const line of text.split('\n')) {
      const p = line.split('\t');
      if (p[0] === 'I' && p.length === 3) this.imports.set(p[1], p[2]);
      else if (p[0] === 'N' && p.length === 3) {
        if (p[1].endsWith('*')) this.prefixes.push([p[1].slice(0, -1), p[2]]);
        else { if (!this.exact.has(p[1])) this.exact.set(p[1], []); this.exact.get(p[1]).push(p[2]); }
      } else if (p[0] === 'S' && p.length === 2) {
        if (p[1].startsWith('*')) this.sensitiveParts.push(p[1].slice(1)); else this.sensitivePrefixes.push(p[1]);
      }
    }
  }
  importRule(module, exactOnly) {
    if (exactOnly) return this.imports.get(module) || null;
    const parts = module.split('/');
    for (let i = parts.length; i > 0; i--) {
      const r = this.imports.get(parts.slice(0, i).join('/'));
      if (r) return r;
    }
    return null;
  }
  nameRules(q) {
    const out = (this.exact.get(q) || []).slice();
    for (const [stem, rule] of this.prefixes) {
      if (q.startsWith(stem) && q.length > stem.length && !out.includes(rule)) out.push(rule);
    }
    return out;
  }
  sensitive(path) {
    if (this.sensitivePrefixes.some(p => path === p || path.startsWith(p.replace(/\/$/, '') + '/'))) return true;
    return this.sensitiveParts.some(p => path.includes(p));
  }
}

function moduleName(name) { return name.startsWith('node:') ? name.slice(5) : name; }

function normalize(path) {
  if (!path.startsWith('/')) path = '/workspace/' + path;
  const parts = [];
  for (const p of path.split('/')) {
    if (p === '..') parts.pop(); else if (p && p !== '.') parts.push(p);
  }
  return '/' + parts.join('/');
}

function bounded(v) {
  if ((typeof v === 'string' || Array.isArray(v)) && v.length > MAX_STRING) throw new Unfoldable();
  return v;
}

class Analyzer {
  constructor(rules) {
    this.rules = rules;
    this.findings = new Map();
    this.imports = [];
    this.truncated = false;
    this.scopes = new Map();
    this.assigns = [];
    this.memo = new Map();
    this.modules = new Set();
    this.budget = 0;
    this.folding = false;
    this.map = null;
  }

  run(ast) {
    this.root = new Scope(null);
    this.scopes.set(ast, this.root);
    this.walk(ast, this.root, (n, s) => this.prepare(n, s));
    for (let i = 0; i < 3; i++) { this.memo = new Map(); this.bindAssignments(); }
    this.memo = new Map();
    this.walk(ast, this.root, (n, s) => this.inspect(n, s));
  }

  // ---------- traversal ----------

  walk(ast, scope, visit) {
    const stack = [[ast, scope]];
    while (stack.length) {
      const [node, s] = stack.pop();
      visit(node, s);
      for (const child of this.children(node, s)) stack.push(child);
    }
  }

  children(node, scope) {
    const t = node.type;
    if (t === 'FunctionDeclaration' || t === 'FunctionExpression' || t === 'ArrowFunctionExpression') {
      const inner = this.scopeOf(node, scope);
      return node.params.map(p => [p, inner]).concat([[node.body, inner]]);
    }
    const out = [];
    for (const key of Object.keys(node)) {
      if (SKIP_FIELDS.has(key)) continue;
      if ((t === 'MemberExpression' || t === 'Property' || t === 'MethodDefinition') && !node.computed &&
          (key === 'property' || key === 'key')) continue;
      if (t === 'LabeledStatement' || t === 'BreakStatement' || t === 'ContinueStatement') continue;
      const v = node[key];
      if (Array.isArray(v)) { for (const c of v) if (c && typeof c.type === 'string') out.push([c, scope]); }
      else if (v && typeof v.type === 'string') out.push([v, scope]);
    }
    return out;
  }

  scopeOf(node, parent) {
    let s = this.scopes.get(node);
    if (!s) {
      s = new Scope(parent);
      this.scopes.set(node, s);
      for (const p of node.params) this.declarePattern(p, s, true);
      if (node.type === 'FunctionExpression' && node.id) { s.declared.add(node.id.name); s.rebound.add(node.id.name); }
    }
    return s;
  }

  declarePattern(p, scope, rebound) {
    if (!p) return;
    if (p.type === 'Identifier') { scope.declared.add(p.name); if (rebound) scope.rebound.add(p.name); }
    else if (p.type === 'ObjectPattern') for (const prop of p.properties) this.declarePattern(prop.value || prop.argument, scope, rebound);
    else if (p.type === 'ArrayPattern') for (const e of p.elements) this.declarePattern(e, scope, rebound);
    else if (p.type === 'AssignmentPattern') this.declarePattern(p.left, scope, rebound);
    else if (p.type === 'RestElement') this.declarePattern(p.argument, scope, rebound);
  }

  // ---------- pass 1: declarations and assignments ----------

  prepare(node, scope) {
    switch (node.type) {
      case 'VariableDeclarator':
        if (node.id.type === 'Identifier') {
          scope.declared.add(node.id.name);
          if (node.init) this.assigns.push([scope, node.id.name, node.init, null]);
          else scope.rebound.add(node.id.name);
        } else {
          this.declarePattern(node.id, scope, true);
          if (node.id.type === 'ObjectPattern' && node.init) this.destructure(node.id, node.init, scope);
        }
        break;
      case 'FunctionDeclaration': case 'ClassDeclaration':
        if (node.id) { scope.declared.add(node.id.name); scope.rebound.add(node.id.name); }
        break;
      case 'CatchClause': this.declarePattern(node.param, scope, true); break;
      case 'AssignmentExpression':
        if (node.left.type === 'Identifier') {
          if (node.operator === '=') this.assigns.push([scope, node.left.name, node.right, null]);
          else this.markRebound(node.left.name, scope);
        }
        break;
      case 'UpdateExpression':
        if (node.argument.type === 'Identifier') this.markRebound(node.argument.name, scope);
        break;
      case 'ImportDeclaration': {
        const m = moduleName(String(node.source.value));
        for (const sp of node.specifiers) {
          scope.declared.add(sp.local.name);
          const q = sp.type === 'ImportSpecifier' ? m + '.' + sp.imported.name : m;
          this.alias(scope, sp.local.name, q, null);
        }
        break;
      }
    }
  }

  markRebound(name, scope) {
    const s = this.lookup(name, scope);
    (s || this.root).rebound.add(name);
  }

  destructure(pattern, init, scope) {
    for (const prop of pattern.properties) {
      if (prop.type !== 'Property' || !prop.value || prop.value.type !== 'Identifier') continue;
      const key = prop.computed ? null : (prop.key.type === 'Identifier' ? prop.key.name : String(prop.key.value));
      if (key !== null) this.assigns.push([scope, prop.value.name, init, key]);
    }
  }

  alias(scope, name, q, via) {
    if (!scope.aliases.has(name)) scope.aliases.set(name, new Map());
    const m = scope.aliases.get(name);
    if (!m.has(q)) m.set(q, via);
  }

  bindAssignments() {
    const failed = new Map();
    for (const [scope0, name, value, key] of this.assigns) {
      const scope = this.lookup(name, scope0) || this.root;
      for (const [q, via] of this.resolve(value, scope0)) this.alias(scope, name, key ? q + '.' + key : q, via);
      if (key) continue;
      try {
        const v = JSON.stringify(this.fold(value, scope0));
        if (!scope.consts.has(name)) scope.consts.set(name, new Set());
        scope.consts.get(name).add(v);
      } catch (e) {
        if (!(e instanceof Unfoldable)) throw e;
        if (!failed.has(scope)) failed.set(scope, new Set());
        failed.get(scope).add(name);
      }
    }
    for (const s of this.scopes.values()) s.nonconst = failed.get(s) || new Set();
  }

  // ---------- resolution ----------

  lookup(name, scope) {
    for (let s = scope; s; s = s.parent) if (s.declared.has(name) || s.aliases.has(name)) return s;
    return null;
  }

  resolveName(name, scope) {
    const s = this.lookup(name, scope);
    if (s) return s.aliases.has(name) ? [...s.aliases.get(name)] : [];
    if (GLOBAL_OBJECTS.has(name)) return [['global', null]];
    if (GLOBAL_NAMES.has(name)) return [['global.' + name, null]];
    return [];
  }

  resolve(node, scope) {
    let r = this.memo.get(node);
    if (!r) { r = this.resolveUncached(node, scope); this.memo.set(node, r); }
    return r;
  }

  resolveUncached(node, scope) {
    switch (node.type) {
      case 'Identifier': return this.resolveName(node.name, scope);
      case 'ThisExpression': return scope === this.root ? [['global.module.exports', null]] : [];
      case 'MemberExpression': {
        const key = this.propertyName(node, scope);
        if (key.name === 'constructor' && this.isFunctionLike(node.object, scope)) {
          return [['global.Function', 'a .constructor chain']];
        }
        if (key.name === null) return [];
        const how = node.computed ? 'a computed property' + (key.built ? ' with a built string' : '') : null;
        return this.resolve(node.object, scope).map(([q, via]) => [q + '.' + key.name, via || how]);
      }
      case 'CallExpression': case 'NewExpression': return this.resolveCall(node, scope);
      case 'SequenceExpression': return this.resolve(node.expressions[node.expressions.length - 1], scope);
      case 'AssignmentExpression': return this.resolve(node.right, scope);
      case 'AwaitExpression': return node.argument ? this.resolve(node.argument, scope) : [];
      default: return [];
    }
  }

  isFunctionLike(node, scope) {
    const t = node.type;
    if (t === 'FunctionExpression' || t === 'ArrowFunctionExpression') return true;
    if (t === 'MemberExpression' && this.propertyName(node, scope).name === 'constructor') return true;
    return this.resolve(node, scope).some(([q]) => q === 'global.Function' || q.endsWith('.constructor'));
  }

  propertyName(node, scope) {
    if (!node.computed) return { name: node.property.name, built: false };
    const [s, built] = this.foldString(node.property, scope);
    return { name: s, built };
  }

  resolveCall(node, scope) {
    const out = [];
    const callee = node.callee;
    if (callee.type === 'Import') {
      const [m, built] = this.foldString(node.arguments[0], scope);
      if (m !== null) out.push([moduleName(m), built ? 'a built string' : null]);
      return out;
    }
    for (const [q, via] of this.resolve(callee, scope)) {
      if (this.isLoader(q) && node.arguments.length) {
        const [m, built] = this.foldString(node.arguments[0], scope);
        if (m !== null) {
          const how = via || (q !== 'global.require' ? 'the module loader (' + q.replace(/^global\./, '') + ')' : null)
            || (built ? 'a built string' : null);
          out.push([moduleName(m), how]);
        }
      } else if (q === 'global.Reflect.get' && node.arguments.length >= 2) {
        const [name, built] = this.foldString(node.arguments[1], scope);
        if (name !== null) {
          for (const [b] of this.resolve(node.arguments[0], scope)) out.push([b + '.' + name, 'Reflect.get' + (built ? ' with a built string' : '')]);
        }
      } else if (q === 'global.Object.getPrototypeOf' && node.arguments.length) {
        const a = node.arguments[0];
        if (a.type === 'FunctionExpression' || a.type === 'ArrowFunctionExpression') out.push(['global.Function.prototype', null]);
      }
    }
    return out;
  }

  isLoader(q) {
    return q === 'global.require' || q === 'module.createRequire' || LOADER_SUFFIXES.some(s => q.endsWith(s) && q.startsWith('global.'));
  }

  // ---------- constant folding ----------

  foldString(node, scope) {
    if (!node) return [null, false];
    try {
      const v = this.fold(node, scope);
      if (typeof v === 'string') return [v, !(node.type === 'Literal')];
      if (typeof v === 'number') return [String(v), node.type !== 'Literal'];
    } catch (e) { if (!(e instanceof Unfoldable)) throw e; }
    return [null, false];
  }

  fold(node, scope, env) {
    if (this.folding) return this.foldNode(node, scope, env);
    this.folding = true; this.budget = FOLD_BUDGET;
    try { return this.foldNode(node, scope, env); } catch (e) {
      if (e instanceof Unfoldable) throw e;
      throw new Unfoldable();
    } finally { this.folding = false; }
  }

  foldNode(node, scope, env) {
    if (--this.budget < 0) throw new Unfoldable();
    switch (node.type) {
      case 'Literal':
        if (node.regex) throw new Unfoldable();
        return node.value;
      case 'TemplateLiteral': {
        let s = node.quasis[0].value.cooked;
        for (let i = 0; i < node.expressions.length; i++) {
          s += String(this.primitive(this.foldNode(node.expressions[i], scope, env))) + node.quasis[i + 1].value.cooked;
          bounded(s);
        }
        return s;
      }
      case 'Identifier': return this.foldName(node.name, scope, env);
      case 'BinaryExpression': {
        const l = this.primitive(this.foldNode(node.left, scope, env));
        const r = this.primitive(this.foldNode(node.right, scope, env));
        switch (node.operator) {
          case '+': return bounded(l + r);
          case '-': case '^': case '|': case '&': case '*': case '%': case '>>': case '<<': {
            if (typeof l !== 'number' || typeof r !== 'number') throw new Unfoldable();
            return { '-': l - r, '^': l ^ r, '|': l | r, '&': l & r, '*': l * r, '%': l % r, '>>': l >> r, '<<': l << r }[node.operator];
          }
        }
        throw new Unfoldable();
      }
      case 'UnaryExpression':
        if (node.operator === '-') return -this.primitive(this.foldNode(node.argument, scope, env));
        throw new Unfoldable();
      case 'ArrayExpression':
        if (node.elements.length > 10000) throw new Unfoldable();
        return node.elements.map(e => { if (!e || e.type === 'SpreadElement') throw new Unfoldable(); return this.foldNode(e, scope, env); });
      case 'MemberExpression': {
        const obj = this.foldNode(node.object, scope, env);
        const key = node.computed ? this.foldNode(node.property, scope, env) : node.property.name;
        if ((typeof obj === 'string' || Array.isArray(obj)) && typeof key === 'number') return obj[key];
        if (key === 'length' && (typeof obj === 'string' || Array.isArray(obj))) return obj.length;
        throw new Unfoldable();
      }
      case 'CallExpression': return this.foldCall(node, scope, env);
      case 'SequenceExpression': return this.foldNode(node.expressions[node.expressions.length - 1], scope, env);
    }
    throw new Unfoldable();
  }

  primitive(v) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (Array.isArray(v) && v.every(x => typeof x === 'string' || typeof x === 'number')) return bounded(v.join(','));
    throw new Unfoldable();
  }

  foldName(name, scope, env) {
    if (env && env.has(name)) return env.get(name);
    const s = this.lookup(name, scope);
    if (!s) throw new Unfoldable();
    const values = s.consts.get(name);
    if (!values || values.size !== 1 || s.nonconst.has(name) || s.rebound.has(name)) throw new Unfoldable();
    return JSON.parse([...values][0]);
  }

  foldCall(node, scope, env) {
    const args = () => node.arguments.map(a => { if (a.type === 'SpreadElement') throw new Unfoldable(); return this.foldNode(a, scope, env); });
    const callee = node.callee;
    if (callee.type === 'MemberExpression' && !callee.computed) {
      const method = callee.property.name;
      let receiver;
      let folded = true;
      try { receiver = this.foldNode(callee.object, scope, env); } catch (e) {
        if (!(e instanceof Unfoldable)) throw e;
        folded = false;
      }
      if (folded) {
        if (method === 'map' && Array.isArray(receiver) && node.arguments.length === 1) {
          return receiver.map(x => this.applyFunction(node.arguments[0], [x], scope, env));
        }
        return this.foldMethod(receiver, method, args());
      }
    }
    const names = this.resolve(callee, scope).map(([q]) => q);
    const q = names[0];
    const a = names.length ? args() : null;
    switch (q) {
      case 'global.String.fromCharCode': return bounded(String.fromCharCode(...a.map(Number)));
      case 'global.String': return String(this.primitive(a[0]));
      case 'global.atob': return Buffer.from(String(a[0]), 'base64').toString('latin1');
      case 'global.unescape': case 'global.decodeURIComponent': case 'global.decodeURI':
        return decodeURIComponent(String(a[0]));
      case 'global.Buffer.from': {
        const enc = a.length > 1 ? String(a[1]) : 'utf8';
        if (!['base64', 'hex', 'utf8', 'utf-8', 'latin1', 'ascii', 'binary', 'base64url'].includes(enc)) throw new Unfoldable();
        return { buffer: Buffer.from(Array.isArray(a[0]) ? a[0] : String(a[0]), enc).toString('latin1') };
      }
    }
    if (callee.type === 'MemberExpression' && !callee.computed && callee.property.name === 'toString') {
      const b = this.foldNode(callee.object, scope, env);
      if (b && typeof b.buffer === 'string') {
        const enc = node.arguments.length ? String(this.foldNode(node.arguments[0], scope, env)) : 'utf8';
        return Buffer.from(b.buffer, 'latin1').toString(enc === 'base64' || enc === 'hex' ? enc : 'utf8');
      }
    }
    throw new Unfoldable();
  }

  applyFunction(fn, values, scope, env) {
    const names = this.resolve(fn, scope).map(([q]) => q);
    if (names[0] === 'global.String.fromCharCode') return String.fromCharCode(Number(values[0]));
    if ((fn.type === 'ArrowFunctionExpression' || fn.type === 'FunctionExpression') && fn.params.length >= 1 &&
        fn.params[0].type === 'Identifier') {
      let body = fn.body;
      if (body.type === 'BlockStatement') {
        if (body.body.length !== 1 || body.body[0].type !== 'ReturnStatement') throw new Unfoldable();
        body = body.body[0].argument;
      }
      const inner = new Map(env || []);
      inner.set(fn.params[0].name, values[0]);
      return this.foldNode(body, scope, inner);
    }
    throw new Unfoldable();
  }

  foldMethod(receiver, method, a) {
    if (receiver && typeof receiver.buffer === 'string' && method === 'toString') {
      const enc = a.length ? String(a[0]) : 'utf8';
      return Buffer.from(receiver.buffer, 'latin1').toString(enc === 'base64' || enc === 'hex' ? enc : 'utf8');
    }
    if (typeof receiver === 'string') {
      switch (method) {
        case 'split': return typeof a[0] === 'string' ? receiver.split(a[0]) : (() => { throw new Unfoldable(); })();
        case 'concat': return bounded(receiver.concat(...a.map(x => this.primitive(x))));
        case 'replace': case 'replaceAll':
          if (typeof a[0] !== 'string' || typeof a[1] !== 'string') throw new Unfoldable();
          return bounded(receiver[method](a[0], a[1]));
        case 'toLowerCase': case 'toUpperCase': case 'trim': case 'toString': case 'valueOf': return receiver[method]();
        case 'slice': case 'substring': case 'substr': case 'charAt': case 'at': return receiver[method](...a.map(Number));
        case 'charCodeAt': return receiver.charCodeAt(Number(a[0] || 0));
        case 'repeat': if (receiver.length * Number(a[0]) > MAX_STRING) throw new Unfoldable(); return receiver.repeat(Number(a[0]));
      }
    }
    if (Array.isArray(receiver)) {
      switch (method) {
        case 'join': return bounded(receiver.map(x => this.primitive(x)).join(a.length ? String(a[0]) : ','));
        case 'reverse': return receiver.slice().reverse();
        case 'concat': return bounded(receiver.concat(...a));
        case 'slice': return receiver.slice(...a.map(Number));
      }
    }
    throw new Unfoldable();
  }

  // ---------- pass 2: findings ----------

  inspect(node, scope) {
    switch (node.type) {
      case 'ImportDeclaration': {
        const m = moduleName(String(node.source.value));
        this.imported(m, node, null);
        for (const sp of node.specifiers) {
          if (sp.type === 'ImportSpecifier') this.checkNames([[m + '.' + sp.imported.name, null]], sp);
        }
        break;
      }
      case 'Identifier': case 'MemberExpression':
        this.checkNames(this.resolve(node, scope), node);
        if (node.type === 'MemberExpression' && node.computed) this.checkComputed(node, scope);
        break;
      case 'CallExpression': case 'NewExpression':
        this.checkNames(this.resolve(node, scope), node);
        this.inspectCall(node, scope);
        break;
      case 'VariableDeclarator':
        if (node.id.type === 'ObjectPattern' && node.init) {
          const bases = this.resolve(node.init, scope);
          for (const prop of node.id.properties) {
            if (prop.type === 'Property' && !prop.computed) {
              const key = prop.key.type === 'Identifier' ? prop.key.name : String(prop.key.value);
              this.checkNames(bases.map(([q, via]) => [q + '.' + key, via]), prop);
            }
          }
        }
        break;
    }
  }

  inspectCall(node, scope) {
    const args = node.arguments;
    if (node.callee.type === 'Import') { this.dynamicImport(node, scope); return; }
    for (const [q] of this.resolve(node.callee, scope)) {
      if (this.isLoader(q)) this.dynamicImport(node, scope);
      if ((q === 'global.setTimeout' || q === 'global.setInterval' || q === 'global.setImmediate') && args.length) {
        const [code] = this.foldString(args[0], scope);
        if (code !== null || (args[0].type !== 'FunctionExpression' && args[0].type !== 'ArrowFunctionExpression' &&
            !this.resolve(args[0], scope).length && args[0].type !== 'Identifier')) {
          this.add('javascript.dynamic.timer_string', node, q.slice(7) + ' with a string of code');
        }
      }
      const dot = q.lastIndexOf('.');
      const owner = q.slice(0, dot);
      const method = q.slice(dot + 1);
      if (!FS_MODULES.has(owner)) continue;
      if (FS_WRITES[method]) {
        for (const i of FS_WRITES[method]) if (args[i]) this.checkPath(this.pathOf(args[i], scope), true, node, 'fs.' + method);
      }
      if ((method === 'open' || method === 'openSync') && args[0]) {
        const [flags] = args[1] ? this.foldString(args[1], scope) : ['r'];
        const write = flags === null || /[wa+]/.test(flags);
        this.checkPath(this.pathOf(args[0], scope), write, node, 'fs.' + method);
      } else if (method in FS_READS && args[FS_READS[method]]) {
        const p = this.pathOf(args[FS_READS[method]], scope);
        if (p.path !== null) this.checkPath(p, false, node, 'fs.' + method);
      }
    }
  }

  dynamicImport(node, scope) {
    const arg = node.arguments[0];
    const [m, built] = this.foldString(arg, scope);
    if (m === null) {
      this.add('javascript.dynamic.require_unknown', node, 'a module whose name is computed at run time');
      return;
    }
    const name = moduleName(m);
    if (name.startsWith('.') || name.startsWith('/')) return;
    const matched = this.imported(name, node, built);
    if (built && matched) this.add('javascript.dynamic.obfuscated_access', node, 'loads ' + name + ' through a built string');
  }

  checkComputed(node, scope) {
    const key = this.propertyName(node, scope);
    if (key.name !== null) return;
    const bases = this.resolve(node.object, scope).map(([q]) => q)
      .filter(q => q === 'global' || q === 'global.process' || q === 'global.module' || q === 'global.require' || this.modules.has(q));
    if (bases.length) this.add('javascript.dynamic.computed_unknown', node, bases[0].replace(/^global\.?/, '') || 'globalThis');
  }

  // The folded path; or, when only its leading part is known, that part and `partial`.
  pathOf(node, scope) {
    const [path] = this.foldString(node, scope);
    if (path !== null) return { path, partial: false };
    const prefix = this.pathPrefix(node, scope);
    return prefix && prefix.startsWith('/') ? { path: prefix, partial: true } : { path: null, partial: false };
  }

  pathPrefix(node, scope) {
    if (node.type === 'TemplateLiteral') return node.quasis[0].value.cooked;
    if (node.type === 'BinaryExpression' && node.operator === '+') {
      return this.foldString(node.left, scope)[0] || this.pathPrefix(node.left, scope);
    }
    if (node.type === 'CallExpression' && node.arguments.length) {
      const q = this.resolve(node.callee, scope).map(([n]) => n)[0];
      if (q === 'path.join' || q === 'path.resolve' || q === 'path.posix.join') {
        return this.foldString(node.arguments[0], scope)[0] || this.pathPrefix(node.arguments[0], scope);
      }
    }
    return null;
  }

  checkPath(arg, write, node, what) {
    const { path, partial } = typeof arg === 'string' || arg === null ? { path: arg, partial: false } : arg;
    if (path === null) {
      if (write) this.add('javascript.filesystem.write_computed_path', node, what + ' with a path computed at run time');
      return;
    }
    const full = normalize(path);
    if (partial) {
      if (WORKSPACE_ROOTS.some(r => full === r || full.startsWith(r + '/'))) {
        if (write) this.add('javascript.filesystem.write_computed_path', node, what + "('" + path + "' + ...)");
        return;
      }
    } else if (HARMLESS_PATHS.has(full)) return;
    const inside = WORKSPACE_ROOTS.some(r => full === r || full.startsWith(r + '/'));
    if (this.rules.sensitive(full)) this.add('javascript.filesystem.sensitive_path', node, what + "('" + path + "')");
    else if (write) this.add(inside ? 'javascript.filesystem.write_workspace' : 'javascript.filesystem.write_outside_workspace', node, what + "('" + path + "')");
    else if (!inside) this.add('javascript.filesystem.read_outside_workspace', node, what + "('" + path + "')");
  }

  imported(module, node) {
    const { line, column } = this.position(node);
    this.imports.push([module, line, column]);
    this.modules.add(module);
    const rule = this.rules.importRule(module, false);
    if (rule) this.add(rule, node, module);
    return rule !== null;
  }

  checkNames(resolved, node) {
    for (const [q, via] of resolved) {
      const rules = this.rules.nameRules(q);
      for (const r of rules) this.add(r, node, q.replace(/^global\./, ''));
      if (rules.length && via) this.add('javascript.dynamic.obfuscated_access', node, 'reaches ' + q.replace(/^global\./, '') + ' through ' + via);
    }
  }

  position(node) {
    if (this.map) return this.map.original(node.loc.start.line, node.loc.start.column);
    return { line: node.loc.start.line, column: node.loc.start.column + 1 };
  }

  add(rule, node, detail) {
    const { line, column } = this.position(node);
    const key = rule + '\u0000' + line + '\u0000' + column;
    if (this.findings.has(key)) return;
    if (this.findings.size >= MAX_FINDINGS) { this.truncated = true; return; }
    this.findings.set(key, { rule, line, column, detail: String(detail).slice(0, 300) });
  }
}

// ---------- modern syntax and TypeScript: transpile to ES2017, analyse, map positions back ----------

const TYPESCRIPT = '/usr/share/nodejs/typescript';

function transpile(source, fileName) {
  let ts;
  try { ts = require(TYPESCRIPT); } catch (e) { return null; }
  const out = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2017, module: ts.ModuleKind.CommonJS, sourceMap: true },
    reportDiagnostics: true, fileName,
  });
  const errors = (out.diagnostics || []).filter(d => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const d = errors[0];
    const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
    const e = new Error(ts.flattenDiagnosticMessageText(d.messageText, ' '));
    e.syntax = true;
    e.lineNumber = pos ? pos.line + 1 : null;
    e.column = pos ? pos.character + 1 : null;
    throw e;
  }
  return { code: out.outputText, map: new SourceMap(JSON.parse(out.sourceMapText).mappings) };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// Generated position -> original position, from a source map's VLQ mappings.
class SourceMap {
  constructor(mappings) {
    this.lines = [];
    let srcLine = 0, srcCol = 0, src = 0, name = 0;
    for (const text of mappings.split(';')) {
      const segments = [];
      let genCol = 0;
      for (const seg of text ? text.split(',') : []) {
        const v = SourceMap.vlq(seg);
        genCol += v[0];
        if (v.length >= 4) { src += v[1]; srcLine += v[2]; srcCol += v[3]; segments.push([genCol, srcLine, srcCol]); }
        if (v.length >= 5) name += v[4];
      }
      this.lines.push(segments);
    }
  }
  static vlq(seg) {
    const out = [];
    let value = 0, shift = 0;
    for (const c of seg) {
      const digit = BASE64.indexOf(c);
      value += (digit & 31) << shift;
      if (digit & 32) { shift += 5; continue; }
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0; shift = 0;
    }
    return out;
  }
  original(line, column) { // 1-based line, 0-based column in; 1-based both out
    for (let l = line - 1; l >= 0; l--) {
      const segs = this.lines[l] || [];
      if (!segs.length) continue;
      let best = segs[0];
      if (l === line - 1) for (const s of segs) if (s[0] <= column) best = s;
      if (l !== line - 1) best = segs[segs.length - 1];
      return { line: best[1] + 1, column: best[2] + 1 };
    }
    return { line: 1, column: 1 };
  }
}

function parse(source) {
  const options = { loc: true, tolerant: false };
  try { return esprima.parseScript(source, options); } catch (scriptError) {
    try { return esprima.parseModule(source, options); } catch (moduleError) {
      // Report the script error unless the code is evidently a module.
      const e = /^\s*(import|export)\b/m.test(source) ? moduleError : scriptError;
      e.unsupported = true;
      throw e;
    }
  }
}

// esprima first (fast); code it cannot parse (ES2018+, TypeScript) is transpiled to ES2017 by the
// TypeScript compiler from Debian and analysed on that, with positions mapped back.
function program(source, typescript) {
  if (!typescript) {
    try { return { ast: parse(source), map: null }; } catch (e) {
      if (!e.unsupported) throw e;
      const t = transpile(source, 'main.js');
      if (!t) throw e;
      return { ast: parse(t.code), map: t.map };
    }
  }
  const t = transpile(source, 'main.ts');
  if (!t) { const e = new Error('the TypeScript compiler is not installed'); e.unsupported = true; e.description = e.message; throw e; }
  return { ast: parse(t.code), map: t.map };
}

function analyzeSource(source, rules, typescript) {
  if (source.startsWith('#!')) source = '//' + source.slice(2);
  const a = new Analyzer(rules);
  let error = null;
  try {
    const p = program(source, typescript);
    a.map = p.map;
    a.run(p.ast);
  } catch (e) {
    if (e instanceof RangeError) error = { code: 'too_complex', message: 'the code is nested too deeply to analyse', line: null, column: null };
    else if (e.syntax) error = { code: 'syntax_error', message: e.message, line: e.lineNumber, column: e.column };
    else if (e.unsupported) {
      error = { code: 'unsupported_syntax', message: 'esprima 4 (ECMAScript 2017) cannot parse this code: ' + e.description,
        line: e.lineNumber || null, column: e.column || null };
    } else error = { code: 'analyzer_failed', message: String(e && e.stack || e).slice(0, 500), line: null, column: null };
  }
  const findings = error ? [] : [...a.findings.values()].sort((x, y) => x.line - y.line || x.column - y.column || (x.rule < y.rule ? -1 : 1));
  const imports = error ? [] : a.imports.slice(0, MAX_FINDINGS).map(([module, line, column]) => ({ module, line, column }));
  return JSON.stringify({ findings, imports, truncated: a.truncated, error });
}

// Reads exactly n bytes from stdin (blocking), or null at EOF.
function readExactly(n) {
  const buffer = Buffer.alloc(n);
  let offset = 0;
  while (offset < n) {
    let got;
    try { got = fs.readSync(0, buffer, offset, n - offset, null); } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      if (e.code === 'EOF') return null;
      throw e;
    }
    if (got === 0) return null;
    offset += got;
  }
  return buffer;
}

function writeAll(bytes) {
  let offset = 0;
  while (offset < bytes.length) {
    try { offset += fs.writeSync(1, bytes, offset, bytes.length - offset); } catch (e) {
      if (e.code !== 'EAGAIN' && e.code !== 'EINTR') throw e;
    }
  }
}

// Answers many programs, one frame each way: a 4-byte big-endian length, then the bytes (the
// program's source in, the report's UTF-8 JSON out). Ends at EOF. Corral kills and replaces the
// worker on any trouble (deadline, crash, garbage), so this loop does not defend itself.
function serve(rules, typescript) {
  for (;;) {
    const header = readExactly(4);
    if (!header) return;
    const source = readExactly(header.readUInt32BE(0));
    if (!source) return;
    const out = Buffer.from(analyzeSource(source.toString('utf8'), rules, typescript), 'utf8');
    const frame = Buffer.alloc(4 + out.length);
    frame.writeUInt32BE(out.length, 0);
    out.copy(frame, 4);
    writeAll(frame);
  }
}

function main() {
  const rules = new Rules(fs.readFileSync(process.argv[2], 'utf8'));
  const typescript = process.argv.includes('typescript');
  if (process.argv.includes('--serve')) return serve(rules, typescript);
  process.stdout.write(analyzeSource(fs.readFileSync(0, 'utf8'), rules, typescript) + '\n');
}

main();
