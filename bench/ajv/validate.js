// validate.js: ajv 8 validating events from NDJSON against a schemas/
// directory, the peer of `evctl schema check` in bench set W.
//
//   node bench/ajv/validate.js [--formats annotate|assert] [-v] DIR FILE.ndjson
//
// DIR has the layout of evlog-schemas(5): DIR/TYPE/N.json is the schema of
// `data` for events of type TYPE with `schema: N` (absent: 1), TYPE
// percent-encoded; DIR/_envelope.json, when present, validates the whole
// event.  Each line of FILE is one event: it is read, JSON.parse'd, and its
// data validated against the schema compiled once for its (type, schema
// version), with Ajv2020 (ajv/dist/2020; draft-07 schemas with Ajv).  As
// `evctl schema check` does: a type without a directory is valid; a type
// with one but no N.json for the event's version is invalid.  Formats are
// annotations unless --formats assert (ajv-formats).
//
// It prints, on stdout:
//   validate.js: 1000000 events, 1000000 valid, 0 invalid
//   validate.js: total 3.412 s: read 0.120 s, JSON.parse 2.310 s, validation 0.950 s, compile 0.031 s
// total is from the start of the script (after node's own start-up and
// the require of ajv) to the end; read is the file reads and the cut into
// lines (buffer to string); JSON.parse and validation are timed per batch
// of lines, so the clock costs nothing per event.  -v prints the errors of
// the first 20 invalid events on stderr, ajv's instancePath and message.
// Exit 0 when all are valid, 65 when any is invalid, 64 usage, 66 no file.
//
// ajv is required from bench/out/ajv/node_modules (bench/run installs it
// there with npm from bench/ajv/package.json), or from AJV_MODULES.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const now = () => process.hrtime.bigint();
const top = path.resolve(__dirname, '..', '..');
const modules = process.env.AJV_MODULES ||
	path.join(top, 'bench', 'out', 'ajv', 'node_modules');
const req = createRequire(path.join(modules, 'noop.js'));
let Ajv, Ajv2020, addFormats;
try {
	Ajv = req('ajv').default;
	Ajv2020 = req('ajv/dist/2020').default;
	addFormats = req('ajv-formats').default;
} catch (e) {
	process.stderr.write(`validate.js: cannot load ajv from '${modules}': ${e.message}\n`);
	process.exit(69);
}

function usage(msg) {
	if (msg)
		process.stderr.write(`validate.js: ${msg}\n`);
	process.stderr.write('usage: validate.js [--formats annotate|assert] [-v] DIR FILE.ndjson\n');
	process.exit(64);
}
let assertFormats = false;
let verbose = false;
const args = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	if (argv[i] === '--formats') {
		const m = argv[++i];
		if (m !== 'annotate' && m !== 'assert')
			usage(`--formats takes annotate or assert, not '${m}'`);
		assertFormats = m === 'assert';
	} else if (argv[i] === '-v') {
		verbose = true;
	} else if (argv[i].startsWith('-') && argv[i] !== '-') {
		usage(`no option '${argv[i]}'`);
	} else {
		args.push(argv[i]);
	}
}
if (args.length !== 2)
	usage();
const [dir, file] = args;

const t0 = now();
let tCompile = 0n;

// one instance per draft, made when first needed
const instances = {};
function ajvFor(schema) {
	const draft7 = typeof schema.$schema === 'string' &&
		/json-schema\.org\/draft-07\/schema/.test(schema.$schema);
	const key = draft7 ? 'draft7' : '2020';
	if (!instances[key]) {
		const cls = draft7 ? Ajv : Ajv2020;
		instances[key] = new cls({
			strict: false,
			allowUnionTypes: true,
			validateFormats: assertFormats,
			logger: false,
		});
		if (assertFormats)
			addFormats(instances[key]);
	}
	return instances[key];
}
function compileFile(f) {
	const c0 = now();
	const schema = JSON.parse(fs.readFileSync(f, 'utf8'));
	const v = ajvFor(schema).compile(schema);
	tCompile += now() - c0;
	return v;
}

