// suite.js: ajv 8 over the official JSON-Schema-Test-Suite, the peer of
// tests/unit/test_jschema_suite (whose counts the README gives beside these).
//
//   node bench/ajv/suite.js [-v] [DRAFT TESTS_DIR REMOTES_DIR]...
//
// DRAFT is draft2020-12 (run by Ajv2020) or draft7 (Ajv, draft-07).  Every
// file of REMOTES_DIR is added with addSchema under
// http://localhost:1234/ + its path in REMOTES_DIR, as the suite asks.
// Without arguments it runs the two suites the README compares:
//   draft2020-12  $EVLOG_CONFORMANCE/JSON-Schema-Test-Suite/tests/draft2020-12
//                 (EVLOG_CONFORMANCE defaults to ../shared/conformance from
//                 the top of the tree), remotes from its remotes/draft2020-12
//   draft7        /usr/share/json-schema-test-suite/tests/draft7 (Debian's
//                 json-schema-test-suite), remotes from its remotes/
// and leaves out, with a note, a suite whose folder is missing.
//
// Prints per suite:
//   ajv 8.20.0 draft2020-12: required P of T passed
//   ajv 8.20.0 draft2020-12: optional P of T passed (formats asserted)
// The required tests are the files of TESTS_DIR itself; the optional ones
// those under TESTS_DIR/optional/, format/ included, run with ajv-formats
// (formats asserted).  The required suite runs with validateFormats off:
// there, format is an annotation.  A schema ajv cannot compile fails all
// of its tests.  -v lists every failed test on stderr.
//
// ajv is required from bench/out/ajv/node_modules (bench/run installs it
// there with npm from bench/ajv/package.json), or from AJV_MODULES.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const top = path.resolve(__dirname, '..', '..');
const modules = process.env.AJV_MODULES ||
	path.join(top, 'bench', 'out', 'ajv', 'node_modules');
const req = createRequire(path.join(modules, 'noop.js'));
let Ajv, Ajv2020, addFormats, version;
try {
	Ajv = req('ajv').default;
	Ajv2020 = req('ajv/dist/2020').default;
	addFormats = req('ajv-formats').default;
	version = req('ajv/package.json').version;
} catch (e) {
	process.stderr.write(`suite.js: cannot load ajv from '${modules}': ${e.message}\n` +
		"hint: 'npm ci --prefix bench/out/ajv' after copying bench/ajv/package*.json there, or run bench/run\n");
	process.exit(69);
}

let verbose = false;
const args = process.argv.slice(2);
if (args[0] === '-v') {
	verbose = true;
	args.shift();
}
if (args.length % 3) {
	process.stderr.write('usage: suite.js [-v] [DRAFT TESTS_DIR REMOTES_DIR]...\n');
	process.exit(64);
}

// every .json file under dir, as paths relative to dir, sorted
function walk(dir, rel = '') {
	let out = [];
	for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })
		.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
		const r = rel ? rel + '/' + e.name : e.name;
		if (e.isDirectory())
			out = out.concat(walk(dir, r));
		else if (e.name.endsWith('.json'))
			out.push(r);
	}
	return out;
}

function readJSON(f) {
	return JSON.parse(fs.readFileSync(f, 'utf8'));
}

// run DRAFT TESTS REMOTES: { required: [pass, total], optional: [...] }
function run(draft, testsDir, remotesDir, prefix) {
	const remotes = [];
	for (const r of walk(remotesDir))
		remotes.push([prefix + r, readJSON(path.join(remotesDir, r))]);
	const cls = draft === 'draft7' ? Ajv : Ajv2020;
	function instance(assertFormats) {
		const ajv = new cls({
			strict: false,
			validateFormats: assertFormats,
			logger: false,
		});
		if (assertFormats)
			addFormats(ajv);
		for (const [uri, schema] of remotes) {
			try {
				ajv.addSchema(schema, uri, undefined, false);
			} catch (e) {
				// a remote of another draft, or an $id already taken
			}
		}
		return ajv;
	}
	const res = { required: [0, 0], optional: [0, 0] };
	for (const f of walk(testsDir)) {
		const optional = f.startsWith('optional/');
		if (!optional && f.includes('/'))
			continue; // not a test file of this draft
		const counts = optional ? res.optional : res.required;
		for (const group of readJSON(path.join(testsDir, f))) {
			let validate = null;
			let why = '';
			try {
				validate = instance(optional).compile(group.schema);
			} catch (e) {
				why = 'compile: ' + e.message;
			}
			for (const t of group.tests) {
				counts[1]++;
				let ok = false;
				if (validate) {
					try {
						ok = validate(t.data) === t.valid;
						if (!ok)
							why = `expected ${t.valid ? 'valid' : 'invalid'}`;
					} catch (e) {
						why = 'validate: ' + e.message;
					}
				}
				if (ok)
					counts[0]++;
				else if (verbose)
					process.stderr.write(`FAIL ${draft} ${f}: ${group.description}: ${t.description}: ${why}\n`);
			}
		}
	}
	return res;
}

let suites = [];
for (let i = 0; i < args.length; i += 3)
	suites.push([args[i], args[i + 1], args[i + 2]]);
if (!suites.length) {
	const conf = process.env.EVLOG_CONFORMANCE ||
		path.resolve(top, '..', 'shared', 'conformance');
	const js = path.join(conf, 'JSON-Schema-Test-Suite');
	const deb = '/usr/share/json-schema-test-suite';
	suites = [
		['draft2020-12', path.join(js, 'tests', 'draft2020-12'), path.join(js, 'remotes')],
		['draft7', path.join(deb, 'tests', 'draft7'), path.join(deb, 'remotes')],
	];
}
let status = 0;
for (const [draft, testsDir, remotesDir] of suites) {
	if (draft !== 'draft2020-12' && draft !== 'draft7') {
		process.stderr.write(`suite.js: no draft '${draft}' (draft2020-12 or draft7)\n`);
		process.exit(64);
	}
	if (!fs.existsSync(testsDir) || !fs.existsSync(remotesDir)) {
		process.stderr.write(`suite.js: ${draft}: '${testsDir}' or '${remotesDir}' not found, left out\n`);
		status = 66;
		continue;
	}
	// The 2020-12 suite keeps the remotes of each draft in a folder of
	// its own (remotes/draft2020-12/...), and refers to them by that
	// path; an older suite has them at the top.
	let rdir = remotesDir;
	let prefix = 'http://localhost:1234/';
	if (fs.existsSync(path.join(remotesDir, draft))) {
		rdir = path.join(remotesDir, draft);
		prefix += draft + '/';
	}
	const r = run(draft, testsDir, rdir, prefix);
	console.log(`ajv ${version} ${draft}: required ${r.required[0]} of ${r.required[1]} passed`);
	console.log(`ajv ${version} ${draft}: optional ${r.optional[0]} of ${r.optional[1]} passed (formats asserted)`);
}
process.exit(status);
