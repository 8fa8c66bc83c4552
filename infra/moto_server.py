"""moto's server for the test suite, with DynamoDB requests serialized.

moto's DynamoDB backend is not thread-safe: two concurrent conditional writes (or transactions)
on the same item can both pass their condition, which real DynamoDB never allows. Serializing
DynamoDB calls restores the guarantee the adapters rely on, while SQS long polls and the other
services stay concurrent. Usage: python infra/moto_server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

_dynamodb = threading.Lock()


def serialized_dynamodb(app):
    def wrapped(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb:
                # Drain the body inside the lock: moto's response is built lazily otherwise.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialized_dynamodb(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
