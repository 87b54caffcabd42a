import assert from "node:assert/strict";
import { compileFilters, type FieldAdaptor, parseFilter } from "./filters.ts";
import { SnapshotError } from "./errors.ts";

const item: Record<string, string> = {
  name: "sha256:abc",
  parent: "default/3/sha256:def",
  kind: "committed",
  "labels.containerd.io/snapshot.ref": "sha256:abc",
  "labels.empty": "",
};
const field: FieldAdaptor = (path) => item[path.join(".")];

Deno.test("compileFilters() matches containerd's selector forms", () => {
  const cases: [string[], boolean][] = [
    [[], true],
    [['labels."containerd.io/snapshot.ref"==sha256:abc,parent=="default/3/sha256:def"'], true],
    [['labels."containerd.io/snapshot.ref"==sha256:abc,parent=="other"'], false],
    [["name==sha256:abc"], true],
    [["name!=sha256:abc"], false],
    [["kind==committed"], true],
    [["name~=^sha256:a"], true],
    [["name~=/^sha256:[0-9]+$/"], false],
    [["labels.empty"], false],
    [['labels."containerd.io/snapshot.ref"'], true],
    [["labels.missing"], false],
    [["kind==active", "name==sha256:abc"], true],
    [["unknown==x"], false],
    [['name == "sha256:abc" , kind == committed'], true],
    [["parent==default/3/sha256:def"], true],
  ];
  for (const [filters, want] of cases) {
    assert.equal(compileFilters(filters)(field), want, JSON.stringify(filters));
  }
});

Deno.test("parseFilter() decodes escapes in quoted values and field names", () => {
  assert.deepEqual(parseFilter('labels."a.b"=="x\\"y\\\\z"'), [
    { path: ["labels", "a.b"], op: "==", value: 'x"y\\z' },
  ]);
});

Deno.test("parseFilter() rejects malformed filters with invalid_argument naming the filter", () => {
  for (
    const bad of ["", "   ", 'name=="open', "name=", "name==", "name>x", "a,,b", "name~=(", "=x"]
  ) {
    assert.throws(() => parseFilter(bad), (e: unknown) => {
      assert.ok(e instanceof SnapshotError);
      assert.equal(e.code, "invalid_argument");
      assert.match(e.message, /^Cannot parse filter /);
      return true;
    }, bad);
  }
});
