// Renames the wasm module's imports (and the closure trampolines it exports) from the JS glue (`__wbg_setAttribute_1a2b…`, each
// with a 16-hex-digit hash that gzip cannot compress, and each written twice: once in the
// .wasm, once in the .js) to short names, in both files. Behaviour is unchanged: an
// import is only ever looked up by its name, and the names stay unique.
// Usage: node scripts/short-imports.mjs pkg/threeds_bridge_bg.wasm pkg/threeds_bridge.js
import { readFileSync, writeFileSync } from 'node:fs';

const [wasmPath, jsPath] = process.argv.slice(2);
const wasm = readFileSync(wasmPath);
let js = readFileSync(jsPath, 'utf8');

function leb(bytes, at) {
    let value = 0, shift = 0, byte;
    do {
        byte = bytes[at++];
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
    } while (byte & 0x80);
    return [value, at];
}
function encodeLeb(value) {
    const out = [];
    do {
        let byte = value & 0x7f;
        value = Math.floor(value / 128);
        if (value) byte |= 0x80;
        out.push(byte);
    } while (value);
    return Buffer.from(out);
}
function name(bytes, at) {
    const [length, start] = leb(bytes, at);
    return [bytes.subarray(start, start + length).toString('utf8'), start + length];
}
const encodeName = (text) => {
    const bytes = Buffer.from(text, 'utf8');
    return Buffer.concat([encodeLeb(bytes.length), bytes]);
};
// Short names that are valid identifiers and cannot clash with the glue's own words.
const shortName = (n) => '$' + n.toString(36);

// The glue's own module name (`./threeds_bridge_bg.js`), written once per import: 'a'.
const glueModule = `./${jsPath.split('/').pop().replace(/\.js$/, '')}_bg.js`;
if (js.split(`"${glueModule}"`).length !== 2) throw new Error(`${glueModule} is not named once in ${jsPath}`);
js = js.replace(`"${glueModule}"`, '"a"');

const parts = [wasm.subarray(0, 8)];
const renamed = new Map();
// Exports: only the closure trampolines (`wasm_bindgen_<hash>___convert__closures…`),
// which the glue alone calls; the class's exports keep their names.
const renamedExports = new Map();
function renameExports(start, end) {
    const [count, first] = leb(wasm, start);
    const body = [encodeLeb(count)];
    let p = first;
    for (let i = 0; i < count; i++) {
        const [field, afterField] = name(wasm, p);
        const [, q] = leb(wasm, afterField + 1);
        let short = field;
        if (field.startsWith('wasm_bindgen_') && js.includes(`wasm.${field}`)) {
            short = '$x' + renamedExports.size.toString(36);
            renamedExports.set(`wasm.${field}`, `wasm.${short}`);
        }
        body.push(encodeName(short), wasm.subarray(afterField, q));
        p = q;
    }
    if (p !== end) throw new Error('export section not fully parsed');
    const section = Buffer.concat(body);
    return Buffer.concat([Buffer.from([7]), encodeLeb(section.length), section]);
}
let at = 8;
while (at < wasm.length) {
    const id = wasm[at];
    const [size, start] = leb(wasm, at + 1);
    const end = start + size;
    if (id === 7) {
        parts.push(renameExports(start, end));
        at = end;
        continue;
    }
    if (id !== 2) {
        parts.push(wasm.subarray(at, end));
        at = end;
        continue;
    }
    const [count, first] = leb(wasm, start);
    const body = [encodeLeb(count)];
    let p = first;
    for (let i = 0; i < count; i++) {
        const [module, afterModule] = name(wasm, p);
        const [field, afterField] = name(wasm, afterModule);
        // The description (kind + type) is copied as it is: it runs to the next import,
        // whose start we find by parsing the kind.
        const kind = wasm[afterField];
        let q = afterField + 1;
        if (kind === 0) [, q] = leb(wasm, q); // function: type index
        else if (kind === 1) { q += 1; const flags = wasm[q]; [, q] = leb(wasm, q + 1); if (flags & 1) [, q] = leb(wasm, q); } // table
        else if (kind === 2) { const flags = wasm[q]; [, q] = leb(wasm, q + 1); if (flags & 1) [, q] = leb(wasm, q); } // memory
        else if (kind === 3) q += 2; // global
        else throw new Error(`import kind ${kind} not handled`);
        let short = field;
        if (module === glueModule && js.includes(field)) {
            short = renamed.get(field) ?? shortName(renamed.size);
            renamed.set(field, short);
        }
        body.push(encodeName(module === glueModule ? 'a' : module), encodeName(short), wasm.subarray(afterField, q));
        p = q;
    }
    if (p !== end) throw new Error('import section not fully parsed');
    const section = Buffer.concat(body);
    parts.push(Buffer.from([2]), encodeLeb(section.length), section);
    at = end;
}
// Longest first, so that no name is replaced inside a longer one.
for (const [field, short] of [...renamed, ...renamedExports].sort((a, b) => b[0].length - a[0].length)) {
    const pieces = js.split(field);
    if (pieces.length < 2) throw new Error(`${field} not found in ${jsPath}`);
    js = pieces.join(short);
}
writeFileSync(wasmPath, Buffer.concat(parts));
writeFileSync(jsPath, js);
