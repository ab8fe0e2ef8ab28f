"""The transports: the only code that knows protobuf, HTTP, gRPC and WebSocket.

REST (``rest``, ``rest_operations``), gRPC (``rpc``, ``rpc_server``) and the browser WebSocket
(``websocket``) convert wire messages to the core's types (``convert``, ``jsonbody``,
``legacy``, ``operations``, ``streaming``), call the cores, and convert back; ``status`` maps
the one error tree to each wire's status.
"""