// TYPE -> Map(version -> validate function, or the missing file's name)
const types = new Map();
if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
	process.stderr.write(`validate.js: '${dir}': no such directory\n`);
	process.exit(66);
}
for (const name of fs.readdirSync(dir)) {
	const p = path.join(dir, name);
	if (name === '_envelope.json' || !fs.statSync(p).isDirectory())
		continue;
	types.set(decodeURIComponent(name), { dir: p, versions: new Map() });
}
const envelopeFile = path.join(dir, '_envelope.json');
const envelope = fs.existsSync(envelopeFile) ? compileFile(envelopeFile) : null;

function validatorFor(type, version) {
	const t = types.get(type);
	if (!t)
		return null; // no directory: valid
	let v = t.versions.get(version);
	if (v === undefined) {
		const f = path.join(t.dir, `${version}.json`);
		v = fs.existsSync(f) ? compileFile(f) : `${f}: no such file`;
		t.versions.set(version, v);
	}
	return v;
}

let fd;
try {
	fd = fs.openSync(file, 'r');
} catch (e) {
	process.stderr.write(`validate.js: '${file}': ${e.code === 'ENOENT' ? 'no such file' : e.message}\n`);
	process.exit(66);
}

let events = 0, valid = 0, invalid = 0, shown = 0;
let tRead = 0n, tParse = 0n, tValidate = 0n;
function report(lineno, ev, what) {
	if (!verbose || shown >= 20)
		return;
	shown++;
	process.stderr.write(`${file}:${lineno}: ${ev && ev.type} (schema ${(ev && ev.schema) || 1}): ${what}\n`);
}
function errs(es, prefix) {
	return es.map((e) => `${prefix}${e.instancePath}: ${e.message}`).join('; ');
}

// validate a batch of parsed events, from the lines nos
function validateBatch(batch, nos) {
	const v0 = now();
	const c0 = tCompile;
	for (let i = 0; i < batch.length; i++) {
		const ev = batch[i];
		let ok = true;
		if (envelope !== null && !envelope(ev)) {
			ok = false;
			report(nos[i], ev, errs(envelope.errors, ''));
		}
		const v = validatorFor(ev.type, ev.schema === undefined ? 1 : ev.schema);
		if (typeof v === 'string') {
			ok = false;
			report(nos[i], ev, v);
		} else if (v !== null && !v(ev.data)) {
			ok = false;
			report(nos[i], ev, errs(v.errors, '/data'));
		}
		if (ok)
			valid++;
		else
			invalid++;
	}
	// a schema compiled on first use counts as compile, not validation
	tValidate += now() - v0 - (tCompile - c0);
}

const CHUNK = 1 << 22;
let buf = Buffer.allocUnsafe(CHUNK);
let have = 0; // bytes in buf, from 0
let lineno = 0;
for (;;) {
	const r0 = now();
	if (have === buf.length) { // a line longer than the buffer
		const nb = Buffer.allocUnsafe(buf.length * 2);
		buf.copy(nb, 0, 0, have);
		buf = nb;
	}
	const n = fs.readSync(fd, buf, have, buf.length - have, null);
	have += n;
	const end = n === 0 ? have : buf.lastIndexOf(10, have - 1) + 1;
	const lines = [];
	let s = 0;
	while (s < end) {
		let e = buf.indexOf(10, s);
		if (e < 0 || e >= end)
			e = end;
		lines.push(buf.toString('utf8', s, e));
		s = e + 1;
	}
	buf.copy(buf, 0, end, have);
	have -= end;
	const p0 = now();
	tRead += p0 - r0;
	const batch = [];
	const nos = [];
	for (const l of lines) {
		lineno++;
		if (l.length === 0)
			continue;
		batch.push(JSON.parse(l));
		nos.push(lineno);
	}
	tParse += now() - p0;
	events += batch.length;
	validateBatch(batch, nos);
	if (n === 0)
		break;
}
fs.closeSync(fd);
const total = now() - t0;
const sec = (t) => (Number(t) / 1e9).toFixed(3) + ' s';
process.stdout.write(`validate.js: ${events} events, ${valid} valid, ${invalid} invalid\n` +
	`validate.js: total ${sec(total)}: read ${sec(tRead)}, JSON.parse ${sec(tParse)}, ` +
	`validation ${sec(tValidate)}, compile ${sec(tCompile)}\n`);
process.exit(invalid ? 65 : 0);
