import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The house rules of docs/ARCHITECTURE.md, read from the code itself: a module reaches
 * another only through that module's index.ts, the modules' graph has no cycle, and
 * platform/ and shared/ know nothing of the product's modules. Type-only imports count:
 * a cycle of types is still two modules that cannot be understood apart.
 */
const SRC = path.resolve(import.meta.dirname, "../src");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Where a file belongs: `modules/<name>`, `web/<name>`, `platform`, `shared`, `cli`, `config` (config.ts), or `main` (the other wiring at the top of src/). */
function partOf(file: string): string {
  const [top, second] = path.relative(SRC, file).split(path.sep);
  if (top === "config.ts") return "config";
  if (top === "modules" || top === "web") return second!.endsWith(".ts") ? top : `${top}/${second}`;
  if (top!.endsWith(".ts")) return "main";
  return top!;
}

interface Edge {
  from: string;
  to: string;
}

function importsOf(file: string): Edge[] {
  const text = fs.readFileSync(file, "utf8");
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((ref) => ref.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => ({ from: file, to: path.resolve(path.dirname(file), name).replace(/\.js$/, ".ts") }));
}

const files = sourceFiles(SRC);
const edges = files.flatMap(importsOf);

describe("the module graph", () => {
  it("finds the files it judges", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.some((edge) => partOf(edge.to) === "modules/reports")).toBe(true);
  });

  it("reaches another module only through its index.ts (main.ts may register routes)", () => {
    const wrong = edges
      .filter((edge) => {
        const target = partOf(edge.to);
        if (!target.startsWith("modules/") || partOf(edge.from) === target) return false;
        if (path.basename(edge.to) === "index.ts") return false;
        return !(partOf(edge.from) === "main" && edge.to.endsWith(".routes.ts"));
      })
      .map((edge) => `${path.relative(SRC, edge.from)} → ${path.relative(SRC, edge.to)}`);
    expect(wrong).toEqual([]);
  });

  it("keeps platform/ and shared/ free of the product's modules and pages (the configuration is theirs to read)", () => {
    const wrong = edges
      .filter((edge) => ["platform", "shared"].includes(partOf(edge.from)) && !["platform", "shared", "config"].includes(partOf(edge.to)))
      .map((edge) => `${path.relative(SRC, edge.from)} → ${path.relative(SRC, edge.to)}`);
    expect(wrong).toEqual([]);
  });

  it("has no cycle between modules", () => {
    const graph = new Map<string, Set<string>>();
    for (const edge of edges) {
      const [from, to] = [partOf(edge.from), partOf(edge.to)];
      if (from === to || !from.startsWith("modules/") || !to.startsWith("modules/")) continue;
      graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === "done") return;
      if (state.get(node) === "visiting") {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(" → "));
        return;
      }
      state.set(node, "visiting");
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
      state.set(node, "done");
    };
    for (const node of [...graph.keys()].sort()) visit(node, []);
    expect(cycles).toEqual([]);
  });
});
