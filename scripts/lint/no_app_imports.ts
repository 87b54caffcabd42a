/**
 * `deno lint` plugin: apps (guest, host, trustee) never import each other, and lib imports no app.
 * Shared code moves down into `lib/` (DESIGN.md). Rule: `coco/no-app-imports`.
 */
const APPS = ["guest", "host", "trustee"] as const;

function ownerOf(filename: string): string | undefined {
  const parts = filename.replaceAll("\\", "/").split("/");
  for (let i = parts.length - 2; i >= 0; i--) {
    const p = parts[i];
    if (p === "lib" || (APPS as readonly string[]).includes(p ?? "")) return p;
  }
  return undefined;
}

function importedApp(specifier: string): string | undefined {
  for (const app of APPS) {
    if (specifier === `@coco/${app}` || specifier.startsWith(`@coco/${app}/`)) return app;
    if (new RegExp(`^(\\.\\./)+${app}/`).test(specifier)) return app;
  }
  return undefined;
}

const plugin: Deno.lint.Plugin = {
  name: "coco",
  rules: {
    "no-app-imports": {
      create(context) {
        const owner = ownerOf(context.filename);
        const check = (node: Deno.lint.Node, source: string) => {
          const target = importedApp(source);
          if (owner === undefined || target === undefined || target === owner) return;
          context.report({
            node,
            message:
              `${owner}/ must not import ${target}/ (${source}); move the shared piece into lib/`,
          });
        };
        return {
          ImportDeclaration(node) {
            check(node, node.source.value);
          },
          ExportNamedDeclaration(node) {
            if (node.source) check(node, node.source.value);
          },
          ExportAllDeclaration(node) {
            check(node, node.source.value);
          },
        };
      },
    },
  },
};

export default plugin;
