"""Procyon's python3 runtime: a Lambda Runtime API client (docs/native-driver.md).

Polls AWS_LAMBDA_RUNTIME_API for invocations, calls the handler named by _HANDLER
("module.function", the module a path under LAMBDA_TASK_ROOT) with the event and a Lambda-style
context, and posts its JSON result or its error. Booted before it knows its function (Procyon's
runtime pool), it takes the handler and the environment from the first invocation's
Procyon-Handler and Procyon-Env headers. Standard library only.
"""
import base64
import http.client
import importlib
import json
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")


class Connection:
    """One keep-alive HTTP connection to the Runtime API, reopened when it drops."""

    def __init__(self):
        host, _, port = API.rpartition(":")
        self.host, self.port = host, int(port)
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, BASE + path, body=body, headers=headers or {})
                res = self.conn.getresponse()
                return res, res.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


api = Connection()


def error_doc(exc):
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[-20:],
    }


def post_error(path, exc):
    body = json.dumps(error_doc(exc)).encode()
    api.request("POST", path, body, {"Content-Type": "application/json",
                                     "Lambda-Runtime-Function-Error-Type": type(exc).__name__})


def load(handler_name):
    module_path, _, function_name = handler_name.rpartition(".")
    if not module_path or not function_name:
        raise ValueError(f'bad handler "{handler_name}": use module.function')
    if TASK_ROOT not in sys.path:
        sys.path.insert(0, TASK_ROOT)
    module = importlib.import_module(module_path.replace("/", "."))
    fn = getattr(module, function_name, None)
    if not callable(fn):
        raise AttributeError(f'handler "{function_name}" is not a function of module "{module_path}"')
    return fn


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = self.log_stream_name = ""
        self.identity = self.client_context = None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def init(handler_name):
    try:
        return load(handler_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the init error
        traceback.print_exc()
        post_error("/init/error", exc)
        sys.exit(1)


def main():
    handler = init(os.environ["_HANDLER"]) if os.environ.get("_HANDLER") else None
    while True:
        res, payload = api.request("GET", "/invocation/next")
        headers = {k.title(): v for k, v in res.getheaders()}
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        if handler is None:
            env = headers.get("Procyon-Env")
            if env:
                os.environ.update(json.loads(base64.b64decode(env)))
            os.environ["_HANDLER"] = headers.get("Procyon-Handler", "")
            try:
                handler = load(os.environ["_HANDLER"])
            except Exception as exc:  # noqa: BLE001 - reported as this invocation's error, then exit
                traceback.print_exc()
                post_error(f"/invocation/{request_id}/error", exc)
                sys.exit(1)
        try:
            event = json.loads(payload) if payload else None
            result = handler(event, Context(headers))
            body = json.dumps(result).encode()
        except Exception as exc:  # noqa: BLE001 - the handler's error is the invocation's
            traceback.print_exc()
            post_error(f"/invocation/{request_id}/error", exc)
            continue
        api.request("POST", f"/invocation/{request_id}/response", body, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
