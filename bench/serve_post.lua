-- wrk script for bench/load_serve.sh: every request POSTs the same audio file to /v1/classify
-- and counts answers that are not 200 (wrk reports them as "Non-2xx").
local path = os.getenv("EMOCLASS_LOAD_FILE")
local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
