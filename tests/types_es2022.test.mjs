// The package's types under `lib: es2022` without skipLibCheck: the class has
// `[Symbol.dispose]()`, which es2022's SymbolConstructor lacks, so the .d.ts must declare
// the symbol itself. With TypeScript installed the check is tsc's own (a consumer file
// under lib es2022, strict); without it (this repository installs none), the declaration
// is checked for in the built .d.ts, the file a consumer's tsc reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const built = fileURLToPath(new URL("pkg/threeds_bridge.d.ts", root));
const typescript = await import("typescript").then((m) => m.default ?? m, () => null);

test("the built .d.ts declares Symbol.dispose for lib es2022", { skip: !existsSync(built) && "run make pkg first" }, async () => {
  const types = await readFile(built, "utf8");
  assert.match(types, /\[Symbol\.dispose\]\(\): void;/, "the class is disposable");
  assert.match(types, /declare global \{\s*interface SymbolConstructor \{\s*readonly dispose: unique symbol;/);
  assert.match(types, /code: ThreeDSecureErrorCode;/);
});

test("tsc checks a consumer under lib es2022, strict, without skipLibCheck", { skip: !typescript && "typescript is not installed" }, async () => {
  const folder = await mkdtemp(join(tmpdir(), "threeds-types-"));
  try {
    await copyFile(built, join(folder, "threeds_bridge.d.ts"));
    const consumer = join(folder, "consumer.ts");
    await writeFile(consumer, [
      'import { ThreeDSecure, type ThreeDSecureErrorCode } from "./threeds_bridge";',
      "declare const tds: ThreeDSecure;",
      "tds[Symbol.dispose]();",
      'const code: ThreeDSecureErrorCode = "network";',
      "export { code };",
    ].join("\n"));
    const program = typescript.createProgram([consumer], {
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts"], strict: true, noEmit: true, skipLibCheck: false,
      module: typescript.ModuleKind.ES2022, moduleResolution: typescript.ModuleResolutionKind.Bundler,
    });
    const problems = typescript.getPreEmitDiagnostics(program).map((d) => typescript.flattenDiagnosticMessageText(d.messageText, "\n"));
    assert.deepEqual(problems, []);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
