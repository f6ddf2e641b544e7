-- GET with an X-Auth-Token header from the environment.
local token = os.getenv("TOKEN")
if token and token ~= "" then wrk.headers["X-Auth-Token"] = token end
