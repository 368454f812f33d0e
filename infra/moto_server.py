"""moto's server with DynamoDB requests serialised.

moto 5 serves requests on threads and does not lock between a condition check and the write
it guards, so two concurrent conditional PutItems can both succeed, which real DynamoDB
never allows (the store conformance suite's concurrent Apply test catches it). Serialising
DynamoDB requests restores DynamoDB's per-item atomicity; SQS requests stay concurrent so
that a long poll does not block the table. Usage: python moto_server.py -H HOST -p PORT
"""
import sys
import threading

from moto import server

_lock = threading.Lock()
_run_simple = server.run_simple


def _serialised(app):
    def wsgi(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with _lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wsgi


def run_simple(host, port, app, **kwargs):
    return _run_simple(host, port, _serialised(app), **kwargs)


server.run_simple = run_simple

if __name__ == "__main__":
    server.main(sys.argv[1:])
