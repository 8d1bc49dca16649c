// Offline validation of tjf's Kubernetes manifests (the golden files) against the Kubernetes
// OpenAPI schemas bundled by the npm package kubernetes-models (pinned in run_schema_check.sh).
//
//   node validate.mjs <node_modules dir> <golden dir>
//
// Three checks per object:
//   1. the package's compiled OpenAPI validator (types, required fields, enums, formats);
//   2. strict fields: every key must be a field of its type, read from the package's TypeScript
//      declarations (the OpenAPI schemas allow unknown fields, the apiserver's strict field
//      validation does not, and a misspelt field would otherwise be silently dropped);
//   3. what no schema says but the apiserver checks: DNS-1123 names, label syntax.
// Before trusting itself, it checks that broken copies of a golden object are rejected.
// Exit: 0 all valid, 1 a violation (or the self-check failed), 77 the package is missing.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modulesDir, goldenDir] = process.argv.slice(2);
if (!modulesDir || !goldenDir) {
  console.error("usage: node validate.mjs <node_modules dir> <golden dir>");
  process.exit(2);
}
const pkgDir = path.join(modulesDir, "kubernetes-models");
if (!fs.existsSync(path.join(pkgDir, "package.json"))) {
  console.log(`SKIP: kubernetes-models is not installed in ${modulesDir}`);
  process.exit(77);
}

const kModels = {
  "batch/v1": { Job: "batch/v1/Job", CronJob: "batch/v1/CronJob" },
  "apps/v1": { Deployment: "apps/v1/Deployment" },
  v1: { Service: "v1/Service" },
};

// --- 2. strict fields from the .d.ts files -------------------------------------------------
const declCache = new Map();

function resolveDecl(fromFile, spec) {
  const base = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec)
                                    : path.join(modulesDir, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

// Parses one declaration file: its imports (name -> file) and interfaces (name -> fields).
function parseDecl(file) {
  if (declCache.has(file)) return declCache.get(file);
  const text = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      imports.set(name, resolveDecl(file, m[2]));
    }
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/export interface (\w+)(?: extends [\w, ]+)? \{([\s\S]*?)\n\}/g)) {
    const fields = new Map();
    // Collapse whitespace and turn map types ({ [key: string]: X; }) into Map<X>, so every field
    // is `"name"?: type;` on its own.
    const body = m[2].replace(/\s+/g, " ").replace(/\{ \[key: string\]: (\w+); \}/g, "Map<$1>");
    for (const f of body.matchAll(/"([^"]+)"\??: ([^;]+);/g)) fields.set(f[1], f[2].trim());
    interfaces.set(m[1], fields);
  }
  const aliases = new Map();
  for (const m of text.matchAll(/export type \{ (\w+) as (\w+)/g)) aliases.set(m[2], m[1]);
  const decl = { imports, interfaces, aliases };
  declCache.set(file, decl);
  return decl;
}

// The fields of type `typeName` as seen from `file`, or null for a type with no fixed fields.
function lookupType(file, typeName) {
  const decl = parseDecl(file);
  if (decl.interfaces.has(typeName)) return { file, fields: decl.interfaces.get(typeName) };
  const target = decl.imports.get(typeName);
  if (!target || !fs.existsSync(target)) return null;
  const other = parseDecl(target);
  const local = other.aliases.get(typeName) ?? typeName;
  if (!other.interfaces.has(local)) return null;  // e.g. IntOrString: a plain union
  return { file: target, fields: other.interfaces.get(local) };
}

function strictCheck(value, file, typeName, where, errors) {
  const type = lookupType(file, typeName);
  if (!type || value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (!type.fields.has(key)) {
      errors.push(`${where}.${key}: unknown field (not in ${typeName})`);
      continue;
    }
    checkField(child, type.file, type.fields.get(key), `${where}.${key}`, errors);
  }
}

function checkField(value, file, typeText, where, errors) {
  let m;
  if ((m = typeText.match(/^Array<(\w+)>$/))) {
    if (Array.isArray(value)) value.forEach((v, i) => strictCheck(v, file, m[1], `${where}[${i}]`, errors));
  } else if ((m = typeText.match(/^Map<(\w+)>$/))) {
    if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) strictCheck(v, file, m[1], `${where}.${k}`, errors);
    }
  } else if (/^I\w+$/.test(typeText)) {
    strictCheck(value, file, typeText, where, errors);
  }
}

function rootInterface(file) {
  const decl = parseDecl(file);
  return [...decl.interfaces.keys()][0];
}

// --- 3. what the apiserver checks beyond the schema ----------------------------------------
const kDns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const kLabelName = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const kLabelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkLabels(labels, where, errors) {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : "";
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix && (prefix.length > 253 || !kDns1123Subdomain.test(prefix))) errors.push(`${where}: bad label prefix '${key}'`);
    if (name.length > 63 || !kLabelName.test(name)) errors.push(`${where}: bad label name '${key}'`);
    if (typeof value !== "string" || value.length > 63 || !kLabelValue.test(value)) {
      errors.push(`${where}: bad label value '${key}=${value}'`);
    }
  }
}

