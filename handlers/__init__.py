"""HTTP handlers, one module per spec tag, one function per operationId (in snake_case).

A handler reads the identity and the validated arguments, calls one use case and shapes the
response (`handlers.wire`); errors raised below become the standard error body in
`portal.web.errors`.
"""
