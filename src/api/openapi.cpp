#include "api/openapi.hpp"

#include <string>

namespace tjf::api {
namespace {

// Written as JSON rather than built in code: it reads like the document it is, and a syntax
// slip fails the first test that parses it. Shapes follow job_json.cpp and api.cpp; every body
// schema is closed (additionalProperties: false) so an undocumented field fails the API test.
constexpr const char* kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "tjf jobs API",
    "description": "The Toolforge Jobs Framework v1 API as served by tjfd: upstream's routes, JSON shapes and messages, plus tjf's extensions (marked x-tjf-extension). Every route also answers with a trailing slash. Every error is {\"error\": [\"<message>\"]}, malformed requests included. Authentication: personal mode, whoever can open the daemon's 0600 Unix socket is the tool; platform mode, the Unix socket peer's account (<prefix>.<tool>) or, over TLS, the client certificate's common name names the tool. The {tool} in the path must be the caller's tool (403 otherwise, for every route under /v1/tool/{tool}).",
    "version": "@VERSION@"
  },
  "servers": [{"url": "/"}],
  "paths": {
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "security": [],
        "responses": {
          "200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    },
    "/v1/healthz": {
      "get": {
        "summary": "Health of the daemon (also served at /healthz)",
        "operationId": "healthz",
        "security": [],
        "responses": {
          "200": {"description": "The daemon serves requests", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthResponse"}}}}
        }
      }
    },
    "/v1/whoami": {
      "get": {
        "summary": "The tool this connection acts for, and its home",
        "operationId": "whoami",
        "x-tjf-extension": true,
        "responses": {
          "200": {"description": "The caller's tool", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WhoAmIResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/jobs": {
      "parameters": [{"$ref": "#/components/parameters/tool"}],
      "get": {
        "summary": "List the tool's jobs",
        "operationId": "listJobs",
        "parameters": [{"$ref": "#/components/parameters/include_unset"}],
        "responses": {
          "200": {"description": "Every job of the tool, sorted by name", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobListResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "summary": "Create a job (PUT is an alias)",
        "operationId": "createJob",
        "requestBody": {"$ref": "#/components/requestBodies/NewJob"},
        "responses": {
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "put": {
        "summary": "Create a job (alias of POST)",
        "operationId": "createJobPut",
        "requestBody": {"$ref": "#/components/requestBodies/NewJob"},
        "responses": {
          "201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "summary": "Server-side apply: create the job, update it, or leave it alone",
        "description": "Compares the definition with the stored one (the user-set fields only). Unchanged: nothing is touched, no run restarted ('Job X is already up to date'). A one-off job whose definition differs is not updated (upstream: 'OneOffJobs can't be updated, delete and recreate it instead', action 'replace'). With dry_run=true the definition is validated exactly as for a real apply, and the action and diff are reported, but nothing is written. With dry_run=true the body may also be a list of definitions (a job file, tjf extension): each is checked as if the ones before it had been applied, and the answer is a PlanResponse that names the first refused one.",
        "operationId": "applyJob",
        "parameters": [{"$ref": "#/components/parameters/dry_run"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/NewJob"}, {"type": "array", "items": {"$ref": "#/components/schemas/NewJob"}}]}}}},
        "responses": {
          "200": {"description": "Applied (or, on a dry run, what would be done)", "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/UpdateResponse"}, {"$ref": "#/components/schemas/PlanResponse"}]}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "summary": "Flush: delete every job of the tool (waits until their runs have stopped)",
        "operationId": "flushJobs",
        "responses": {
          "200": {"description": "Deleted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessagesResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/jobs/{name}": {
      "parameters": [{"$ref": "#/components/parameters/tool"}, {"$ref": "#/components/parameters/name"}],
      "get": {
        "summary": "Show one job",
        "operationId": "showJob",
        "parameters": [{"$ref": "#/components/parameters/include_unset"}],
        "responses": {
          "200": {"description": "The job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "summary": "Delete one job (waits until its runs have stopped)",
        "operationId": "deleteJob",
        "responses": {
          "200": {"description": "Deleted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessagesResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/jobs/{name}/logs": {
      "parameters": [{"$ref": "#/components/parameters/tool"}, {"$ref": "#/components/parameters/name"}],
      "get": {
        "summary": "A job's output, one JSON object (LogLine) per line",
        "description": "File-log jobs: the newest lines of their log files; other jobs: the lines kept by tjfd for each run. follow=true keeps the response open and streams new lines, across restarts of a continuous job.",
        "operationId": "jobLogs",
        "parameters": [
          {"name": "follow", "in": "query", "required": false, "schema": {"type": "boolean", "default": false}},
          {"name": "lines", "in": "query", "required": false, "description": "The newest N lines (at most 5000; default 500)", "schema": {"type": "integer", "minimum": 0, "maximum": 5000}}
        ],
        "responses": {
          "200": {"description": "JSON lines", "content": {"text/plain": {"schema": {"type": "string"}, "x-tjf-json-lines": {"$ref": "#/components/schemas/LogLine"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/jobs/{name}/restart": {
      "parameters": [{"$ref": "#/components/parameters/tool"}, {"$ref": "#/components/parameters/name"}],
      "post": {
        "summary": "Restart a continuous job, or run a scheduled job now",
        "operationId": "restartJob",
        "responses": {
          "200": {"description": "Restarted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessagesResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/jobs/{name}/runs": {
      "parameters": [{"$ref": "#/components/parameters/tool"}, {"$ref": "#/components/parameters/name"}],
      "get": {
        "summary": "A job's run history, newest first (also of deleted and replaced jobs of that name)",
        "operationId": "jobRuns",
        "x-tjf-extension": true,
        "parameters": [
          {"name": "limit", "in": "query", "required": false, "description": "At most this many runs (1 to 10000; default 100)", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}
        ],
        "responses": {
          "200": {"description": "The runs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunListResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/images": {
      "parameters": [{"$ref": "#/components/parameters/tool"}],
      "get": {
        "summary": "The stable images of the catalogue, sorted by short name",
        "operationId": "listImages",
        "responses": {
          "200": {"description": "The images", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageListResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/quotas": {
      "parameters": [{"$ref": "#/components/parameters/tool"}],
      "get": {
        "summary": "The tool's quota and what it uses now",
        "operationId": "quotas",
        "responses": {
          "200": {"description": "The quota", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QuotaResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/envvars": {
      "parameters": [{"$ref": "#/components/parameters/tool"}],
      "get": {
        "summary": "The tool's environment variables, injected into every job it starts (`toolforge envvars`)",
        "operationId": "listEnvvars",
        "x-tjf-extension": true,
        "parameters": [{"name": "show_values", "in": "query", "required": false, "description": "Include the values (default: names only)", "schema": {"type": "boolean", "default": false}}],
        "responses": {
          "200": {"description": "Every variable, sorted by name", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnvvarListResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "summary": "Create or replace a variable; jobs started from then on get it",
        "operationId": "setEnvvar",
        "x-tjf-extension": true,
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envvar"}}}},
        "responses": {
          "200": {"description": "Stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnvvarResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/tool/{tool}/envvars/{name}": {
      "parameters": [{"$ref": "#/components/parameters/tool"}, {"$ref": "#/components/parameters/envvar"}],
      "get": {
        "summary": "One variable, with its value",
        "operationId": "showEnvvar",
        "x-tjf-extension": true,
        "responses": {
          "200": {"description": "The variable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnvvarResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "summary": "Delete a variable; answers with what was deleted",
        "operationId": "deleteEnvvar",
        "x-tjf-extension": true,
        "responses": {
          "200": {"description": "Deleted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnvvarResponse"}}}},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  },
  "components": {
    "parameters": {
      "tool": {"name": "tool", "in": "path", "required": true, "description": "The tool; must be the caller's", "schema": {"type": "string"}},
      "name": {"name": "name", "in": "path", "required": true, "description": "The job name", "schema": {"type": "string"}},
      "envvar": {"name": "name", "in": "path", "required": true, "description": "The environment variable's name", "schema": {"type": "string"}},
      "include_unset": {"name": "include_unset", "in": "query", "required": false, "description": "true (default): every field, with defaults filled in; false: only the fields the user set, plus name, cmd, imagename, image, job_type (and continuous: true)", "schema": {"type": "boolean", "default": true}},
      "dry_run": {"name": "dry_run", "in": "query", "required": false, "description": "Validate and compare, write nothing (tjf extension)", "x-tjf-extension": true, "schema": {"type": "boolean", "default": false}}
    },
    "requestBodies": {
      "NewJob": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewJob"}}}}
    },
    "responses": {
      "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {
        "type": "object",
        "description": "Every error, malformed requests and schema violations (422) included",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {"error": {"type": "array", "minItems": 1, "items": {"type": "string"}}}
      },
      "Messages": {
        "type": "object",
        "description": "Messages for the user; endpoints that have none may send {}",
        "additionalProperties": false,
        "properties": {
          "info": {"type": "array", "items": {"type": "string"}},
          "warning": {"type": "array", "items": {"type": "string"}},
          "error": {"type": "array", "items": {"type": "string"}}
        }
      },
      "MessagesResponse": {
        "type": "object",
        "required": ["messages"],
        "additionalProperties": false,
        "properties": {"messages": {"$ref": "#/components/schemas/Messages"}}
      },
      "HealthResponse": {
        "type": "object",
        "required": ["health", "messages"],
        "additionalProperties": false,
        "properties": {
          "health": {
            "type": "object",
            "required": ["status", "message"],
            "additionalProperties": false,
            "properties": {"status": {"type": "string", "enum": ["OK", "ERROR"]}, "message": {"type": "string"}}
          },
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "Envvar": {
        "type": "object",
        "x-tjf-extension": true,
        "description": "An environment variable of the tool: upper-case letters, digits and '_', not a name tjf sets itself; the value is left out of lists unless asked for",
        "required": ["name"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string"},
          "value": {"type": "string"}
        }
      },
      "EnvvarListResponse": {
        "type": "object",
        "x-tjf-extension": true,
        "required": ["envvars", "messages"],
        "additionalProperties": false,
        "properties": {
          "envvars": {"type": "array", "items": {"$ref": "#/components/schemas/Envvar"}},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "EnvvarResponse": {
        "type": "object",
        "x-tjf-extension": true,
        "required": ["envvar", "messages"],
        "additionalProperties": false,
        "properties": {
          "envvar": {"$ref": "#/components/schemas/Envvar"},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "WhoAmIResponse": {
        "type": "object",
        "x-tjf-extension": true,
        "required": ["tool", "home", "messages"],
        "additionalProperties": false,
        "properties": {
          "tool": {"type": "string"},
          "home": {"type": "string", "description": "The tool's home directory (log paths are shown relative to it)"},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "HealthCheck": {
        "oneOf": [
          {
            "type": "object",
            "required": ["type", "script"],
            "additionalProperties": false,
            "properties": {"type": {"type": "string", "enum": ["script"]}, "script": {"type": "string"}}
          },
          {
            "type": "object",
            "required": ["type", "path"],
            "additionalProperties": false,
            "properties": {"type": {"type": "string", "enum": ["http"]}, "path": {"type": "string"}}
          }
        ]
      },
      "Quantity": {
        "description": "A Kubernetes quantity ('512Mi', '0.5', '500m'); a number is taken as its text",
        "anyOf": [{"type": "string"}, {"type": "number"}]
      },
      "NewJob": {
        "type": "object",
        "description": "A job definition. The type: job_type if given, else 'scheduled' with a schedule, else 'continuous' with continuous: true, else 'one-off'. Fields of another type are refused (422), except retry on a continuous job, which is ignored with a warning. A null field is the same as a missing one. The response-only fields of a job (image, image_state, status_short, status_long, status, schedule_actual) are accepted and ignored, so a shown job can be sent back.",
        "required": ["name", "cmd", "imagename"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "description": "RFC 1123 subdomain, at most 52 characters"},
          "cmd": {"type": "string"},
          "imagename": {"type": "string", "description": "A short name, alias or reference of the image catalogue"},
          "job_type": {"type": "string", "enum": ["one-off", "scheduled", "continuous"], "nullable": true},
          "filelog": {"type": "boolean", "nullable": true},
          "filelog_stdout": {"type": "string", "nullable": true, "description": "Relative paths are under the tool home"},
          "filelog_stderr": {"type": "string", "nullable": true},
          "emails": {"type": "string", "enum": ["none", "all", "onfinish", "onfailure"], "nullable": true},
          "mount": {"type": "string", "enum": ["all", "none"], "nullable": true},
          "memory": {"$ref": "#/components/schemas/Quantity"},
          "cpu": {"$ref": "#/components/schemas/Quantity"},
          "retry": {"type": "integer", "minimum": 0, "maximum": 5, "nullable": true, "description": "One-off and scheduled jobs"},
          "timeout": {"type": "integer", "minimum": 0, "nullable": true, "description": "Seconds; one-off and scheduled jobs"},
          "schedule": {"type": "string", "nullable": true, "description": "Scheduled jobs: a cron expression or @macro"},
          "time_zone": {"type": "string", "nullable": true, "description": "Scheduled jobs: an IANA time zone (default UTC)", "x-tjf-extension": true},
          "concurrency_policy": {"type": "string", "enum": ["Allow", "Forbid", "Replace"], "nullable": true, "x-tjf-extension": true},
          "starting_deadline_seconds": {"type": "integer", "minimum": 0, "nullable": true, "x-tjf-extension": true},
          "continuous": {"type": "boolean", "nullable": true},
          "replicas": {"type": "integer", "minimum": 0, "maximum": 1000, "nullable": true},
          "port": {"type": "integer", "minimum": 1, "maximum": 65535, "nullable": true},
          "port_protocol": {"type": "string", "enum": ["tcp", "udp"], "nullable": true},
          "health_check": {"allOf": [{"$ref": "#/components/schemas/HealthCheck"}], "nullable": true},
          "image": {"description": "Response-only, ignored"},
          "image_state": {"description": "Response-only, ignored"},
          "status_short": {"description": "Response-only, ignored"},
          "status_long": {"description": "Response-only, ignored"},
          "status": {"description": "Response-only, ignored"},
          "schedule_actual": {"description": "Response-only, ignored"}
        }
      },
      "JobStatus": {
        "type": "object",
        "description": "The structured (v2) status",
        "required": ["short", "duration", "up_to_date", "messages"],
        "additionalProperties": false,
        "properties": {
          "short": {"type": "string", "enum": ["pending", "running", "succeeded", "failed", "unknown"]},
          "duration": {"type": "string", "nullable": true, "description": "How long the latest run has been running or ran, e.g. '2m3s'"},
          "up_to_date": {"type": "boolean"},
          "messages": {"type": "array", "items": {"type": "string"}},
          "previous_schedule": {"type": "string", "format": "date-time", "nullable": true, "description": "Scheduled jobs"},
          "next_schedule": {"type": "string", "format": "date-time", "nullable": true, "description": "Scheduled jobs"}
        }
      },
      "DefinedJob": {
        "type": "object",
        "description": "A job as upstream's DefinedJob, in upstream's key order. include_unset=true: every field of its type with defaults resolved (absolute log paths, the default memory and cpu, ...) plus its status; include_unset=false: only the fields the user set, as the user wrote them (memory '100Mi' stays '100Mi'), plus name, cmd, imagename, image, job_type and, for continuous jobs, continuous.",
        "required": ["name", "cmd", "imagename", "image", "job_type"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string"},
          "cmd": {"type": "string"},
          "imagename": {"type": "string"},
          "filelog": {"type": "boolean"},
          "filelog_stdout": {"type": "string", "nullable": true},
          "filelog_stderr": {"type": "string", "nullable": true},
          "emails": {"type": "string", "enum": ["none", "all", "onfinish", "onfailure"]},
          "mount": {"type": "string", "enum": ["all", "none"]},
          "memory": {"type": "string", "description": "As the user wrote it, or the default"},
          "cpu": {"type": "string", "description": "As the user wrote it, or the default"},
          "image": {"type": "string"},
          "image_state": {"type": "string", "enum": ["stable", "deprecated", "unknown"]},
          "status_short": {"type": "string", "description": "Deprecated upstream; what the CLI shows in 'Status:'"},
          "status_long": {"type": "string", "description": "Deprecated upstream; what the CLI shows in 'Hints:'"},
          "job_type": {"type": "string", "enum": ["one-off", "scheduled", "continuous"]},
          "continuous": {"type": "boolean", "enum": [true]},
          "timeout": {"type": "integer", "minimum": 0},
          "retry": {"type": "integer", "minimum": 0, "maximum": 5},
          "schedule": {"type": "string"},
          "schedule_actual": {"type": "string", "description": "The expression the job runs on, @-macros spread to a fixed minute and hour"},
          "time_zone": {"type": "string", "x-tjf-extension": true},
          "concurrency_policy": {"type": "string", "enum": ["Allow", "Forbid", "Replace"], "x-tjf-extension": true},
          "starting_deadline_seconds": {"type": "integer", "minimum": 0, "x-tjf-extension": true},
          "replicas": {"type": "integer", "minimum": 0},
          "port": {"type": "integer", "minimum": 1, "maximum": 65535, "nullable": true},
          "port_protocol": {"type": "string", "enum": ["tcp", "udp"]},
          "health_check": {"allOf": [{"$ref": "#/components/schemas/HealthCheck"}], "nullable": true},
          "status": {"$ref": "#/components/schemas/JobStatus"}
        }
      },
      "JobResponse": {
        "type": "object",
        "required": ["job", "messages"],
        "additionalProperties": false,
        "properties": {"job": {"$ref": "#/components/schemas/DefinedJob"}, "messages": {"$ref": "#/components/schemas/Messages"}}
      },
      "JobListResponse": {
        "type": "object",
        "required": ["jobs", "messages"],
        "additionalProperties": false,
        "properties": {
          "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/DefinedJob"}},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "FieldChange": {
        "type": "object",
        "x-tjf-extension": true,
        "description": "One user-set field that differs, under its API name; null when it is not set on that side",
        "required": ["field", "old", "new"],
        "additionalProperties": false,
        "properties": {
          "field": {"type": "string"},
          "old": {"nullable": true},
          "new": {"nullable": true}
        }
      },
      "UpdateResponse": {
        "type": "object",
        "required": ["messages", "job_changed"],
        "additionalProperties": false,
        "properties": {
          "messages": {"$ref": "#/components/schemas/Messages"},
          "job_changed": {"type": "boolean", "description": "Whether this request changed the job (always false on a dry run)"},
          "action": {"type": "string", "enum": ["create", "update", "replace", "unchanged"], "x-tjf-extension": true, "description": "What the definition needs (done, unless a dry run or 'replace'): 'replace' is a one-off job whose definition differs, which clients delete and create again"},
          "dry_run": {"type": "boolean", "x-tjf-extension": true},
          "diff": {"type": "array", "items": {"$ref": "#/components/schemas/FieldChange"}, "x-tjf-extension": true, "description": "The user-set fields that change; for a new job, every field it sets"}
        }
      },
      "PlannedJob": {
        "type": "object",
        "x-tjf-extension": true,
        "required": ["name", "action", "diff", "messages"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string"},
          "action": {"type": "string", "enum": ["create", "update", "replace", "unchanged"]},
          "diff": {"type": "array", "items": {"$ref": "#/components/schemas/FieldChange"}},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "PlanResponse": {
        "type": "object",
        "x-tjf-extension": true,
        "description": "The dry run of a list of definitions: what each would do, in order, up to the first one that would be refused",
        "required": ["messages", "dry_run", "jobs", "refused"],
        "additionalProperties": false,
        "properties": {
          "messages": {"$ref": "#/components/schemas/Messages"},
          "dry_run": {"type": "boolean", "enum": [true]},
          "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/PlannedJob"}},
          "refused": {
            "type": "object",
            "nullable": true,
            "description": "The first definition that would be refused, with the status and error a real apply would give; null when all would be accepted",
            "required": ["index", "name", "status", "error"],
            "additionalProperties": false,
            "properties": {
              "index": {"type": "integer", "minimum": 0},
              "name": {"type": "string", "nullable": true},
              "status": {"type": "integer", "minimum": 400},
              "error": {"type": "array", "minItems": 1, "items": {"type": "string"}}
            }
          }
        }
      },
      "Run": {
        "type": "object",
        "x-tjf-extension": true,
        "required": ["id", "job_name", "attempt", "replica", "state", "reason", "message", "description", "created_at", "scheduled_for", "started_at", "finished_at", "exit_code", "signal"],
        "additionalProperties": false,
        "properties": {
          "id": {"type": "integer", "description": "Never reused"},
          "job_name": {"type": "string"},
          "attempt": {"type": "integer", "minimum": 1, "description": "1, then +1 per retry"},
          "replica": {"type": "integer", "minimum": 0},
          "state": {"type": "string", "enum": ["pending", "running", "succeeded", "failed", "lost", "skipped"]},
          "reason": {"type": "string", "enum": ["", "Completed", "Error", "Signal", "OOMKilled", "DeadlineExceeded", "HealthCheckFailed", "StartError", "Stopped", "Lost", "ConcurrencyForbid", "MissedStartingDeadline"]},
          "message": {"type": "string"},
          "description": {"type": "string", "description": "Why the run ended, for a person ('exit code 1', 'OOMKilled', ...)"},
          "created_at": {"type": "string", "format": "date-time"},
          "scheduled_for": {"type": "string", "format": "date-time", "nullable": true},
          "started_at": {"type": "string", "format": "date-time", "nullable": true},
          "finished_at": {"type": "string", "format": "date-time", "nullable": true},
          "exit_code": {"type": "integer", "nullable": true},
          "signal": {"type": "integer", "nullable": true}
        }
      },
      "RunListResponse": {
        "type": "object",
        "x-tjf-extension": true,
        "required": ["runs", "messages"],
        "additionalProperties": false,
        "properties": {
          "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "Image": {
        "type": "object",
        "required": ["shortname", "image"],
        "additionalProperties": false,
        "properties": {
          "shortname": {"type": "string"},
          "image": {"type": "string", "description": "The image reference"},
          "runs_on": {"type": "string", "enum": ["host", "oci"], "x-tjf-extension": true, "description": "host: this machine's own programs; oci: a root filesystem through an OCI runtime"}
        }
      },
      "ImageListResponse": {
        "type": "object",
        "required": ["images", "messages"],
        "additionalProperties": false,
        "properties": {
          "images": {"type": "array", "items": {"$ref": "#/components/schemas/Image"}},
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "QuotaItem": {
        "type": "object",
        "required": ["name", "limit", "used"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string"},
          "limit": {"type": "string"},
          "used": {"type": "string", "nullable": true, "description": "null for per-job limits"}
        }
      },
      "QuotaCategory": {
        "type": "object",
        "required": ["name", "items"],
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string"},
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/QuotaItem"}}
        }
      },
      "QuotaResponse": {
        "type": "object",
        "required": ["quota", "messages"],
        "additionalProperties": false,
        "properties": {
          "quota": {
            "type": "object",
            "required": ["categories"],
            "additionalProperties": false,
            "properties": {"categories": {"type": "array", "items": {"$ref": "#/components/schemas/QuotaCategory"}}}
          },
          "messages": {"$ref": "#/components/schemas/Messages"}
        }
      },
      "LogLine": {
        "type": "object",
        "required": ["pod", "container", "datetime", "message"],
        "additionalProperties": false,
        "properties": {
          "pod": {"type": "string", "description": "The run id, or the log file for file-log jobs"},
          "container": {"type": "string", "enum": ["stdout", "stderr"]},
          "datetime": {"type": "string", "nullable": true, "description": "When the line was written, if known"},
          "message": {"type": "string"}
        }
      }
    }
  }
})json";

}  // namespace

nlohmann::ordered_json openApiDocument(std::string_view version) {
  auto doc = nlohmann::ordered_json::parse(kDocument);
  doc["info"]["version"] = std::string(version);
  return doc;
}

}  // namespace tjf::api