function semanticCheck(obj, errors) {
  const name = obj?.metadata?.name ?? "";
  const limit = obj.kind === "CronJob" ? 52 : obj.kind === "Service" ? 63 : 253;
  if (!kDns1123Subdomain.test(name) || name.length > limit) errors.push(`metadata.name: invalid '${name}'`);
  if (obj.kind === "Job" && name.length > 63) errors.push(`metadata.name: a Job name becomes a label value, at most 63 characters`);
  checkLabels(obj?.metadata?.labels, "metadata.labels", errors);
  const tmpl = obj.kind === "CronJob" ? obj.spec?.jobTemplate?.spec?.template : obj.spec?.template;
  if (tmpl) checkLabels(tmpl.metadata?.labels, "template.metadata.labels", errors);
  if (obj.kind === "Deployment") {
    const sel = obj.spec?.selector?.matchLabels ?? {};
    for (const [k, v] of Object.entries(sel)) {
      if (tmpl?.metadata?.labels?.[k] !== v) errors.push(`spec.selector: '${k}' does not match the template labels`);
    }
  }
}

// --- the driver ----------------------------------------------------------------------------
const modelClasses = new Map();
async function modelFor(obj) {
  const rel = kModels[obj.apiVersion]?.[obj.kind];
  if (!rel) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  if (!modelClasses.has(rel)) {
    const mod = await import(pathToFileURL(path.join(pkgDir, rel + ".js")).href);
    modelClasses.set(rel, { cls: mod[obj.kind], decl: path.join(pkgDir, rel + ".d.ts") });
  }
  return modelClasses.get(rel);
}

async function check(obj) {
  const errors = [];
  const { cls, decl } = await modelFor(obj);
  try {
    new cls(obj).validate();
  } catch (e) {
    errors.push(`schema: ${e.message}`);
  }
  strictCheck(obj, decl, rootInterface(decl), obj.kind, errors);
  semanticCheck(obj, errors);
  return errors;
}

const files = fs.readdirSync(goldenDir).filter((f) => f.endsWith(".json")).sort();
let failed = 0, passed = 0;
for (const f of files) {
  const objects = JSON.parse(fs.readFileSync(path.join(goldenDir, f), "utf8"));
  for (const obj of objects) {
    const errors = await check(obj);
    const label = `${f}: ${obj.kind} ${obj.metadata?.name}`;
    if (errors.length) {
      failed++;
      console.log(`FAIL ${label}`);
      for (const e of errors) console.log(`     ${e}`);
    } else {
      passed++;
      console.log(`ok   ${label}`);
    }
  }
}

// Self-check: each of these broken copies must be rejected, or the checks above prove nothing.
const sample = JSON.parse(fs.readFileSync(path.join(goldenDir, "scheduled-options.json"), "utf8"))[0];
const mutations = [
  ["a misspelt field", (o) => { o.spec.timeZon = o.spec.timeZone; delete o.spec.timeZone; },
   "CronJob.spec.timeZon: unknown field"],
  ["backoffLimit as a string", (o) => { o.spec.jobTemplate.spec.backoffLimit = "zero"; },
   "backoffLimit must be integer"],
  ["a CronJob without schedule", (o) => { delete o.spec.schedule; }, "required property schedule"],
  ["a pod without containers", (o) => { delete o.spec.jobTemplate.spec.template.spec.containers; },
   "required property containers"],
  ["an unknown container field", (o) => { o.spec.jobTemplate.spec.template.spec.containers[0].workdir = "/x"; },
   "containers[0].workdir: unknown field"],
  ["an unknown field in an env entry", (o) => { o.spec.jobTemplate.spec.template.spec.containers[0].env[0] = { name: "A", valu: "b" }; },
   "env[0].valu: unknown field"],
  ["a memory quantity Kubernetes refuses", (o) => { o.spec.jobTemplate.spec.template.spec.containers[0].resources.limits.memory = "1gb"; },
   "limits/memory must"],
  ["a bad concurrencyPolicy", (o) => { o.spec.concurrencyPolicy = "Never"; }, "allowed values"],
  ["an invalid name", (o) => { o.metadata.name = "Bad_Name!"; }, "metadata.name: invalid"],
  ["a label value over 63 characters", (o) => { o.metadata.labels["app.kubernetes.io/name"] = "a".repeat(64); },
   "bad label value"],
];
for (const [what, mutate, expected] of mutations) {
  const copy = structuredClone(sample);
  if (!copy.spec.jobTemplate.spec.template.spec.containers[0].env.length) {
    copy.spec.jobTemplate.spec.template.spec.containers[0].env.push({ name: "A", value: "b" });
  }
  mutate(copy);
  const errors = await check(copy);
  const hit = errors.find((e) => e.includes(expected));
  if (!hit) {
    failed++;
    console.log(`FAIL self-check: ${what} was not rejected with '${expected}' (got: ${errors.join("; ") || "nothing"})`);
  } else {
    passed++;
    console.log(`ok   self-check: ${what} rejected (${hit.slice(0, 100)})`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
