"""HTTP/1.1 on uvloop + httptools, the request and response values, the serving processes."""
